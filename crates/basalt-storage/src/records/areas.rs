//! Records of areas: intermediates (one active per area, retiring ones that still sign
//! CRLs), and the CRL state the CRL job works from.

use std::time::Duration;

use time::OffsetDateTime;

/// An intermediate to register: made by `basalt area add` / `area rotate`, or adopted from
/// the config at `serve` start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIntermediate {
    /// The area (ACME directory name) it signs for.
    pub area: String,
    /// Lowercase hex subject key identifier; unique across areas.
    pub key_id: String,
    pub subject: String,
    pub certificate_pem: String,
    /// Where the private key is: a path relative to the data directory (later also
    /// `pkcs11:` URIs). Never the key itself.
    pub key_ref: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

/// Where an intermediate is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntermediateStatus {
    /// Signs the area's new certificates (and its CRL). One per area.
    Active,
    /// Replaced by a rotation; signs no certificates, still signs its CRL until every
    /// certificate it issued has expired.
    Retiring,
    /// Every certificate it issued has expired; signs nothing.
    Retired,
}

impl IntermediateStatus {
    /// The stored (and displayed) form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Retiring => "retiring",
            Self::Retired => "retired",
        }
    }

    /// The inverse of [`Self::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "active" => Some(Self::Active),
            "retiring" => Some(Self::Retiring),
            "retired" => Some(Self::Retired),
            _ => None,
        }
    }
}

impl std::fmt::Display for IntermediateStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored intermediate (without its CRL's DER: see `Store::crl`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntermediateRecord {
    pub id: i64,
    pub area: String,
    pub key_id: String,
    pub subject: String,
    pub certificate_pem: String,
    pub key_ref: String,
    pub status: IntermediateStatus,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub created_at: OffsetDateTime,
    /// Revocations of certificates it issued, ever (bumped by `revoke_certificate`).
    pub revocations: i64,
    /// `revocations` as the stored CRL saw it.
    pub crl_revocations: i64,
    /// The number of the stored CRL; 0 while there is none.
    pub crl_number: i64,
    pub crl_this_update: Option<OffsetDateTime>,
    pub crl_next_update: Option<OffsetDateTime>,
}

/// What the CRL job needs to decide whether an intermediate's CRL must be (re)generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlState {
    pub intermediate_id: i64,
    pub area: String,
    pub key_id: String,
    pub status: IntermediateStatus,
    /// The number of the stored CRL (0: none); the next one is `crl_number + 1`, stored
    /// with `Store::store_crl(.., crl_number, ..)`.
    pub crl_number: i64,
    /// Snapshot this before listing revoked certificates and pass it to `store_crl`.
    pub revocations: i64,
    pub crl_revocations: i64,
    pub crl_this_update: Option<OffsetDateTime>,
    pub crl_next_update: Option<OffsetDateTime>,
}

impl CrlState {
    /// True if a new CRL is due for CRLs of `lifetime` (nextUpdate − thisUpdate): there is
    /// none, a certificate was revoked since it was made, or less than half its lifetime is
    /// left (so a replacement is published well before relying parties must refetch).
    pub fn needs_crl(&self, now: OffsetDateTime, lifetime: Duration) -> bool {
        let Some(next_update) = self.crl_next_update else {
            return true;
        };
        if self.crl_number == 0 || self.revocations > self.crl_revocations {
            return true;
        }
        let half = lifetime / 2;
        let left = next_update - now;
        left < half
    }
}

/// One entry of a CRL (RFC 5280 §5.1.2.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedCertificate {
    /// Lowercase hex, as stored.
    pub serial: String,
    pub revoked_at: OffsetDateTime,
    /// RFC 5280 §5.3.1 CRLReason code.
    pub reason: Option<u8>,
}

/// A stored CRL, as served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCrl {
    pub intermediate_id: i64,
    pub key_id: String,
    pub number: i64,
    pub der: Vec<u8>,
    pub this_update: OffsetDateTime,
    pub next_update: OffsetDateTime,
}
