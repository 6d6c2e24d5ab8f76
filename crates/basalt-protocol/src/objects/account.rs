//! RFC 8555 §7.1.2 account objects and the §7.3 requests that create and change them.

use serde::{Deserialize, Serialize};

use crate::status::AccountStatus;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountObject {
    pub status: AccountStatus,
    pub contact: Vec<String>,
    pub terms_of_service_agreed: bool,
    /// RFC 8555 §7.1.2.1: the URL of the account's orders list.
    pub orders: String,
}

/// RFC 8555 §7.3 newAccount payload.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewAccountRequest {
    #[serde(default)]
    pub contact: Option<Vec<String>>,
    #[serde(default)]
    pub terms_of_service_agreed: Option<bool>,
    #[serde(default)]
    pub only_return_existing: Option<bool>,
    /// RFC 8555 §7.3.4: a JWS (flattened JSON) MACed with the EAB key; checked by the
    /// authority against the area's EAB mode.
    #[serde(default)]
    pub external_account_binding: Option<serde_json::Value>,
}

/// RFC 8555 §7.3.2 (update) and §7.3.6 (deactivation) payload.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountUpdateRequest {
    #[serde(default)]
    pub contact: Option<Vec<String>>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub terms_of_service_agreed: Option<bool>,
}
