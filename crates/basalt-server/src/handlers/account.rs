//! Accounts: newAccount (RFC 8555 §7.3), lookup by key (§7.3.1), update (§7.3.2),
//! deactivation (§7.3.6) and key rollover (§7.3.5).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use basalt_protocol::Problem;
use basalt_protocol::objects::{AccountUpdateRequest, NewAccountRequest};

use crate::authority::account::{Registration, new_account, update_account};
use crate::authority::key_change::{KeyChangeInput, change_key};
use crate::extract::SignedRequest;
use crate::params::ResourceId;
use crate::problem::{AcmeError, AcmeResult, problem_response};
use crate::response::AcmeResponse;
use crate::state::AppState;
use crate::views::account_object;

/// RFC 8555 §7.3: `201` + `Location` for a new account, `200` + `Location` for a key that
/// already has one (python-acme and acme-tiny tell the two apart by status; see
/// docs/implementation-details.md).
pub(crate) async fn create(
    State(state): State<AppState>,
    req: SignedRequest,
) -> AcmeResult<AcmeResponse> {
    let key = req.jwk()?;
    let request: NewAccountRequest = req.payload()?;
    let (status, account) = match new_account(
        &state.store,
        &req.directory,
        key,
        &req.urls.new_account(),
        request,
        state.now(),
    )
    .await?
    {
        Registration::Created(account) => (StatusCode::CREATED, account),
        Registration::Existing(account) => (StatusCode::OK, account),
    };
    Ok(
        AcmeResponse::json(status, &account_object(&req.urls, &account))
            .location(&req.urls.account(account.id)),
    )
}

/// POST to the account URL: POST-as-GET fetches (§7.3.3 uses `{}` too), a payload updates
/// contacts (§7.3.2) or deactivates (§7.3.6).
pub(crate) async fn account(
    State(state): State<AppState>,
    ResourceId(id): ResourceId<i64>,
    req: SignedRequest,
) -> AcmeResult<AcmeResponse> {
    let account = req.account()?;
    if account.id != id {
        return Err(
            Problem::unauthorized("the account URL does not belong to the signing key").into(),
        );
    }
    let updated = if req.jws.is_post_as_get() {
        account.clone()
    } else {
        let update: AccountUpdateRequest = req.payload()?;
        update_account(&state.store, &state.accounts, account, update, state.now()).await?
    };
    Ok(AcmeResponse::json(
        StatusCode::OK,
        &account_object(&req.urls, &updated),
    ))
}

/// RFC 8555 §7.3.5: the account (with its new key), or `409` with the `Location` of the
/// account that already holds the new key.
pub(crate) async fn key_change(
    State(state): State<AppState>,
    req: SignedRequest,
) -> AcmeResult<Response> {
    let (account, account_key) = req.account_and_key()?;
    let input = KeyChangeInput {
        account,
        account_key,
        account_url: &req.urls.account(account.id),
        outer_url: &req.jws.header.url,
        inner: req.payload()?,
    };
    match change_key(&state.store, &state.accounts, input).await {
        Ok(updated) => Ok(
            AcmeResponse::json(StatusCode::OK, &account_object(&req.urls, &updated))
                .into_response(),
        ),
        Err(e @ AcmeError::KeyInUse { holder }) => {
            let (problem, retry_after) = e.to_problem();
            let mut response = problem_response(&problem, retry_after);
            if let Some(holder) = holder
                && let Ok(v) = axum::http::HeaderValue::from_str(&req.urls.account(holder))
            {
                response
                    .headers_mut()
                    .insert(axum::http::header::LOCATION, v);
            }
            Ok(response)
        }
        Err(e) => Err(e),
    }
}
