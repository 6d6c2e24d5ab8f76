//! CAA again at finalize (RFC 8659 §3; Boulder's practice): an authorization validated more
//! than 8 hours ago may have had its CAA records changed since, so they are checked again
//! before the certificate is signed.

use std::time::Duration;

use basalt_protocol::{ChallengeStatus, Problem};
use basalt_storage::{AuthorizationRecord, OrderRecord};
use basalt_validation::{CaaPolicy, Validator};
use time::OffsetDateTime;

use crate::config::DirectoryConfig;
use crate::problem::{AcmeError, AcmeResult};

/// How old a validation may be before CAA is checked again at finalize.
pub(crate) const CAA_RECHECK_AFTER: Duration = Duration::from_secs(8 * 3600);

/// Checks CAA for every one of `order`'s `authorizations` (as loaded with it) whose validation is older than
/// [`CAA_RECHECK_AFTER`]; the error is the `caa` (or `dns`) problem to send.
pub(crate) async fn recheck_caa(
    validator: &Validator,
    directory: &DirectoryConfig,
    account_uri: &str,
    order: &OrderRecord,
    authorizations: &[AuthorizationRecord],
    now: OffsetDateTime,
    metrics: &crate::Metrics,
) -> AcmeResult<()> {
    if !directory.check_caa {
        return Ok(());
    }
    let policy = CaaPolicy {
        identities: directory.meta.caa_identities.clone(),
        account_uri: account_uri.to_owned(),
    };
    if authorizations.len() != order.authorization_ids.len() {
        return Err(AcmeError::Storage(basalt_storage::Error::NotFound));
    }
    for authz in authorizations {
        let Some(challenge) = authz
            .challenges
            .iter()
            .find(|c| c.status == ChallengeStatus::Valid)
        else {
            continue;
        };
        let validated_at = challenge.validated_at.unwrap_or(authz.created_at);
        if now - validated_at < CAA_RECHECK_AFTER {
            continue;
        }
        let checked = validator
            .check_caa(
                &authz.identifier,
                authz.wildcard,
                challenge.challenge_type,
                &policy,
            )
            .await;
        let result = match &checked {
            Ok(()) => "allowed",
            Err(problem) if problem.problem_type == basalt_protocol::ProblemType::Caa => "refused",
            // A lookup that failed is refused too (fail closed), but told apart.
            Err(_) => "error",
        };
        metrics.caa_check("finalize", result);
        checked.map_err(|problem: Problem| AcmeError::Problem(problem))?;
    }
    Ok(())
}
