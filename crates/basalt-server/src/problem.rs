//! The one place where errors become problem documents (RFC 8555 §6.7, RFC 7807).
//!
//! Handlers return [`AcmeError`]; its `IntoResponse` is an exhaustive match over every
//! domain error of every crate, so a new error variant does not compile until someone decides
//! what the client sees. Internal faults are logged here, once, and reach the client as a
//! generic `serverInternal`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use basalt_protocol::{Algorithm, EabError, JwsError, Problem, ProblemType};
use basalt_signer::CsrError;

use crate::jobs::validation::{QUEUE_FULL_RETRY_AFTER_SECS, QueueFull, ValidationStartError};
use crate::nonces::NonceRejection;

/// Seconds a client should wait before retrying while the database is unreachable.
const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

/// Every way a request can fail.
#[derive(Debug)]
pub(crate) enum AcmeError {
    /// A protocol decision, already phrased for the client.
    Problem(Problem),
    /// The JWS envelope, header, key or signature was refused.
    Jws(JwsError),
    /// An External Account Binding was refused (RFC 8555 §7.3.4).
    Eab(EabError),
    /// The anti-replay nonce was refused.
    Nonce(NonceRejection),
    /// The CSR was refused at finalize.
    Csr(CsrError),
    /// Storage failed.
    Storage(basalt_storage::Error),
    /// Signing failed (an internal fault: the CSR was already accepted).
    Signer(basalt_signer::Error),
    /// The new key of a key change already belongs to another account of the directory
    /// (RFC 8555 §7.3.5), whose id the handler puts in `Location`.
    KeyInUse { holder: Option<i64> },
    /// The server's own fault (the RNG failed, a stored value does not decode): logged here,
    /// once, and answered with a generic detail.
    Internal(String),
    /// The validation queue had no place for a challenge's validation; nothing was started.
    QueueFull(QueueFull),
}

pub(crate) type AcmeResult<T> = Result<T, AcmeError>;

impl From<Problem> for AcmeError {
    fn from(p: Problem) -> Self {
        Self::Problem(p)
    }
}
impl From<JwsError> for AcmeError {
    fn from(e: JwsError) -> Self {
        Self::Jws(e)
    }
}
impl From<EabError> for AcmeError {
    fn from(e: EabError) -> Self {
        Self::Eab(e)
    }
}
impl From<basalt_storage::Error> for AcmeError {
    fn from(e: basalt_storage::Error) -> Self {
        Self::Storage(e)
    }
}
impl From<CsrError> for AcmeError {
    fn from(e: CsrError) -> Self {
        Self::Csr(e)
    }
}
impl From<basalt_signer::Error> for AcmeError {
    fn from(e: basalt_signer::Error) -> Self {
        Self::Signer(e)
    }
}
impl From<ValidationStartError> for AcmeError {
    fn from(e: ValidationStartError) -> Self {
        match e {
            ValidationStartError::Full(full) => Self::QueueFull(full),
            ValidationStartError::Storage(e) => Self::Storage(e),
        }
    }
}

impl AcmeError {
    /// The problem document and an optional Retry-After (seconds).
    pub(crate) fn to_problem(&self) -> (Problem, Option<u64>) {
        match self {
            Self::Problem(p) => (p.clone(), None),
            Self::Jws(e) => (jws_problem(e), None),
            // RFC 8555 §7.3.4 names no type for a bad binding: a binding not built as the RFC
            // says is `malformed`; one that does not authorize this account `unauthorized`
            // (403), as step-ca answers. See docs/eab.md.
            Self::Eab(EabError::Malformed(detail)) => (Problem::malformed(detail.clone()), None),
            Self::Eab(EabError::Unauthorized(detail)) => {
                (Problem::unauthorized(detail.clone()), None)
            }
            // Boulder's practice: one generic detail for every nonce failure, so the client
            // simply retries with the fresh Replay-Nonce of this response.
            Self::Nonce(
                NonceRejection::Unknown | NonceRejection::Expired | NonceRejection::Reused,
            ) => (
                Problem::new(
                    ProblemType::BadNonce,
                    "JWS has an invalid anti-replay nonce; retry with the Replay-Nonce of this response",
                ),
                None,
            ),
            Self::Csr(e) => (csr_problem(e), None),
            Self::Storage(e) => storage_problem(e),
            Self::Signer(e) => signer_problem(e),
            Self::KeyInUse { .. } => (
                Problem::malformed("the new key already belongs to another account")
                    .with_status(409),
                None,
            ),
            Self::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                (Problem::server_internal(INTERNAL_DETAIL), None)
            }
            // RFC 8555 §6.7 rateLimited; §6.6: Retry-After says when to try again.
            Self::QueueFull(full) => (queue_full_problem(*full), Some(QUEUE_FULL_RETRY_AFTER_SECS)),
        }
    }
}

/// The detail of every `serverInternal` caused by the server's own fault: the cause is in
/// the log, never in the response (it may hold driver or OS text).
const INTERNAL_DETAIL: &str = "an internal error occurred";

