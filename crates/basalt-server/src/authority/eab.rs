//! External Account Binding at newAccount (RFC 8555 §7.3.4): what the area's mode asks for,
//! and the checks that need the key's stored state. The binding's structure, `url`, payload
//! and MAC are checked by `basalt_protocol::eab`.
//!
//! Costs one indexed lookup (the kid); the binding itself is then a compare-and-set in the
//! account's insert transaction (`Store::insert_account_bound`), which is what makes a
//! single-use key bind exactly one account across replicas. The MAC key never leaves this
//! function's stack and is never logged.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use time::OffsetDateTime;

use basalt_protocol::{EabError, ExternalAccountBinding, Jwk, Problem, ProblemType};
use basalt_storage::{EabBinding, Store};

use crate::config::{DirectoryConfig, EabMode};
use crate::problem::{AcmeError, AcmeResult};

/// Checks the `externalAccountBinding` of a newAccount request against the area's mode.
/// `Ok(None)`: the account binds to no key (mode off, or optional without a binding).
pub(crate) async fn check_binding(
    store: &Store,
    directory: &DirectoryConfig,
    account_key: &Jwk,
    new_account_url: &str,
    binding: Option<&Value>,
    now: OffsetDateTime,
) -> AcmeResult<Option<EabBinding>> {
    let binding = match (directory.external_account_binding, binding) {
        // A server without EAB ignores the field (RFC 8555 §7.3.4 defines it only for CAs
        // that require it; Pebble ignores it too), so clients configured for EAB still work.
        (EabMode::Off, _) | (EabMode::Optional, None) => return Ok(None),
        // RFC 8555 §7.3.4: "the server MUST return an error of type
        // externalAccountRequired"; 403 as Pebble and step-ca answer.
        (EabMode::Required, None) => {
            return Err(Problem::new(
                ProblemType::ExternalAccountRequired,
                format!(
                    "area {:?} requires an External Account Binding: register with the key id and HMAC key from `basalt eab create`",
                    directory.name
                ),
            )
            .into());
        }
        (EabMode::Optional | EabMode::Required, Some(binding)) => binding,
    };
    let binding = ExternalAccountBinding::parse(binding)?;
    binding.check_url(new_account_url)?;
    binding.check_key(account_key)?;
    let unauthorized = |detail: String| AcmeError::Eab(EabError::Unauthorized(detail));
    let kid = &binding.kid;
    let Some(stored) = store.eab_key(kid).await? else {
        return Err(unauthorized(format!(
            "the externalAccountBinding kid {kid:?} is not a key of this CA"
        )));
    };
    let mac_key = URL_SAFE_NO_PAD.decode(&stored.hmac_key).map_err(|_| {
        AcmeError::Internal(format!(
            "the stored HMAC key of EAB kid {kid:?} does not decode"
        ))
    })?;
    // The MAC first: whoever does not hold the key learns nothing of its state.
    binding.verify_mac(&mac_key)?;
    let key = stored.key;
    if key.directory != directory.name {
        return Err(unauthorized(format!(
            "the externalAccountBinding kid {kid:?} belongs to another area, not {:?}",
            directory.name
        )));
    }
    if key.revoked_at.is_some() {
        return Err(unauthorized(format!(
            "the externalAccountBinding kid {kid:?} was revoked"
        )));
    }
    if key.expires_at.is_some_and(|at| at <= now) {
        return Err(unauthorized(format!(
            "the externalAccountBinding kid {kid:?} has expired"
        )));
    }
    if !key.reusable && key.accounts_bound > 0 {
        return Err(unauthorized(format!(
            "the externalAccountBinding kid {kid:?} is single-use and already bound to an account"
        )));
    }
    Ok(Some(EabBinding { kid: kid.clone() }))
}
