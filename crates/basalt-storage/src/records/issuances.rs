//! Issuances: a serial reserved for signing before it is signed, and what became of it
//! (docs/issuance.md).

use basalt_protocol::Identifier;
use time::OffsetDateTime;

use super::OrderRecord;

/// Where an issuance is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IssuanceStatus {
    /// Reserved; the signer may be signing it now.
    Pending,
    /// Signed and stored: the certificate is in `certificates`.
    Issued,
    /// The signer returned an error: nothing was signed.
    Failed,
    /// Still pending long after any signature would have finished (the process died, or
    /// lost the database, between reserving and storing). The serial may have been signed;
    /// no client ever received that certificate.
    Abandoned,
}

impl IssuanceStatus {
    /// The stored (and displayed) form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Issued => "issued",
            Self::Failed => "failed",
            Self::Abandoned => "abandoned",
        }
    }

    /// The inverse of [`Self::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(Self::Pending),
            "issued" => Some(Self::Issued),
            "failed" => Some(Self::Failed),
            "abandoned" => Some(Self::Abandoned),
            _ => None,
        }
    }
}

impl std::fmt::Display for IssuanceStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What finalize is about to sign for an order (the order gives the names, the account and
/// the directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIssuance {
    /// The serial the caller drew, in the storage form (lowercase hex).
    pub serial: String,
    /// The intermediate that will sign it.
    pub intermediate_id: i64,
    /// The CSR's SubjectPublicKeyInfo, DER.
    pub spki_der: Vec<u8>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

/// A stored issuance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuanceRecord {
    pub id: i64,
    pub serial: String,
    pub order_id: i64,
    pub account_id: i64,
    pub directory: String,
    pub intermediate_id: i64,
    pub names: Vec<Identifier>,
    pub spki_der: Vec<u8>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub status: IssuanceStatus,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// What `reserve_issuance` did.
// Returned once per finalization and matched at once: boxing would only complicate callers.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReserveOutcome {
    /// The order is `processing` and the issuance `pending`, durably: sign now.
    Reserved(IssuanceRecord),
    /// The order was not ready (or had expired); nothing changed. Carries the order as it
    /// is now.
    NotReady(OrderRecord),
}
