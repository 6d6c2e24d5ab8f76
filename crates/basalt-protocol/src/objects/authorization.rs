//! RFC 8555 §7.1.4 authorization objects and §7.1.5 challenge objects.

use serde::{Deserialize, Serialize};

use crate::challenge::ChallengeType;
use crate::identifier::Identifier;
use crate::problem::Problem;
use crate::status::{AuthorizationStatus, ChallengeStatus};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationObject {
    pub identifier: Identifier,
    pub status: AuthorizationStatus,
    pub expires: String,
    pub challenges: Vec<ChallengeObject>,
    /// RFC 8555 §7.1.4: present and true only for wildcard orders.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub wildcard: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChallengeObject {
    #[serde(rename = "type")]
    pub challenge_type: ChallengeType,
    pub url: String,
    pub status: ChallengeStatus,
    pub token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validated: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Problem>,
}

/// RFC 8555 §7.5.2 deactivation payload.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuthorizationUpdateRequest {
    #[serde(default)]
    pub status: Option<String>,
}
