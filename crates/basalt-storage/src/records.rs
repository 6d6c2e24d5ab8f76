//! The public data types of the storage API: what callers pass in (`New*`, plans) and what
//! they get back (`*Record`, outcomes).
//!
//! These are plain structs, deliberately separate from the sea-orm models: records carry
//! typed values (statuses, identifiers, problems, `OffsetDateTime`) where the models carry
//! their portable stored form, and a record is always complete (no lazy fields). Times read
//! back are whole seconds (see `crate::time`).

use basalt_protocol::{
    AccountStatus, AuthorizationStatus, ChallengeStatus, ChallengeType, Identifier, OrderStatus,
    Problem,
};
use time::OffsetDateTime;

mod areas;
mod eab;
mod issuances;
mod listing;
mod renewal;

pub use areas::{
    CrlState, IntermediateRecord, IntermediateStatus, NewIntermediate, RevokedCertificate,
    StoredCrl,
};
pub use eab::{EabBinding, EabKeyRecord, EabKeySecret, NewEabKey};
pub use issuances::{IssuanceRecord, IssuanceStatus, NewIssuance, ReserveOutcome};
pub use listing::{AccountFilter, CertificateCounts, CertificateFilter, CertificateStatus};
pub use renewal::{RenewEarlyOutcome, RenewEarlyScope, RenewalCertificate, RenewalNotice};

/// A new account (RFC 8555 §7.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccount {
    pub directory: String,
    pub key_thumbprint: String,
    pub jwk: String,
    pub contact: Vec<String>,
    pub terms_of_service_agreed: bool,
    pub now: OffsetDateTime,
}

/// A stored account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRecord {
    pub id: i64,
    pub directory: String,
    pub key_thumbprint: String,
    pub jwk: String,
    pub status: AccountStatus,
    pub contact: Vec<String>,
    pub terms_of_service_agreed: bool,
    pub created_at: OffsetDateTime,
    /// The External Account Binding key the account was created with (RFC 8555 §7.3.4).
    pub eab_kid: Option<String>,
}

/// A new order (RFC 8555 §7.4) and the authorizations it needs, one plan per
/// authorization identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    pub account_id: i64,
    pub directory: String,
    pub identifiers: Vec<Identifier>,
    pub not_before: Option<OffsetDateTime>,
    pub not_after: Option<OffsetDateTime>,
    pub expires_at: OffsetDateTime,
    pub authorizations: Vec<AuthorizationPlan>,
    /// RFC 9773 §5: the certificate this order replaces, claimed in the same transaction.
    pub replaces: Option<NewReplacement>,
    pub now: OffsetDateTime,
    /// The certificate profile chosen for it (draft-ietf-acme-profiles), at most 64
    /// characters.
    pub profile: Option<String>,
}

/// The certificate a new order replaces (RFC 9773 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReplacement {
    /// `certificates.id` of the replaced certificate.
    pub certificate_id: i64,
    /// The CertID as the client sent it (canonical), echoed on the order.
    pub cert_id: String,
}

/// How an order gets one of its authorizations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizationPlan {
    /// Link an existing authorization of the same account (found with
    /// `Store::reusable_authorization`); it must still be pending or valid, and unexpired,
    /// when the order is created, or `create_order` fails with `Error::WrongState`.
    Reuse(i64),
    /// Create a new pending authorization with these challenges.
    Create(NewAuthorization),
}

/// A new authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuthorization {
    /// The base name for wildcards (RFC 8555 §7.1.4).
    pub identifier: Identifier,
    pub wildcard: bool,
    pub expires_at: OffsetDateTime,
    pub challenges: Vec<NewChallenge>,
}

/// A new challenge; the token must be unique (RFC 8555 §8.1: random, ≥ 128 bits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChallenge {
    pub challenge_type: ChallengeType,
    pub token: String,
}

/// A stored order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRecord {
    pub id: i64,
    pub account_id: i64,
    pub directory: String,
    pub status: OrderStatus,
    pub identifiers: Vec<Identifier>,
    pub not_before: Option<OffsetDateTime>,
    pub not_after: Option<OffsetDateTime>,
    pub expires_at: OffsetDateTime,
    pub error: Option<Problem>,
    pub certificate_serial: Option<String>,
    /// RFC 9773 §5: the CertID of the certificate this order replaces.
    pub replaces: Option<String>,
    /// Ascending.
    pub authorization_ids: Vec<i64>,
    pub created_at: OffsetDateTime,
    /// The certificate profile; `None` for orders from before profiles (the area's
    /// default).
    pub profile: Option<String>,
}

/// A stored authorization with all its challenges, ordered by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationRecord {
    pub id: i64,
    pub account_id: i64,
    /// The base name for wildcards.
    pub identifier: Identifier,
    pub wildcard: bool,
    pub status: AuthorizationStatus,
    pub expires_at: OffsetDateTime,
    pub created_at: OffsetDateTime,
    pub challenges: Vec<ChallengeRecord>,
}

/// What recording a validation's result changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedValidation {
    /// The challenge as written.
    pub challenge: ChallengeRecord,
    /// Pending orders the failure made invalid (0 for a success).
    pub orders_invalidated: u64,
}

