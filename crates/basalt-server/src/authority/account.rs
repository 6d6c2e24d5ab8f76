//! Accounts: newAccount (RFC 8555 §7.3), lookup by key (§7.3.1), contact update (§7.3.2)
//! with External Account Binding (§7.3.4, `eab.rs`), and deactivation (§7.3.6).

use time::OffsetDateTime;

use basalt_protocol::contact::validate_contacts;
use basalt_protocol::objects::{AccountUpdateRequest, NewAccountRequest};
use basalt_protocol::{AccountStatus, EabError, Jwk, Problem, ProblemType};
use basalt_storage::{AccountRecord, NewAccount, Store};

use crate::account_cache::AccountCache;
use crate::authority::eab::check_binding;
use crate::config::DirectoryConfig;
use crate::problem::{AcmeError, AcmeResult};

/// What newAccount did.
#[derive(Debug, Clone)]
pub(crate) enum Registration {
    /// A new account was created (RFC 8555 §7.3: `201`).
    Created(AccountRecord),
    /// The key already has an account (RFC 8555 §7.3.1: `200`).
    Existing(AccountRecord),
}

/// Registers `key` in `directory`, or finds its existing account. `new_account_url` is this
/// request's newAccount URL, which an External Account Binding must name (RFC 8555 §7.3.4).
pub(crate) async fn new_account(
    store: &Store,
    directory: &DirectoryConfig,
    key: &Jwk,
    new_account_url: &str,
    request: NewAccountRequest,
    now: OffsetDateTime,
) -> AcmeResult<Registration> {
    let thumbprint = key.thumbprint();
    if let Some(existing) = store
        .account_by_thumbprint(&directory.name, &thumbprint)
        .await?
    {
        return existing_account(existing);
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
    if let Some(terms) = &directory.meta.terms_of_service
        && !agreed
    {
        return Err(Problem::malformed(format!(
            "this CA has terms of service ({terms}); agree to them with \"termsOfServiceAgreed\": true"
        ))
        .into());
    }
    let binding = check_binding(
        store,
        directory,
        key,
        new_account_url,
        request.external_account_binding.as_ref(),
        now,
    )
    .await?;
    let new = NewAccount {
        directory: directory.name.clone(),
        key_thumbprint: thumbprint.clone(),
        jwk: key.to_json(),
        contact,
        terms_of_service_agreed: agreed,
        now,
    };
    let inserted = match &binding {
        Some(binding) => store.insert_account_bound(&new, binding).await,
        None => store.insert_account(&new).await,
    };
    match inserted {
        Ok(account) => {
            tracing::info!(
                account.id = account.id,
                eab.kid = account.eab_kid.as_deref(),
                "account created"
            );
            Ok(Registration::Created(account))
        }
        // RFC 8555 §7.3.4: the key was used up (single-use), revoked or expired between the
        // check and the insert, by another request on any replica; nothing was stored.
        Err(basalt_storage::Error::WrongState { .. }) => {
            Err(AcmeError::Eab(EabError::Unauthorized(format!(
                "the externalAccountBinding kid {:?} was bound to another account, revoked or expired meanwhile",
                binding.map(|b| b.kid).unwrap_or_default()
            ))))
        }
        // Another request registered the same key meanwhile: answer as for a known key.
        Err(basalt_storage::Error::Duplicate { .. }) => {
            let existing = store
                .account_by_thumbprint(&directory.name, &thumbprint)
                .await?
                .ok_or(basalt_storage::Error::NotFound)?;
            existing_account(existing)
        }
        Err(e) => Err(e.into()),
    }
}

fn existing_account(account: AccountRecord) -> AcmeResult<Registration> {
    // RFC 8555 §7.3.6: a deactivated account's key authorizes nothing, lookups included.
    if account.status != AccountStatus::Valid {
        return Err(Problem::unauthorized(format!(
            "the account for this key is {}; create a new account with a new key",
            account.status
        ))
        .with_status(401)
        .into());
    }
    Ok(Registration::Existing(account))
}

/// A payload POSTed to the account URL: updates contacts (§7.3.2) or deactivates (§7.3.6).
///
/// Each change drops the account from this process's cache once the store call returns
/// (whether or not it succeeded), so the account's next request reads the new row: a
/// deactivated account is refused at once (RFC 8555 §7.3.6).
pub(crate) async fn update_account(
    store: &Store,
    cache: &AccountCache,
    account: &AccountRecord,
    update: AccountUpdateRequest,
    now: OffsetDateTime,
) -> AcmeResult<AccountRecord> {
    let id = account.id;
    match update.status.as_deref() {
        Some("deactivated") => {
            let deactivated = store.deactivate_account(id, now).await;
            cache.invalidate(id);
            let deactivated = deactivated?;
            tracing::info!(account.id = id, "account deactivated");
            Ok(deactivated)
        }
        Some("valid") | None => match update.contact {
            Some(contact) => {
                validate_contacts(&contact)?;
                let updated = store.update_account_contact(id, &contact).await;
                cache.invalidate(id);
                Ok(updated?)
            }
            None => Ok(account.clone()),
        },
        Some(other) => Err(Problem::malformed(format!(
            "an account's status can only be changed to \"deactivated\", not {other:?}"
        ))
        .into()),
    }
}
