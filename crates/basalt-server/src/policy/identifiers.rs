//! What a new order may ask for (RFC 8555 §7.4) and which challenges each identifier gets.

use basalt_protocol::{
    ChallengeType, Identifier, IdentifierType, Problem, ProblemType, RawIdentifier, Subproblem,
};

/// Largest number of identifiers in one order (Boulder allows 100).
pub(crate) const MAX_IDENTIFIERS: usize = 100;

/// Parses and normalises an order's identifiers. Every bad identifier is reported, each in
/// its own subproblem (RFC 8555 §6.7.1), not just the first. Duplicates are merged.
///
/// Reserved identifiers (`Identifier::reserved`: loopback, link-local, multicast, ...,
/// `localhost`) are `rejectedIdentifier` unless `allow_reserved` (the directory's
/// `allow_reserved_identifiers`, for test set-ups): a certificate for one under a root every
/// machine trusts would be good for that local service on every machine.
pub(crate) fn check_order_identifiers(
    raw: &[RawIdentifier],
    allow_reserved: bool,
) -> Result<Vec<Identifier>, Problem> {
    if raw.is_empty() {
        return Err(Problem::malformed("the order has no identifiers"));
    }
    if raw.len() > MAX_IDENTIFIERS {
        return Err(Problem::new(
            ProblemType::RejectedIdentifier,
            format!(
                "an order may hold at most {MAX_IDENTIFIERS} identifiers; this one has {}",
                raw.len()
            ),
        ));
    }
    let mut identifiers: Vec<Identifier> = Vec::with_capacity(raw.len());
    let mut subproblems = Vec::new();
    for r in raw {
        match Identifier::parse(r) {
            Ok(id) if !allow_reserved && id.reserved().is_some() => {
                subproblems.push(reserved_rejection(r, &id));
            }
            Ok(id) if !identifiers.contains(&id) => identifiers.push(id),
            Ok(_) => {}
            Err(sub) => subproblems.push(sub),
        }
    }
    if subproblems.is_empty() {
        return Ok(identifiers);
    }
    Err(rejection(subproblems))
}

/// The subproblem for a reserved identifier, naming it as the client sent it (like every
/// other subproblem here) and saying which class it is in.
fn reserved_rejection(raw: &RawIdentifier, id: &Identifier) -> Subproblem {
    let class = id.reserved().unwrap_or("reserved");
    Subproblem {
        problem_type: ProblemType::RejectedIdentifier,
        detail: format!(
            "{:?} is {class}; this CA does not certify reserved identifiers",
            raw.value
        ),
        identifier: RawIdentifier {
            identifier_type: id.identifier_type().as_str().to_owned(),
            value: raw.value.clone(),
        },
    }
}

/// RFC 8555 §6.7.1: the top-level type is the subproblems' common type, `malformed` when
/// they differ; the detail lists every one so a person sees all of them at once.
pub(crate) fn rejection(subproblems: Vec<Subproblem>) -> Problem {
    let first = subproblems[0].problem_type;
    let top = if subproblems.iter().all(|s| s.problem_type == first) {
        first
    } else {
        ProblemType::Malformed
    };
    let detail = subproblems
        .iter()
        .map(|s| s.detail.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    let count = subproblems.len();
    Problem::new(
        top,
        format!(
            "{count} identifier{} cannot be issued: {detail}",
            if count == 1 { "" } else { "s" }
        ),
    )
    .with_subproblems(subproblems)
}

/// The challenges offered for an authorization (RFC 8555 §7.1.4): wildcards only dns-01
/// (§7.1.3), IP addresses http-01 and tls-alpn-01 but never dns-01 (RFC 8738 §7).
pub(crate) fn challenge_types(identifier: &Identifier, wildcard: bool) -> Vec<ChallengeType> {
    match (identifier.identifier_type(), wildcard) {
        (IdentifierType::Dns, true) => vec![ChallengeType::Dns01],
        (IdentifierType::Dns, false) => vec![
            ChallengeType::Http01,
            ChallengeType::Dns01,
            ChallengeType::TlsAlpn01,
        ],
        (IdentifierType::Ip, _) => vec![ChallengeType::Http01, ChallengeType::TlsAlpn01],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(t: &str, v: &str) -> RawIdentifier {
        RawIdentifier {
            identifier_type: t.into(),
            value: v.into(),
        }
    }

    #[test]
    fn every_bad_identifier_gets_a_subproblem() {
        let p = check_order_identifiers(
            &[
                raw("dns", "ok.test"),
                raw("dns", "a..test"),
                raw("dns", "*.*.a.test"),
            ],
            false,
        )
        .unwrap_err();
        assert_eq!(p.problem_type, ProblemType::RejectedIdentifier);
        assert_eq!(p.subproblems.len(), 2);
        let mixed =
            check_order_identifiers(&[raw("dns", "a..test"), raw("email", "x@y.test")], false)
                .unwrap_err();
        assert_eq!(mixed.problem_type, ProblemType::Malformed);
    }

    #[test]
    fn duplicates_merge_after_normalisation() {
        let ids =
            check_order_identifiers(&[raw("dns", "A.test"), raw("dns", "a.test.")], false).unwrap();
        assert_eq!(ids, vec![Identifier::dns("a.test").unwrap()]);
    }

    #[test]
    fn reserved_identifiers_need_the_directory_to_allow_them() {
        let order = [
            raw("ip", "127.0.0.1"),
            raw("ip", "::ffff:169.254.169.254"),
            raw("dns", "LocalHost"),
            raw("dns", "*.a.localhost"),
            raw("ip", "10.0.0.1"),
            raw("dns", "ok.test"),
        ];
        let p = check_order_identifiers(&order, false).unwrap_err();
        assert_eq!(p.problem_type, ProblemType::RejectedIdentifier);
        let subs: Vec<(&str, &str)> = p
            .subproblems
            .iter()
            .map(|s| (s.identifier.value.as_str(), s.detail.as_str()))
            .collect();
        assert_eq!(subs.len(), 4, "{subs:?}");
        for ((value, detail), class) in
            subs.iter()
                .zip(["loopback", "link-local", "RFC 6761", "RFC 6761"])
        {
            assert!(detail.contains(class), "{value}: {detail}");
        }
        assert_eq!(subs[2].0, "LocalHost");
        let allowed = check_order_identifiers(&order, true).unwrap();
        assert_eq!(allowed.len(), 6);
        // Malformed names stay refused whatever the directory allows.
        let p =
            check_order_identifiers(&[raw("dns", "0x7f000001"), raw("dns", "xn--a.test")], true)
                .unwrap_err();
        assert_eq!(p.subproblems.len(), 2);
    }

    #[test]
    fn wildcards_get_dns01_only() {
        assert_eq!(
            challenge_types(&Identifier::dns("a.test").unwrap(), true),
            vec![ChallengeType::Dns01]
        );
        assert!(
            !challenge_types(&Identifier::ip("127.0.0.1".parse().unwrap()), false)
                .contains(&ChallengeType::Dns01)
        );
    }
}
