//! Authorizations (RFC 8555 §7.5), their deactivation (§7.5.2), and challenges (§7.5.1).

use axum::extract::State;
use axum::http::StatusCode;

use basalt_protocol::objects::AuthorizationUpdateRequest;
use basalt_protocol::{AuthorizationStatus, ChallengeStatus, Problem};
use basalt_storage::AuthorizationRecord;

use crate::authority::challenge::{answer_challenge, deactivate_authorization};
use crate::authority::owned;
use crate::extract::SignedRequest;
use crate::params::ResourceId;
use crate::problem::AcmeResult;
use crate::response::AcmeResponse;
use crate::state::AppState;
use crate::urls::Urls;
use crate::views::{authorization_object, challenge_object};

/// Seconds a client should wait before polling a pending authorization or a challenge being
/// validated; validation starts at once, so this is short.
const VALIDATION_RETRY_AFTER_SECS: u64 = 1;

/// POST-as-GET fetches; `{"status": "deactivated"}` deactivates (RFC 8555 §7.5.2).
pub(crate) async fn authorization(
    State(state): State<AppState>,
    ResourceId(id): ResourceId<i64>,
    req: SignedRequest,
) -> AcmeResult<AcmeResponse> {
    let authz = owned::authorization(&state.store, req.account()?, id).await?;
    let now = state.now();
    if req.jws.is_post_as_get() {
        return Ok(authorization_response(&req.urls, &authz, now));
    }
    let update: AuthorizationUpdateRequest = req.payload()?;
    match update.status.as_deref() {
        Some("deactivated") => {
            let updated = deactivate_authorization(&state.store, &authz, now).await?;
            Ok(authorization_response(&req.urls, &updated, now))
        }
        _ => Err(Problem::malformed(
            "an authorization can only be updated with {\"status\": \"deactivated\"}",
        )
        .into()),
    }
}

fn authorization_response(
    urls: &Urls,
    authz: &AuthorizationRecord,
    now: time::OffsetDateTime,
) -> AcmeResponse {
    let response = AcmeResponse::json(StatusCode::OK, &authorization_object(urls, authz, now));
    if authz.status.at(authz.expires_at, now) == AuthorizationStatus::Pending {
        response.retry_after(VALIDATION_RETRY_AFTER_SECS)
    } else {
        response
    }
}

/// POST-as-GET fetches a challenge; any JSON object (clients send `{}`) asks for validation
/// (RFC 8555 §7.5.1). `Link: rel="up"` names the authorization (python-acme requires it).
pub(crate) async fn challenge(
    State(state): State<AppState>,
    ResourceId(id): ResourceId<i64>,
    req: SignedRequest,
) -> AcmeResult<AcmeResponse> {
    let account = req.account()?;
    let (challenge, authz) = owned::challenge(&state.store, account, id).await?;
    let challenge = if req.jws.is_post_as_get() {
        challenge
    } else {
        let _: serde_json::Map<String, serde_json::Value> = req.payload()?;
        answer_challenge(
            &state.store,
            &state.validation,
            account,
            &req.urls.account(account.id),
            challenge,
            &authz,
            state.now(),
        )
        .await?
    };
    let response = AcmeResponse::json(StatusCode::OK, &challenge_object(&req.urls, &challenge))
        .link(&req.urls.authorization(authz.id), "up");
    Ok(match challenge.status {
        ChallengeStatus::Pending | ChallengeStatus::Processing => {
            response.retry_after(VALIDATION_RETRY_AFTER_SECS)
        }
        ChallengeStatus::Valid | ChallengeStatus::Invalid => response,
    })
}
