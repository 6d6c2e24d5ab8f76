//! newOrder (RFC 8555 §7.4): check what the order asks for against the directory's policy,
//! plan its authorizations (reusing the account's valid or pending ones), and store it.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};
use time::OffsetDateTime;

use basalt_protocol::objects::NewOrderRequest;
use basalt_protocol::{Identifier, Problem, ProblemType};
use basalt_storage::{
    ALREADY_REPLACED, AccountRecord, AuthorizationPlan, Error as StorageError, NewAuthorization,
    NewChallenge, NewOrder, OrderRecord, Store,
};

use crate::authority::replaces::check_replaces;
use crate::config::DirectoryConfig;
use crate::policy::area::{check_area_identifiers, offered_challenges};
use crate::policy::identifiers::check_order_identifiers;
use crate::policy::profile::{check_profile_identifiers, requested_profile};
use crate::policy::validity::check_requested_validity;
use crate::problem::{AcmeError, AcmeResult};

/// A reused authorization must stay valid at least this long (Boulder uses a day).
const REUSE_MARGIN: Duration = Duration::from_secs(24 * 3600);

/// Creates `account`'s order in `directory`. Nothing is stored for a refused order.
pub(crate) async fn new_order(
    store: &Store,
    directory: &DirectoryConfig,
    account: &AccountRecord,
    request: &NewOrderRequest,
    now: OffsetDateTime,
) -> AcmeResult<OrderRecord> {
    // draft-ietf-acme-profiles-00 §4: absent, the area's default; unknown, invalidProfile.
    let (profile_name, profile) = requested_profile(
        &directory.name,
        &directory.profiles,
        request.profile.as_deref(),
    )?;
    let identifiers =
        check_order_identifiers(&request.identifiers, directory.allow_reserved_identifiers)?;
    check_area_identifiers(directory, &identifiers)?;
    check_profile_identifiers(&directory.name, profile_name, profile, &identifiers)?;
    let policy = &directory.policy;
    // RFC 8555 §7.4 notBefore/notAfter, within the profile's lifetimes.
    let validity = check_requested_validity(
        request.not_before.as_deref(),
        request.not_after.as_deref(),
        &profile.issuance_policy(policy),
        now,
    )?;

    // RFC 9773 §5: checked before anything is planned or stored.
    let replaces = match request.replaces.as_deref() {
        Some(replaces) => Some(check_replaces(store, account, &identifiers, replaces).await?),
        None => None,
    };

    let mut expires_at = now + policy.order_lifetime;
    let mut plans: Vec<AuthorizationPlan> = Vec::new();
    let mut planned: Vec<(Identifier, bool)> = Vec::new();
    for identifier in &identifiers {
        let wildcard = identifier.is_wildcard();
        let base = identifier.authorization_identifier();
        if planned.contains(&(base.clone(), wildcard)) {
            continue;
        }
        planned.push((base.clone(), wildcard));
        let reusable = store
            .reusable_authorization(account.id, &base, wildcard, now, now + REUSE_MARGIN)
            .await?;
        if let Some(existing) = reusable {
            expires_at = expires_at.min(existing.expires_at);
            plans.push(AuthorizationPlan::Reuse(existing.id));
            continue;
        }
        let challenges = offered_challenges(directory, &base, wildcard)
            .into_iter()
            .map(|challenge_type| {
                Ok(NewChallenge {
                    challenge_type,
                    token: new_token()?,
                })
            })
            .collect::<Result<Vec<_>, AcmeError>>()?;
        plans.push(AuthorizationPlan::Create(NewAuthorization {
            identifier: base,
            wildcard,
            expires_at: now + policy.pending_authorization_lifetime,
            challenges,
        }));
    }

    let order = store
        .create_order(&NewOrder {
            account_id: account.id,
            directory: directory.name.clone(),
            identifiers,
            not_before: validity.not_before,
            not_after: validity.not_after,
            expires_at,
            authorizations: plans,
            replaces,
            now,
            profile: Some(profile_name.to_owned()),
        })
        .await
        .map_err(|e| match e {
            // RFC 9773 §7.4; Boulder answers 409.
            StorageError::Duplicate { what, .. } if what == ALREADY_REPLACED => {
                AcmeError::from(Problem::new(
                    ProblemType::AlreadyReplaced,
                    format!(
                        "the certificate {:?} names already has a replacement order that is not invalid or expired",
                        request.replaces.as_deref().unwrap_or_default()
                    ),
                ))
            }
            e => e.into(),
        })?;
    tracing::info!(
        account.id = account.id,
        order.id = order.id,
        order.profile = profile_name,
        "order created"
    );
    Ok(order)
}

/// RFC 8555 §8.1: a token with at least 128 bits of entropy, base64url; 256 bits here.
fn new_token() -> AcmeResult<String> {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| AcmeError::Internal("the system RNG failed".into()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}
