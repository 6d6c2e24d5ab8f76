//! RFC 8555 §7.3.5: the payload of the inner JWS of a key change.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyChangeRequest {
    /// The account URL (the outer JWS's `kid`).
    pub account: String,
    /// The old key, as a JWK.
    pub old_key: serde_json::Value,
}
