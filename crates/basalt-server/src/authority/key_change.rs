//! Account key rollover (RFC 8555 §7.3.5).
//!
//! The outer JWS is signed by the old key (`kid`, checked at the edge); its payload is an
//! inner JWS signed by the new key (`jwk`), with the same `url` and no nonce, whose payload
//! names the account and the old key. Every one of those is checked before the key is
//! swapped.

use basalt_protocol::objects::KeyChangeRequest;
use basalt_protocol::{Jwk, Jws, KeyRef, Problem};
use basalt_storage::{AccountRecord, Store};

use crate::account_cache::AccountCache;
use crate::problem::{AcmeError, AcmeResult};

/// The key-change request as the edge received it.
#[derive(Debug, Clone)]
pub(crate) struct KeyChangeInput<'a> {
    /// The account that signed the outer JWS.
    pub account: &'a AccountRecord,
    /// Its current key, as the outer JWS was verified with (canonical form).
    pub account_key: &'a Jwk,
    /// The account's URL, which the inner payload must name.
    pub account_url: &'a str,
    /// The outer JWS's `url`, which the inner one must repeat.
    pub outer_url: &'a str,
    /// The outer payload: the inner JWS, as JSON.
    pub inner: serde_json::Value,
}

/// Swaps the account's key. When the new key already belongs to another account of the
/// directory, fails with [`AcmeError::KeyInUse`] naming that account (RFC 8555 §7.3.5: 409
/// with its `Location`).
pub(crate) async fn change_key(
    store: &Store,
    cache: &AccountCache,
    input: KeyChangeInput<'_>,
) -> AcmeResult<AccountRecord> {
    let account = input.account;
    let inner = Jws::from_value(input.inner)?;
    let KeyRef::Jwk(new_key) = &inner.header.key else {
        return Err(Problem::malformed("the inner JWS must carry the new key in \"jwk\"").into());
    };
    if inner.header.url != input.outer_url {
        return Err(Problem::malformed(format!(
            "the inner JWS \"url\" {:?} must equal the outer one {:?}",
            inner.header.url, input.outer_url
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
    if change.account != input.account_url {
        return Err(Problem::unauthorized(format!(
            "the inner payload names account {:?}, but the request is signed by {:?}",
            change.account, input.account_url
        ))
        .into());
    }
    // Keys compare in canonical form (RFC 7518 §6.3.1); `new_key` came through
    // `Jwk::from_json`, so a zero-padded copy of a key in use was already refused.
    let old_key = Jwk::from_json(&change.old_key)?;
    if !old_key.same_key(input.account_key) {
        return Err(Problem::unauthorized("\"oldKey\" is not the account's current key").into());
    }
    let new_thumbprint = new_key.thumbprint();
    if new_key.same_key(input.account_key) {
        return Err(Problem::malformed("the new key is the same as the current key").into());
    }
    let changed = store
        .change_account_key(
            account.id,
            &account.key_thumbprint,
            &new_thumbprint,
            &new_key.to_json(),
        )
        .await;
    // Whatever the outcome, the account's cached key may now be wrong: the next request
    // reads the row, so the old key is refused at once (RFC 8555 §7.3.5).
    cache.invalidate(account.id);
    match changed {
        Ok(updated) => {
            tracing::info!(account.id = account.id, "account key changed");
            Ok(updated)
        }
        Err(basalt_storage::Error::Duplicate { .. }) => {
            let holder = store
                .account_by_thumbprint(&account.directory, &new_thumbprint)
                .await?;
            Err(AcmeError::KeyInUse {
                holder: holder.map(|h| h.id),
            })
        }
        Err(e) => Err(e.into()),
    }
}
