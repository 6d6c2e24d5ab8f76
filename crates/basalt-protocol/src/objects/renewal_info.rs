//! RFC 9773 §4.2: the renewalInfo object a GET of `renewalInfo/<CertID>` answers.

use serde::Serialize;

/// RFC 9773 §4.2: when the server suggests renewing, and why (when it is early).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RenewalInfo {
    pub suggested_window: SuggestedWindow,
    /// A page a human can read explaining an early window (RFC 9773 §4.2).
    #[serde(rename = "explanationURL", skip_serializing_if = "Option::is_none")]
    pub explanation_url: Option<String>,
}

/// RFC 9773 §4.2: RFC 3339 timestamps, `start` before `end`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SuggestedWindow {
    pub start: String,
    pub end: String,
}
