//! The RFC 8555 objects this client reads, with only the members it uses.
//!
//! Unknown members and unknown challenge types are ignored, as a client must (RFC 8555
//! §7.1), so the same code works against basalt and Pebble.

use serde::Deserialize;

use crate::problem::ProblemDoc;

/// RFC 8555 §7.1.1.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Directory {
    pub(crate) new_nonce: String,
    pub(crate) new_account: String,
    pub(crate) new_order: String,
}

/// RFC 8555 §7.1.6: the order states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum OrderStatus {
    Pending,
    Ready,
    Processing,
    Valid,
    Invalid,
}

impl OrderStatus {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Ready => "ready",
            Self::Processing => "processing",
            Self::Valid => "valid",
            Self::Invalid => "invalid",
        }
    }
}

/// RFC 8555 §7.1.3.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Order {
    pub(crate) status: OrderStatus,
    #[serde(default)]
    pub(crate) authorizations: Vec<String>,
    pub(crate) finalize: String,
    #[serde(default)]
    pub(crate) certificate: Option<String>,
    /// Set by some servers on an invalid order (RFC 8555 §7.1.3 `error`).
    #[serde(default)]
    pub(crate) error: Option<ProblemDoc>,
}

/// RFC 8555 §7.1.4.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Authorization {
    pub(crate) status: String,
    #[serde(default)]
    pub(crate) challenges: Vec<Challenge>,
}

/// RFC 8555 §7.1.5 (and §8.3 for `token`).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Challenge {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) url: String,
    #[serde(default)]
    pub(crate) token: Option<String>,
    #[serde(default)]
    pub(crate) error: Option<ProblemDoc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pebble_style_order_with_extra_members_parses() {
        let order: Order = serde_json::from_str(
            r#"{"status":"processing","expires":"2026-11-30T00:00:00Z",
                "identifiers":[{"type":"dns","value":"a.test"}],
                "authorizations":["https://ca/authz/1"],"finalize":"https://ca/fin/1"}"#,
        )
        .unwrap();
        assert_eq!(order.status, OrderStatus::Processing);
        assert_eq!(order.certificate, None);
    }

    #[test]
    fn unknown_challenge_types_are_kept_and_ignored_later() {
        let authz: Authorization = serde_json::from_str(
            r#"{"status":"pending","identifier":{"type":"dns","value":"a.test"},
                "challenges":[{"type":"tls-alpn-01","url":"u1","token":"t","status":"pending"},
                              {"type":"http-01","url":"u2","token":"t2","status":"pending"}]}"#,
        )
        .unwrap();
        let http = authz
            .challenges
            .iter()
            .find(|c| c.kind == "http-01")
            .unwrap();
        assert_eq!(http.url, "u2");
    }
}