fn csr_problem(e: &CsrError) -> Problem {
    Problem::new(ProblemType::BadCsr, e.to_string())
}

/// A bad CSR is the client's fault; every other signer error is the server's. At finalize
/// the order is `ready` again when this is answered (the issuance is `failed`), so the client
/// may simply retry. A token that is away (removed, logged out, failing) is an outage, not a
/// bug: `503` with Retry-After, as for an unavailable database; the same request works once
/// the token is back (the signer reconnects by itself).
fn signer_problem(e: &basalt_signer::Error) -> (Problem, Option<u64>) {
    match e {
        basalt_signer::Error::Csr(csr) => (csr_problem(csr), None),
        basalt_signer::Error::TokenUnavailable(detail) => {
            tracing::error!(error = %detail, "the signing token is unavailable");
            (
                Problem::server_internal(
                    "the signing key is temporarily unavailable; the order is still ready, retry after Retry-After",
                )
                .with_status(503),
                Some(UNAVAILABLE_RETRY_AFTER_SECS),
            )
        }
        basalt_signer::Error::Io { .. }
        | basalt_signer::Error::AlreadyInitialised(_)
        | basalt_signer::Error::BadRootPassword(_)
        | basalt_signer::Error::KeyFile { .. }
        | basalt_signer::Error::CertificateFile { .. }
        | basalt_signer::Error::Signing(_)
        | basalt_signer::Error::Certificate(_)
        | basalt_signer::Error::SealedKey(_)
        | basalt_signer::Error::Token { .. }
        | basalt_signer::Error::PinRefused { .. } => {
            tracing::error!(error = %e, "signing failed");
            (
                Problem::server_internal("the certificate could not be signed; try again later"),
                None,
            )
        }
    }
}

fn queue_full_problem(full: QueueFull) -> Problem {
    let detail = match full {
        QueueFull::Account { limit } => format!(
            "this account already has {limit} validations waiting or running; the challenge is still pending: answer it again after Retry-After"
        ),
        QueueFull::Total { limit } => format!(
            "the server already has {limit} validations waiting or running; the challenge is still pending: answer it again after Retry-After"
        ),
    };
    Problem::new(ProblemType::RateLimited, detail)
}

fn jws_problem(e: &JwsError) -> Problem {
    match e {
        JwsError::Malformed(detail) | JwsError::BadJwk(detail) => {
            Problem::malformed(detail.clone())
        }
        JwsError::BadSignatureAlgorithm(detail) => {
            let mut p = Problem::new(ProblemType::BadSignatureAlgorithm, detail.clone());
            p.algorithms = Algorithm::ALL.iter().map(|a| a.name().to_owned()).collect();
            p
        }
        JwsError::BadPublicKey(detail) => Problem::new(ProblemType::BadPublicKey, detail.clone()),
        JwsError::BadSignature => {
            Problem::malformed("JWS verification error: the signature does not match the key")
        }
        JwsError::MissingNonce => Problem::new(
            ProblemType::BadNonce,
            "the JWS protected header has no \"nonce\"; fetch one from newNonce",
        ),
    }
}

fn storage_problem(e: &basalt_storage::Error) -> (Problem, Option<u64>) {
    match e {
        basalt_storage::Error::NotFound => (
            Problem::malformed("no such resource").with_status(404),
            None,
        ),
        // The driver's text (which may quote SQL) goes to the log only.
        basalt_storage::Error::Duplicate { what, detail } => {
            tracing::warn!(duplicate = what, error = %detail, "uniqueness conflict");
            (
                Problem::malformed(format!(
                    "the request conflicts with an existing {what}; nothing was changed"
                ))
                .with_status(409),
                None,
            )
        }
        basalt_storage::Error::WrongState { what, current } => (
            Problem::malformed(format!(
                "{what} is {current}, so this request no longer applies to it; fetch it again"
            ))
            .with_status(409),
            None,
        ),
        basalt_storage::Error::Unavailable(detail) => {
            tracing::error!(error = %detail, "database unavailable");
            (
                Problem::server_internal("the database is temporarily unavailable; retry shortly")
                    .with_status(503),
                Some(UNAVAILABLE_RETRY_AFTER_SECS),
            )
        }
        basalt_storage::Error::Internal(detail) => {
            tracing::error!(error = %detail, "storage error");
            (Problem::server_internal(INTERNAL_DETAIL), None)
        }
    }
}

/// Renders a problem document: `application/problem+json` with the problem's status.
pub(crate) fn problem_response(problem: &Problem, retry_after: Option<u64>) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, problem.to_json()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    if let Some(secs) = retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response.extensions_mut().insert(problem.problem_type);
    response
}

impl IntoResponse for AcmeError {
    fn into_response(self) -> Response {
        let (problem, retry_after) = self.to_problem();
        problem_response(&problem, retry_after)
    }
}
