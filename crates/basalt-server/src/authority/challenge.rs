//! Answering a challenge (RFC 8555 §7.5.1) and deactivating an authorization (§7.5.2).

use std::time::Duration;

use time::OffsetDateTime;

use basalt_protocol::{AuthorizationStatus, ChallengeStatus, Problem};
use basalt_storage::{AccountRecord, AuthorizationRecord, ChallengeRecord, Store, ValidationJob};

use crate::jobs::validation::{Started, ValidationQueue};
use crate::problem::AcmeResult;

/// How long answering a challenge waits for its validation before returning `processing`.
/// Validations on a healthy network take milliseconds, and an answer that already says
/// `valid` saves the client a poll (and a `Retry-After` wait); one that cannot finish this
/// fast (a slow or unreachable host) is answered `processing` and polled as usual.
pub(crate) const CHALLENGE_RESULT_WAIT: Duration = Duration::from_millis(500);

/// The client asked for `challenge` (of `authz`, both `account`'s) to be validated, using
/// `account_uri` (RFC 8657 `accounturi`). Validation starts at once; the challenge is
/// returned as stored once its result is in, or as `processing` after
/// [`CHALLENGE_RESULT_WAIT`].
pub(crate) async fn answer_challenge(
    store: &Store,
    validation: &ValidationQueue,
    account: &AccountRecord,
    account_uri: &str,
    challenge: ChallengeRecord,
    authz: &AuthorizationRecord,
    now: OffsetDateTime,
) -> AcmeResult<ChallengeRecord> {
    if challenge.status != ChallengeStatus::Pending {
        // RFC 8555 §7.5.1: a repeated response to a challenge already being validated (or
        // done) changes nothing; the client gets its current state.
        return Ok(challenge);
    }
    let authz_status = authz.status.at(authz.expires_at, now);
    if authz_status != AuthorizationStatus::Pending {
        return Err(Problem::malformed(format!(
            "the authorization is {authz_status}; only challenges of pending authorizations can be answered"
        ))
        .into());
    }
    // Everything the validator needs is at hand: no statement to read it back.
    let job = ValidationJob::new(
        &challenge,
        authz,
        &account.key_thumbprint,
        &account.directory,
        Some(account_uri.to_owned()),
    );
    let started = validation
        .start(store, job, now, CHALLENGE_RESULT_WAIT)
        .await?;
    Ok(match started {
        Started::Finished(stored) => *stored,
        Started::Running => ChallengeRecord {
            status: ChallengeStatus::Processing,
            account_uri: Some(account_uri.to_owned()),
            ..challenge
        },
        // A concurrent request moved it first: answer with what is stored now.
        Started::Skipped => store
            .challenge(challenge.id)
            .await?
            .map_or(challenge, |(c, _)| c),
    })
}

/// RFC 8555 §7.5.2: `{"status": "deactivated"}` on a pending or valid authorization.
pub(crate) async fn deactivate_authorization(
    store: &Store,
    authz: &AuthorizationRecord,
    now: OffsetDateTime,
) -> AcmeResult<AuthorizationRecord> {
    let current = authz.status.at(authz.expires_at, now);
    if !current.may_deactivate() {
        return Err(Problem::malformed(format!(
            "only pending or valid authorizations can be deactivated; this one is {current}"
        ))
        .into());
    }
    Ok(store.deactivate_authorization(authz.id).await?)
}
