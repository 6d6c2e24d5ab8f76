//! Accounts: newAccount (RFC 8555 §7.3), lookup by key (§7.3.1), update (§7.3.2) and
//! deactivation (§7.3.6).

use axum::extract::{Path, State};
use axum::http::StatusCode;

use basalt_protocol::contact::validate_contacts;
use basalt_protocol::objects::{AccountUpdateRequest, NewAccountRequest};
use basalt_protocol::{AccountStatus, Problem, ProblemType};
use basalt_storage::NewAccount;

use crate::extract::SignedRequest;
use crate::problem::{AcmeError, AcmeResult};
use crate::response::AcmeResponse;
use crate::state::AppState;
use crate::views::account_object;

/// RFC 8555 §7.3: `201` + `Location` for a new account, `200` + `Location` for a key that
/// already has one (clients rely on both, see shared/CLIENTS.md).
pub async fn new_account(
    State(state): State<AppState>,
    req: SignedRequest,
) -> AcmeResult<AcmeResponse> {
    let key = req.jwk()?;
    let request: NewAccountRequest = req.payload()?;
    let thumbprint = key.thumbprint();
    let directory = req.urls.directory_name();

    if let Some(existing) = state
        .store
        .account_by_thumbprint(directory, &thumbprint)
        .await?
    {
        return existing_account(&req, existing);
    }
    // RFC 8555 §7.3.1.
    if request.only_return_existing == Some(true) {
        return Err(Problem::new(
            ProblemType::AccountDoesNotExist,
            "no account exists for this key; register first (onlyReturnExisting was true)",
        )
        .into());
    }
    let contact = request.contact.unwrap_or_default();
    validate_contacts(&contact)?;
    let agreed = request.terms_of_service_agreed.unwrap_or(false);
    if let Some(terms) = &req.directory.meta.terms_of_service
        && !agreed
    {
        return Err(Problem::malformed(format!(
            "this CA has terms of service ({terms}); agree to them with \"termsOfServiceAgreed\": true"
        ))
        .into());
    }
    let inserted = state
        .store
        .insert_account(&NewAccount {
            directory: directory.to_owned(),
            key_thumbprint: thumbprint.clone(),
            jwk: key.to_json(),
            contact,
            terms_of_service_agreed: agreed,
            now: state.now(),
        })
        .await;
    match inserted {
        Ok(account) => {
            tracing::info!(account.id = account.id, "account created");
            Ok(
                AcmeResponse::json(StatusCode::CREATED, &account_object(&req.urls, &account))
                    .location(&req.urls.account(account.id)),
            )
        }
        // Another request registered the same key meanwhile: answer as for a known key.
        Err(basalt_storage::Error::Conflict(_)) => {
            let existing = state
                .store
                .account_by_thumbprint(directory, &thumbprint)
                .await?
                .ok_or(AcmeError::Storage(basalt_storage::Error::NotFound))?;
            existing_account(&req, existing)
        }
        Err(e) => Err(e.into()),
    }
}

fn existing_account(
    req: &SignedRequest,
    account: basalt_storage::AccountRecord,
) -> AcmeResult<AcmeResponse> {
    // RFC 8555 §7.3.6: a deactivated account's key authorizes nothing, lookups included.
    if account.status != AccountStatus::Valid {
        return Err(Problem::unauthorized(format!(
            "the account for this key is {}; create a new account with a new key",
            account.status
        ))
        .with_status(401)
        .into());
    }
    Ok(
        AcmeResponse::json(StatusCode::OK, &account_object(&req.urls, &account))
            .location(&req.urls.account(account.id)),
    )
}

/// POST to the account URL: POST-as-GET fetches (§7.3.3 uses `{}` too), a payload updates
/// contacts (§7.3.2) or deactivates (§7.3.6).
pub async fn account(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, i64)>,
    req: SignedRequest,
) -> AcmeResult<AcmeResponse> {
    let account = req.account()?;
    if account.id != id {
        return Err(
            Problem::unauthorized("the account URL does not belong to the signing key").into(),
        );
    }
    if req.jws.is_post_as_get() {
        return Ok(AcmeResponse::json(
            StatusCode::OK,
            &account_object(&req.urls, account),
        ));
    }
    let update: AccountUpdateRequest = req.payload()?;
    // Each change drops the account from this process's cache once the store call returns
    // (whether or not it succeeded), so the account's next request reads the new row: a
    // deactivated account is refused at once (RFC 8555 §7.3.6).
    let updated = match update.status.as_deref() {
        Some("deactivated") => {
            let deactivated = state.store.deactivate_account(id, state.now()).await;
            state.accounts.invalidate(id);
            let deactivated = deactivated?;
            tracing::info!(account.id = id, "account deactivated");
            deactivated
        }
        Some("valid") | None => match update.contact {
            Some(contact) => {
                validate_contacts(&contact)?;
                let updated = state.store.update_account_contact(id, &contact).await;
                state.accounts.invalidate(id);
                updated?
            }
            None => account.clone(),
        },
        Some(other) => {
            return Err(Problem::malformed(format!(
                "an account's status can only be changed to \"deactivated\", not {other:?}"
            ))
            .into());
        }
    };
    Ok(AcmeResponse::json(
        StatusCode::OK,
        &account_object(&req.urls, &updated),
    ))
}
