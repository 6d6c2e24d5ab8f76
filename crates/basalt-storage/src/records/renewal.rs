//! Records of ACME Renewal Information (RFC 9773): what a renewalInfo GET reads about a
//! certificate, and the operator's renew-early notices.

use basalt_protocol::Identifier;
use time::OffsetDateTime;

/// What the renewalInfo resource needs of a certificate: one row, read by serial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewalCertificate {
    pub id: i64,
    pub serial: String,
    pub directory: String,
    pub account_id: i64,
    /// The identifiers in the certificate.
    pub names: Vec<Identifier>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
    /// The intermediate that signed it, and that intermediate's key id (lowercase hex of
    /// its subjectKeyIdentifier, which is the certificate's AKI keyIdentifier); `None` for a
    /// certificate issued before its area's intermediate was adopted.
    pub intermediate_id: Option<i64>,
    pub intermediate_key_id: Option<String>,
    /// The latest renew-early notice that selected it.
    pub renewal_notice_id: Option<i64>,
}

/// A `basalt certs renew-early` notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewalNotice {
    pub id: i64,
    pub note: String,
    pub scope: String,
    pub certificates: u64,
    pub created_at: OffsetDateTime,
}

/// Which unexpired, unrevoked certificates a renew-early notice selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenewEarlyScope {
    /// One certificate, by its stored serial (lowercase hex).
    Serial(String),
    /// Every certificate of an area (ACME directory).
    Area(String),
    /// Every certificate an intermediate signed, by its key id (lowercase hex).
    Intermediate(String),
    /// Every certificate with a DNS name equal to this normalised name or below it
    /// (`example.com` selects `example.com`, `www.example.com`, `*.example.com`).
    NameSuffix(String),
}

impl std::fmt::Display for RenewEarlyScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Serial(s) => write!(f, "serial {s}"),
            Self::Area(a) => write!(f, "area {a}"),
            Self::Intermediate(k) => write!(f, "intermediate {k}"),
            Self::NameSuffix(n) => write!(f, "names ending in {n}"),
        }
    }
}

/// What `Store::renew_early` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenewEarlyOutcome {
    /// The notice was stored and this many certificates now point at it.
    Marked(RenewalNotice),
    /// No unexpired, unrevoked certificate matched: nothing was stored.
    NoneMatched,
}