/// A stored challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeRecord {
    pub id: i64,
    pub authorization_id: i64,
    pub challenge_type: ChallengeType,
    pub token: String,
    pub status: ChallengeStatus,
    pub validated_at: Option<OffsetDateTime>,
    pub error: Option<Problem>,
    pub validation_record: Option<String>,
    /// The account URL the client used when it asked for validation (RFC 8657
    /// `accounturi`), from then on.
    pub account_uri: Option<String>,
    pub created_at: OffsetDateTime,
}

/// Everything a validator needs to validate one claimed challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationJob {
    pub challenge_id: i64,
    pub authorization_id: i64,
    pub challenge_type: ChallengeType,
    pub token: String,
    /// The authorization's identifier (the base name for wildcards).
    pub identifier: Identifier,
    pub wildcard: bool,
    pub account_id: i64,
    /// For the key authorization (RFC 8555 §8.1).
    pub account_key_thumbprint: String,
    /// The ACME directory of the account: whose validation policy (CAA) applies.
    pub directory: String,
    /// The account URL the client used when it asked for validation (RFC 8657 `accounturi`).
    pub account_uri: Option<String>,
    /// When the challenge was created (so the record of its result can be built whole).
    pub challenge_created_at: OffsetDateTime,
}

impl ValidationJob {
    /// The job of validating `challenge` of `authorization`, for the account with
    /// `account_key_thumbprint` in `directory`, asked for with `account_uri`.
    pub fn new(
        challenge: &ChallengeRecord,
        authorization: &AuthorizationRecord,
        account_key_thumbprint: &str,
        directory: &str,
        account_uri: Option<String>,
    ) -> Self {
        Self {
            challenge_id: challenge.id,
            authorization_id: authorization.id,
            challenge_type: challenge.challenge_type,
            token: challenge.token.clone(),
            identifier: authorization.identifier.clone(),
            wildcard: authorization.wildcard,
            account_id: authorization.account_id,
            account_key_thumbprint: account_key_thumbprint.to_owned(),
            directory: directory.to_owned(),
            account_uri,
            challenge_created_at: challenge.created_at,
        }
    }
}

/// The outcome of one validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValidationResult {
    Valid,
    Invalid(Problem),
}

/// A certificate the signer produced, to be stored by `complete_issuance`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCertificate {
    pub serial: String,
    pub der: Vec<u8>,
    pub chain_pem: String,
    pub names: Vec<Identifier>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// The intermediate that signed it (`IntermediateRecord::id`), so revocation can mark
    /// that intermediate's CRL stale.
    pub intermediate_id: Option<i64>,
    /// The profile it was issued under (its order's).
    pub profile: Option<String>,
}

/// A stored certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRecord {
    pub id: i64,
    pub serial: String,
    pub directory: String,
    pub account_id: i64,
    pub order_id: i64,
    pub der: Vec<u8>,
    pub chain_pem: String,
    pub names: Vec<Identifier>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
    /// RFC 5280 §5.3.1 CRLReason code.
    pub revocation_reason: Option<u8>,
    pub created_at: OffsetDateTime,
    /// The intermediate that signed it; `None` for certificates issued before their area's
    /// intermediate was adopted into the database.
    pub intermediate_id: Option<i64>,
    /// The profile it was issued under; `None` for certificates from before profiles.
    pub profile: Option<String>,
}

/// What `revoke_certificate` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokeOutcome {
    Revoked(CertificateRecord),
    /// It was revoked before; the record shows the first revocation.
    AlreadyRevoked(CertificateRecord),
}

/// A new serving (HTTPS) certificate. The database never holds a private key in the clear:
/// `sealed_key` is the key as the signer sealed it (under a key that is not in the database).
/// `Debug` leaves it out all the same.
#[derive(Clone, PartialEq, Eq)]
pub struct NewServingCertificate {
    pub chain_pem: String,
    pub sealed_key: String,
    pub names: Vec<String>,
    pub not_after: OffsetDateTime,
    pub now: OffsetDateTime,
}

/// A stored serving certificate. `sealed_key` is `None` once the certificate was superseded
/// (or its key was purged by the migration that moved keys out of the clear).
/// `Debug` leaves out the sealed key.
#[derive(Clone, PartialEq, Eq)]
pub struct ServingCertificateRecord {
    pub id: i64,
    pub chain_pem: String,
    pub sealed_key: Option<String>,
    pub names: Vec<String>,
    pub not_after: OffsetDateTime,
    pub created_at: OffsetDateTime,
}

impl std::fmt::Debug for NewServingCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewServingCertificate")
            .field("chain_pem", &self.chain_pem)
            .field("sealed_key", &"<redacted>")
            .field("names", &self.names)
            .field("not_after", &self.not_after)
            .field("now", &self.now)
            .finish()
    }
}

impl std::fmt::Debug for ServingCertificateRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServingCertificateRecord")
            .field("id", &self.id)
            .field("chain_pem", &self.chain_pem)
            .field(
                "sealed_key",
                &self.sealed_key.as_ref().map(|_| "<redacted>"),
            )
            .field("names", &self.names)
            .field("not_after", &self.not_after)
            .field("created_at", &self.created_at)
            .finish()
    }
}
