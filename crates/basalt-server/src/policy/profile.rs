//! Which certificate profile an order gets (draft-ietf-acme-profiles), and whether that
//! profile certifies the order's identifiers. Pure: the profiles come with the area.

use basalt_protocol::{Identifier, Problem, ProblemType, RawIdentifier, Subproblem};

use crate::config::profiles::{MAX_PROFILE_NAME_LEN, Profile, ProfileSet};
use crate::policy::identifiers::rejection;

/// The profile newOrder's `profile` names, or the area's default when it names none
/// (draft-ietf-acme-profiles-00 §4). A name the area does not offer is `invalidProfile`
/// (§5), with the offered names in the detail.
pub(crate) fn requested_profile<'a>(
    area: &str,
    profiles: &'a ProfileSet,
    requested: Option<&str>,
) -> Result<(&'a str, &'a Profile), Problem> {
    let name = requested.unwrap_or(profiles.default_name());
    match profiles.get(name) {
        Some(found) => Ok(found),
        None => Err(Problem::new(
            ProblemType::InvalidProfile,
            format!(
                "area {}: {} is not a profile of this directory; it offers {} (meta.profiles)",
                area,
                shown(name),
                profiles.names()
            ),
        )),
    }
}

/// The profile a stored order was placed under, looked up again at finalize in the area as
/// it is now. A NULL profile (orders from before profiles) is the area's default. A profile a
/// configuration reload has removed since is `invalidProfile`: the order cannot be issued as
/// it was asked for, and the client must place a new one.
pub(crate) fn order_profile<'a>(
    area: &str,
    profiles: &'a ProfileSet,
    stored: Option<&str>,
) -> Result<(&'a str, &'a Profile), Problem> {
    requested_profile(area, profiles, stored).map_err(|_| {
        Problem::new(
            ProblemType::InvalidProfile,
            format!(
                "area {}: the order's profile {} is no longer offered (it offers {}); create a new order",
                area,
                shown(stored.unwrap_or_default()),
                profiles.names()
            ),
        )
    })
}

/// `Ok` if `profile` certifies every identifier's type; otherwise `rejectedIdentifier` with
/// one subproblem per refused identifier (RFC 8555 §6.7.1), naming the profile.
pub(crate) fn check_profile_identifiers(
    area: &str,
    name: &str,
    profile: &Profile,
    identifiers: &[Identifier],
) -> Result<(), Problem> {
    let subproblems: Vec<Subproblem> = identifiers
        .iter()
        .filter(|id| !profile.identifier_types.contains(&id.identifier_type()))
        .map(|id| Subproblem {
            problem_type: ProblemType::RejectedIdentifier,
            detail: format!(
                "area {}: profile {name} does not certify {} identifiers like {:?} (it allows {})",
                area,
                id.identifier_type().as_str(),
                id.value(),
                profile
                    .identifier_types
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            identifier: RawIdentifier {
                identifier_type: id.identifier_type().as_str().to_owned(),
                value: id.value().to_owned(),
            },
        })
        .collect();
    if subproblems.is_empty() {
        Ok(())
    } else {
        Err(rejection(subproblems))
    }
}

/// A client's profile name for a problem detail: quoted, and only if it is short (the
/// payload may carry anything).
fn shown(name: &str) -> String {
    if name.chars().count() <= MAX_PROFILE_NAME_LEN {
        format!("{name:?}")
    } else {
        "the requested profile".to_owned()
    }
}

#[cfg(test)]
mod tests;
