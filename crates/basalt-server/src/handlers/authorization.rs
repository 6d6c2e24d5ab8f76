//! Authorizations (RFC 8555 §7.5), their deactivation (§7.5.2), and challenges (§7.5.1).

use axum::extract::{Path, State};
use axum::http::StatusCode;

use basalt_protocol::objects::AuthorizationUpdateRequest;
use basalt_protocol::{AuthorizationStatus, ChallengeStatus, Problem};
use basalt_storage::{
    AccountRecord, AuthorizationRecord, ChallengeRecord, ValidationJob, ValidationResult,
};

use crate::jobs::validation::{Started, StoredResult};

use crate::extract::SignedRequest;
use crate::problem::AcmeResult;
use crate::response::AcmeResponse;
use crate::state::AppState;
use crate::views::{authorization_object, authorization_status, challenge_object};

/// Seconds a client should wait before polling a pending authorization or a challenge being
/// validated; validation starts at once, so this is short.
const VALIDATION_RETRY_AFTER_SECS: u64 = 1;

/// How long the challenge POST waits for its validation before answering `processing`.
/// Validations on a healthy network take milliseconds, and an answer that already says
/// `valid` saves the client a poll (and a `Retry-After` wait); one that cannot finish this
/// fast (a slow or unreachable host) is answered `processing` and polled as usual.
const CHALLENGE_RESULT_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

async fn owned_authorization(
    state: &AppState,
    req: &SignedRequest,
    id: i64,
) -> AcmeResult<AuthorizationRecord> {
    let account = req.account()?;
    match state.store.authorization(id).await? {
        Some(authz) if authz.account_id == account.id => Ok(authz),
        _ => Err(
            Problem::malformed(format!("authorization {id} does not exist"))
                .with_status(404)
                .into(),
        ),
    }
}

fn authorization_response(
    req: &SignedRequest,
    authz: &AuthorizationRecord,
    now: time::OffsetDateTime,
) -> AcmeResponse {
    let response = AcmeResponse::json(StatusCode::OK, &authorization_object(&req.urls, authz, now));
    if authorization_status(authz, now) == AuthorizationStatus::Pending {
        response.retry_after(VALIDATION_RETRY_AFTER_SECS)
    } else {
        response
    }
}

/// POST-as-GET fetches; `{"status": "deactivated"}` deactivates (RFC 8555 §7.5.2).
pub async fn authorization(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, i64)>,
    req: SignedRequest,
) -> AcmeResult<AcmeResponse> {
    let authz = owned_authorization(&state, &req, id).await?;
    let now = state.now();
    if req.jws.is_post_as_get() {
        return Ok(authorization_response(&req, &authz, now));
    }
    let update: AuthorizationUpdateRequest = req.payload()?;
    match update.status.as_deref() {
        Some("deactivated") => {
            let current = authorization_status(&authz, now);
            if !current.may_deactivate() {
                return Err(Problem::malformed(format!(
                    "only pending or valid authorizations can be deactivated; this one is {current}"
                ))
                .into());
            }
            let updated = state.store.deactivate_authorization(id).await?;
            Ok(authorization_response(&req, &updated, now))
        }
        _ => Err(Problem::malformed(
            "an authorization can only be updated with {\"status\": \"deactivated\"}",
        )
        .into()),
    }
}

/// POST-as-GET fetches a challenge; any JSON object (clients send `{}`) asks for validation
/// (RFC 8555 §7.5.1). Validation starts at once; the answer carries its result if it is
/// stored within [`CHALLENGE_RESULT_WAIT`], else `processing` (the client polls).
/// `Link: rel="up"` names the authorization (python-acme requires it).
pub async fn challenge(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, i64)>,
    req: SignedRequest,
) -> AcmeResult<AcmeResponse> {
    let account = req.account()?;
    let (challenge, authz) = match state.store.challenge(id).await? {
        Some((c, a)) if a.account_id == account.id => (c, a),
        _ => {
            return Err(Problem::malformed(format!("challenge {id} does not exist"))
                .with_status(404)
                .into());
        }
    };
    let now = state.now();
    let challenge = if req.jws.is_post_as_get() {
        challenge
    } else {
        let _: serde_json::Map<String, serde_json::Value> = req.payload()?;
        respond_to_challenge(
            &state,
            account,
            &req.urls.account(account.id),
            challenge,
            &authz,
            now,
        )
        .await?
    };
    let response = AcmeResponse::json(StatusCode::OK, &challenge_object(&req.urls, &challenge))
        .link(&req.urls.authorization(authz.id), "up");
    Ok(match challenge.status {
        ChallengeStatus::Pending | ChallengeStatus::Processing => {
            response.retry_after(VALIDATION_RETRY_AFTER_SECS)
        }
        _ => response,
    })
}

async fn respond_to_challenge(
    state: &AppState,
    account: &AccountRecord,
    account_uri: &str,
    challenge: ChallengeRecord,
    authz: &AuthorizationRecord,
    now: time::OffsetDateTime,
) -> AcmeResult<ChallengeRecord> {
    let authz_status = authorization_status(authz, now);
    if challenge.status != ChallengeStatus::Pending {
        // RFC 8555 §7.5.1: a repeated response to a challenge already being validated (or
        // done) changes nothing; the client gets its current state.
        return Ok(challenge);
    }
    if authz_status != AuthorizationStatus::Pending {
        return Err(Problem::malformed(format!(
            "the authorization is {authz_status}; only challenges of pending authorizations can be answered"
        ))
        .into());
    }
    // Everything the validator needs is at hand: no statement to read it back.
    let job = ValidationJob {
        challenge_id: challenge.id,
        authorization_id: authz.id,
        challenge_type: challenge.challenge_type,
        token: challenge.token.clone(),
        identifier: authz.identifier.clone(),
        wildcard: authz.wildcard,
        account_id: account.id,
        account_key_thumbprint: account.key_thumbprint.clone(),
        directory: account.directory.clone(),
        account_uri: Some(account_uri.to_owned()),
    };
    let started = state
        .validation
        .start(&state.store, job, now, CHALLENGE_RESULT_WAIT)
        .await?;
    Ok(match started {
        Started::Finished(stored) => finished(challenge, account_uri, stored),
        Started::Running => ChallengeRecord {
            status: ChallengeStatus::Processing,
            account_uri: Some(account_uri.to_owned()),
            ..challenge
        },
        // A concurrent request moved it first: answer with what is stored now.
        Started::NotStarted => state
            .store
            .challenge(challenge.id)
            .await?
            .map_or(challenge, |(c, _)| c),
    })
}

/// The challenge as its validation left it in the database (see `Store::record_validation`).
fn finished(
    challenge: ChallengeRecord,
    account_uri: &str,
    stored: StoredResult,
) -> ChallengeRecord {
    let (status, validated_at, error) = match stored.result {
        ValidationResult::Valid => (ChallengeStatus::Valid, Some(stored.at), None),
        ValidationResult::Invalid(problem) => (ChallengeStatus::Invalid, None, Some(problem)),
    };
    ChallengeRecord {
        status,
        validated_at,
        error,
        validation_record: stored.validation_record,
        account_uri: Some(account_uri.to_owned()),
        ..challenge
    }
}
