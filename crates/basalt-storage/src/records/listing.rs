//! Filters and counts of the admin listings (`basalt certs list`, `basalt accounts list`,
//! `basalt area list`).

use std::time::Duration;

use basalt_protocol::AccountStatus;
use time::OffsetDateTime;

/// A certificate's status at a given time, as the admin listings show it. Revocation wins
/// over expiry: a revoked certificate stays `Revoked` after it expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CertificateStatus {
    Valid,
    Revoked,
    Expired,
}

impl CertificateStatus {
    /// The status of a certificate with these times at `now`.
    pub fn at(
        revoked_at: Option<OffsetDateTime>,
        not_after: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Self {
        if revoked_at.is_some() {
            Self::Revoked
        } else if not_after <= now {
            Self::Expired
        } else {
            Self::Valid
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
        }
    }

    /// The inverse of [`Self::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "valid" => Some(Self::Valid),
            "revoked" => Some(Self::Revoked),
            "expired" => Some(Self::Expired),
            _ => None,
        }
    }
}

impl std::fmt::Display for CertificateStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which certificates `Store::list_certificates` returns, newest first. Every field that is
/// set must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateFilter {
    /// The time `status` and `expiring_within` are judged at.
    pub now: OffsetDateTime,
    /// The area (ACME directory) that issued it.
    pub area: Option<String>,
    pub account_id: Option<i64>,
    /// An identifier value the certificate contains, exactly as stored (normalised:
    /// lowercase DNS name, `*.` for wildcards, canonical IP text).
    pub name: Option<String>,
    pub status: Option<CertificateStatus>,
    /// Unrevoked and expiring in `(now, now + d]`.
    pub expiring_within: Option<Duration>,
    /// At most this many; `None`: all.
    pub limit: Option<u64>,
}

impl CertificateFilter {
    /// Every certificate (no filter, no limit), judged at `now`.
    pub fn all(now: OffsetDateTime) -> Self {
        Self {
            now,
            area: None,
            account_id: None,
            name: None,
            status: None,
            expiring_within: None,
            limit: None,
        }
    }
}

/// How many certificates of one intermediate are valid, revoked (expired or not) and
/// expired without revocation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CertificateCounts {
    pub valid: u64,
    pub revoked: u64,
    pub expired: u64,
}

/// Which accounts `Store::list_accounts` returns, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountFilter {
    /// The area (ACME directory) the account belongs to.
    pub area: Option<String>,
    pub status: Option<AccountStatus>,
    /// At most this many; `None`: all.
    pub limit: Option<u64>,
}
