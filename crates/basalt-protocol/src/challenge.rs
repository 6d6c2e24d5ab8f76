//! Challenge types (RFC 8555 §8, RFC 8737).

use serde::{Deserialize, Serialize};

/// The validation methods basalt knows. Which are offered for an identifier is the server's
/// policy; the names are the wire names of RFC 8555 §8.3, §8.4 and RFC 8737 §3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChallengeType {
    #[serde(rename = "http-01")]
    Http01,
    #[serde(rename = "dns-01")]
    Dns01,
    #[serde(rename = "tls-alpn-01")]
    TlsAlpn01,
}

impl ChallengeType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http01 => "http-01",
            Self::Dns01 => "dns-01",
            Self::TlsAlpn01 => "tls-alpn-01",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "http-01" => Some(Self::Http01),
            "dns-01" => Some(Self::Dns01),
            "tls-alpn-01" => Some(Self::TlsAlpn01),
            _ => None,
        }
    }
}

impl std::fmt::Display for ChallengeType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
