//! RFC 8555 §7.1.3 order objects, §7.1.2.1 orders lists, and the §7.4 requests.

use serde::{Deserialize, Serialize};

use crate::identifier::{Identifier, RawIdentifier};
use crate::problem::Problem;
use crate::status::OrderStatus;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderObject {
    pub status: OrderStatus,
    pub expires: String,
    pub identifiers: Vec<Identifier>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_before: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_after: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Problem>,
    pub authorizations: Vec<String>,
    pub finalize: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// RFC 9773 §5: the CertID of the certificate this order replaces, on every fetch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
    /// draft-ietf-acme-profiles §4: the profile the certificate will be issued under.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

/// RFC 8555 §7.1.2.1.
#[derive(Debug, Clone, Serialize)]
pub struct OrderList {
    pub orders: Vec<String>,
}

/// RFC 8555 §7.4 newOrder payload.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewOrderRequest {
    pub identifiers: Vec<RawIdentifier>,
    #[serde(default)]
    pub not_before: Option<String>,
    #[serde(default)]
    pub not_after: Option<String>,
    /// RFC 9773 §5: `base64url(AKI keyIdentifier) "." base64url(serial)` of the certificate
    /// this order replaces; its syntax is checked by the authority.
    #[serde(default)]
    pub replaces: Option<String>,
    /// draft-ietf-acme-profiles §4: the profile asked for; absent means the area's default.
    #[serde(default)]
    pub profile: Option<String>,
}

/// RFC 8555 §7.4 finalize payload: the CSR, base64url DER.
#[derive(Debug, Clone, Deserialize)]
pub struct FinalizeRequest {
    pub csr: String,
}
