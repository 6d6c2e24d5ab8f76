//! RFC 8555 §7.6 revocation requests and RFC 5280 §5.3.1 reason codes.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct RevokeCertRequest {
    /// base64url DER of the certificate.
    pub certificate: String,
    #[serde(default)]
    pub reason: Option<i64>,
}

/// RFC 5280 §5.3.1 CRLReason. Code 7 is unused; removeFromCRL (8) only applies to delta
/// CRLs and is refused, as Boulder does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationReason {
    Unspecified = 0,
    KeyCompromise = 1,
    CaCompromise = 2,
    AffiliationChanged = 3,
    Superseded = 4,
    CessationOfOperation = 5,
    CertificateHold = 6,
    PrivilegeWithdrawn = 9,
    AaCompromise = 10,
}

impl RevocationReason {
    /// The reasons a subscriber may give; `None` for codes RFC 5280 does not define or that
    /// make no sense for a subscriber request (7, 8, caCompromise, aACompromise, certificateHold:
    /// basalt never puts certificates on hold).
    pub fn from_subscriber_code(code: i64) -> Option<Self> {
        match code {
            0 => Some(Self::Unspecified),
            1 => Some(Self::KeyCompromise),
            3 => Some(Self::AffiliationChanged),
            4 => Some(Self::Superseded),
            5 => Some(Self::CessationOfOperation),
            9 => Some(Self::PrivilegeWithdrawn),
            _ => None,
        }
    }

    pub fn code(self) -> u8 {
        self as u8
    }
}
