//! RFC 8555 §7.1.1: the directory object.

use std::collections::BTreeMap;

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Directory {
    pub new_nonce: String,
    pub new_account: String,
    pub new_order: String,
    pub revoke_cert: String,
    pub key_change: String,
    /// RFC 9773 §3: the base URL of renewal information; absent where the area offers none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renewal_info: Option<String>,
    pub meta: DirectoryMeta,
}

/// RFC 8555 §7.1.1 `meta`; every field optional on the wire.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryMeta {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terms_of_service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub caa_identities: Vec<String>,
    pub external_account_required: bool,
    /// draft-ietf-acme-profiles §3: profile name → human-readable description.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub profiles: BTreeMap<String, String>,
}
