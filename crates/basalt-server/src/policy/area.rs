//! Whether an area certifies an order's identifiers: its name policy, its intermediate's own
//! name constraints, and whether any challenge type it allows can validate each one.

use basalt_protocol::{ChallengeType, Identifier, Problem, ProblemType, RawIdentifier, Subproblem};

use crate::config::DirectoryConfig;
use crate::policy::identifiers::{challenge_types, rejection};

/// `Ok` if `area` may certify every identifier; otherwise `rejectedIdentifier` with one
/// subproblem per refused identifier (RFC 8555 §6.7.1), each naming the area and the rule.
pub(crate) fn check_area_identifiers(
    area: &DirectoryConfig,
    identifiers: &[Identifier],
) -> Result<(), Problem> {
    let subproblems: Vec<Subproblem> = identifiers
        .iter()
        .filter_map(|id| refusal(area, id).map(|detail| subproblem(area, id, detail)))
        .collect();
    if subproblems.is_empty() {
        Ok(())
    } else {
        Err(rejection(subproblems))
    }
}

/// The challenge types `area` offers for one authorization: what the identifier can use
/// (RFC 8555 §7.1.3, RFC 8738 §7), limited to the area's `challenge_types`.
pub(crate) fn offered_challenges(
    area: &DirectoryConfig,
    identifier: &Identifier,
    wildcard: bool,
) -> Vec<ChallengeType> {
    challenge_types(identifier, wildcard)
        .into_iter()
        .filter(|t| area.challenge_types.contains(t))
        .collect()
}

fn refusal(area: &DirectoryConfig, id: &Identifier) -> Option<String> {
    if let Err(rule) = area.names.check(id) {
        return Some(rule);
    }
    // RFC 5280 §4.2.1.10: a relying party would reject a certificate for a name outside the
    // intermediate's constraints, so refuse it before anything is stored.
    if let Some(constraints) = area.issuer.name_constraints()
        && let Err(reason) = constraints.permits(id)
    {
        return Some(format!(
            "{:?} is outside the name constraints of the area's intermediate: {reason}",
            id.value()
        ));
    }
    let base = id.authorization_identifier();
    if offered_challenges(area, &base, id.is_wildcard()).is_empty() {
        let possible = challenge_types(&base, id.is_wildcard())
            .iter()
            .map(|t| t.as_str())
            .collect::<Vec<_>>()
            .join(" or ");
        return Some(format!(
            "{:?} can only be validated with {possible}, which the area does not allow \
             (challenge_types = [{}])",
            id.value(),
            area.challenge_types
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    None
}

fn subproblem(area: &DirectoryConfig, id: &Identifier, detail: String) -> Subproblem {
    Subproblem {
        problem_type: ProblemType::RejectedIdentifier,
        detail: format!("area {}: {detail}", area.name),
        identifier: RawIdentifier {
            identifier_type: id.identifier_type().as_str().to_owned(),
            value: id.value().to_owned(),
        },
    }
}
