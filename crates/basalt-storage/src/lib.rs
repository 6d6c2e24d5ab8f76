//! basalt-storage: the database, and every query basalt makes.
//!
//! Invariants:
//! * **This is the only crate that writes SQL.** Every query the server makes is a named
//!   method on [`Store`]; callers never see sea-orm, connections or transactions.
//! * **Models never double as API JSON.** The sea-orm models stay private to this crate;
//!   the API speaks in plain [`records`] with typed fields, and the server
//!   builds its wire objects from those.
//! * **No process-local state.** Several stateless replicas may share one PostgreSQL or
//!   MySQL database, so everything that must be agreed on lives in the database: used
//!   nonces, shared secrets, leases for singleton jobs and validation work, the serving
//!   certificate.
//! * **Every multi-row change is one transaction**, and every status transition is a
//!   compare-and-set (`UPDATE … WHERE status = expected`, then `rows_affected`), so two
//!   replicas racing on the same object cannot both win. Transactions write first (which
//!   takes SQLite's write lock up front) and lock rows in one order — challenge, then
//!   authorization, then order — so they cannot deadlock on PostgreSQL (an issuance is changed before its order:
//!   `issuances.rs`). (InnoDB can still
//!   report a rare deadlock, e.g. through foreign-key checks; it surfaces as
//!   `Error::Unavailable`, to be retried.)
//! * **Portable SQL only**: no `RETURNING`, no `ON CONFLICT`; the same queries run on
//!   SQLite, PostgreSQL and MySQL/MariaDB. What is engine-specific is all in `connect.rs`
//!   (per-connection settings, the lock around migrations; on MySQL `READ COMMITTED`, so
//!   every engine has PostgreSQL's statement-level snapshots) and in the migration's MySQL
//!   table options (binary collation, so text compares byte-wise everywhere); the one
//!   exception is a row lock SQLite has no use for, skipped in
//!   `links::promote_ready_linked`. Times are BIGINT unix seconds (UTC), JSON is TEXT, ids
//!   are BIGINT auto-increment, and every lookup is served by an index (see
//!   `basalt-migration`).
//! * A store method never calls another store method while it holds a transaction: with
//!   SQLite's single writer connection that would wait for itself.
//!
//! **Areas and CRLs.** Intermediates live in the database (`intermediates`): which one of
//! an area is active, which are retiring, their certificates and where their keys are. Every
//! change to them bumps the single-row `pki_state.revision` in the same transaction, so
//! replicas learn of it by polling [`Store::pki_revision`]. Each active or retiring
//! intermediate's CRL is stored in its row, by compare-and-set on its number
//! ([`Store::store_crl`]).
//!
//! **Test-only methods** (`consume_nonce`, `start_challenge`, `claim_validation`: single
//! steps the server always takes batched or combined) exist only with the `testing` cargo
//! feature, which test targets enable through their dev-dependencies; a production build
//! does not contain them.
//!
//! **Nonces.** The server issues authenticated nonces that carry their own expiry (an
//! HMAC over a random value and a timestamp), so issuing needs no database. Redeeming one
//! inserts it into `used_nonces` ([`Store::consume_nonces`], many in one statement); the
//! primary key makes the second insert of the same nonce fail, which is how any replica
//! detects a replay. Rows are only needed until the nonce
//! would be rejected as expired anyway, after which [`Store::delete_expired_nonces`]
//! removes them in bounded batches.

mod accounts;
mod authorizations;
mod certificates;
mod codec;
mod config;
mod connect;
mod crls;
mod eab;
mod entities;
mod error;
mod expiry;
mod health;
mod inline_connection;
mod inline_sqlite;
mod intermediates;
mod issuances;
mod leases;
mod links;
mod listing;
mod nonces;
mod orders;
pub mod records;
mod renewal;
mod secrets;
mod serving;
mod stable_plans;
#[cfg(feature = "testing")]
mod testing;
mod time;
mod validation;
mod writes;

pub use accounts::ACCOUNT_KEY;
pub use config::StorageConfig;
pub use connect::Store;
pub use eab::EAB_KID;
pub use error::{Error, UNEXPECTED_DUPLICATE};
pub use health::{PoolStatus, QueryObserver};
pub use intermediates::{AREA_EXISTS, INTERMEDIATE_KEY_ID};
pub use records::{
    AccountFilter, AccountRecord, AuthorizationPlan, AuthorizationRecord, CertificateCounts,
    CertificateFilter, CertificateRecord, CertificateStatus, ChallengeRecord, CrlState, EabBinding,
    EabKeyRecord, EabKeySecret, IntermediateRecord, IntermediateStatus, IssuanceRecord,
    IssuanceStatus, NewAccount, NewAuthorization, NewCertificate, NewChallenge, NewEabKey,
    NewIntermediate, NewIssuance, NewOrder, NewReplacement, NewServingCertificate, OrderRecord,
    RecordedValidation, RenewEarlyOutcome, RenewEarlyScope, RenewalCertificate, RenewalNotice,
    ReserveOutcome, RevokeOutcome, RevokedCertificate, ServingCertificateRecord, StoredCrl,
    ValidationJob, ValidationResult,
};
pub use renewal::ALREADY_REPLACED;
