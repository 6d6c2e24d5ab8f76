//! Account key rollover (RFC 8555 §7.3.5).

use axum::extract::State;
use axum::http::StatusCode;

use basalt_protocol::objects::KeyChangeRequest;
use basalt_protocol::{Jwk, Jws, KeyRef, Problem};

use crate::extract::{SignedRequest, Signer};
use crate::problem::{AcmeError, AcmeResult, problem_response};
use crate::response::AcmeResponse;
use crate::state::AppState;
use crate::views::account_object;

/// The outer JWS is signed by the old key (`kid`); its payload is an inner JWS signed by the
/// new key (`jwk`), with the same `url` and no nonce, whose payload names the account and the
/// old key. Every one of those is checked before the key is swapped.
pub async fn key_change(
    State(state): State<AppState>,
    req: SignedRequest,
) -> AcmeResult<axum::response::Response> {
    let account = req.account()?;
    let inner_value: serde_json::Value = req.payload()?;
    let inner = Jws::from_value(inner_value)?;
    let KeyRef::Jwk(new_key) = &inner.header.key else {
        return Err(Problem::malformed("the inner JWS must carry the new key in \"jwk\"").into());
    };
    if inner.header.url != req.jws.header.url {
        return Err(Problem::malformed(format!(
            "the inner JWS \"url\" {:?} must equal the outer one {:?}",
            inner.header.url, req.jws.header.url
        ))
        .into());
    }
    if inner.header.nonce.is_some() {
        return Err(Problem::malformed("the inner JWS must not carry a \"nonce\"").into());
    }
    inner.verify(new_key).map_err(|_| {
        AcmeError::from(Problem::malformed(
            "the inner JWS signature does not verify with its jwk (the new key)",
        ))
    })?;
    let change: KeyChangeRequest = serde_json::from_slice(&inner.payload).map_err(|e| {
        AcmeError::from(Problem::malformed(format!(
            "the inner JWS payload must be {{\"account\", \"oldKey\"}}: {e}"
        )))
    })?;
    let account_url = req.urls.account(account.id);
    if change.account != account_url {
        return Err(Problem::unauthorized(format!(
            "the inner payload names account {:?}, but the request is signed by {account_url:?}",
            change.account
        ))
        .into());
    }
    // Keys compare in canonical form (RFC 7518 §6.3.1); `new_key` came through
    // `Jwk::from_json`, so a zero-padded copy of a key in use was already refused.
    let old_key = Jwk::from_json(&change.old_key)?;
    let Signer::Account {
        key: account_key, ..
    } = &req.signer
    else {
        return Err(Problem::unauthorized("keyChange must be signed with \"kid\"").into());
    };
    if !old_key.same_key(account_key) {
        return Err(Problem::unauthorized("\"oldKey\" is not the account's current key").into());
    }
    let new_thumbprint = new_key.thumbprint();
    if new_key.same_key(account_key) {
        return Err(Problem::malformed("the new key is the same as the current key").into());
    }
    let directory = req.urls.directory_name();
    let changed = state
        .store
        .change_account_key(
            account.id,
            &account.key_thumbprint,
            &new_thumbprint,
            &new_key.to_json(),
        )
        .await;
    // Whatever the outcome, the account's cached key may now be wrong: the next request
    // reads the row, so the old key is refused at once (RFC 8555 §7.3.5).
    state.accounts.invalidate(account.id);
    match changed {
        Ok(updated) => {
            tracing::info!(account.id = account.id, "account key changed");
            Ok(axum::response::IntoResponse::into_response(
                AcmeResponse::json(StatusCode::OK, &account_object(&req.urls, &updated)),
            ))
        }
        // RFC 8555 §7.3.5: 409 with the Location of the account that already has the key.
        Err(basalt_storage::Error::Conflict(_)) => {
            let holder = state
                .store
                .account_by_thumbprint(directory, &new_thumbprint)
                .await?;
            let problem = Problem::malformed("the new key already belongs to another account")
                .with_status(409);
            let mut response = problem_response(&problem, None);
            if let Some(holder) = holder
                && let Ok(v) = axum::http::HeaderValue::from_str(&req.urls.account(holder.id))
            {
                response
                    .headers_mut()
                    .insert(axum::http::header::LOCATION, v);
            }
            Ok(response)
        }
        Err(e) => Err(e.into()),
    }
}
