//! Choosing an order's profile and checking its identifier types, without storage.

use std::collections::BTreeMap;

use basalt_protocol::{Identifier, IdentifierType, ProblemType};

use super::*;
use crate::config::IssuancePolicy;

fn shipped() -> ProfileSet {
    ProfileSet::shipped(&IssuancePolicy::default())
}

#[test]
fn no_profile_is_the_default_and_a_named_one_is_found() {
    let set = shipped();
    assert_eq!(requested_profile("fleet", &set, None).unwrap().0, "default");
    let (name, profile) = requested_profile("fleet", &set, Some("mtls-client")).unwrap();
    assert_eq!(name, "mtls-client");
    assert_eq!(
        profile.leaf.extended_key_usages,
        vec![basalt_signer::ExtendedKeyUsage::ClientAuth]
    );
}

#[test]
fn an_unknown_profile_is_invalid_profile_naming_the_offered_ones() {
    let set = shipped();
    let long = "x".repeat(5000);
    for asked in ["nosuch", "", "DEFAULT", long.as_str()] {
        let problem = requested_profile("fleet", &set, Some(asked)).unwrap_err();
        assert_eq!(problem.problem_type, ProblemType::InvalidProfile);
        assert_eq!(problem.status, 400);
        assert!(
            problem
                .detail
                .contains("default, mtls-client, short, tls-server"),
            "{}",
            problem.detail
        );
        assert!(problem.detail.len() < 300, "a long name is not echoed");
    }
}

#[test]
fn a_removed_profile_is_invalid_profile_at_finalize_and_null_is_the_default() {
    assert_eq!(
        order_profile("fleet", &shipped(), None).unwrap().0,
        "default"
    );
    let (_, short) = shipped()
        .get("short")
        .map(|(n, p)| (n.to_owned(), p.clone()))
        .unwrap();
    let only_short = ProfileSet::new(
        "short".into(),
        BTreeMap::from([("short".to_owned(), short)]),
    )
    .unwrap();
    assert_eq!(
        order_profile("fleet", &only_short, None).unwrap().0,
        "short"
    );
    let problem = order_profile("fleet", &only_short, Some("tls-server")).unwrap_err();
    assert_eq!(problem.problem_type, ProblemType::InvalidProfile);
    assert!(
        problem.detail.contains("no longer offered"),
        "{}",
        problem.detail
    );
}

#[test]
fn identifier_types_outside_the_profile_are_rejected_naming_it() {
    let set = shipped();
    let (_, profile) = requested_profile("fleet", &set, None).unwrap();
    let dns_only = Profile {
        identifier_types: vec![IdentifierType::Dns],
        ..profile.clone()
    };
    let ids = [
        Identifier::dns("a.test").unwrap(),
        Identifier::ip("192.0.2.7".parse().unwrap()),
    ];
    assert!(check_profile_identifiers("fleet", "default", profile, &ids).is_ok());
    let problem = check_profile_identifiers("fleet", "names", &dns_only, &ids).unwrap_err();
    assert_eq!(problem.problem_type, ProblemType::RejectedIdentifier);
    assert_eq!(problem.subproblems.len(), 1);
    assert_eq!(problem.subproblems[0].identifier.value, "192.0.2.7");
    assert!(
        problem.detail.contains("profile names"),
        "{}",
        problem.detail
    );
}

#[test]
fn the_profile_lifetimes_replace_the_areas_only_where_set() {
    let area = IssuancePolicy::default();
    let set = ProfileSet::shipped(&area);
    let (_, default) = set.get("default").unwrap();
    assert_eq!(
        default.issuance_policy(&area).certificate_lifetime,
        area.certificate_lifetime
    );
    let (_, short) = set.get("short").unwrap();
    let policy = short.issuance_policy(&area);
    assert_eq!(policy.certificate_lifetime.as_secs(), 6 * 3600);
    assert_eq!(policy.max_certificate_lifetime.as_secs(), 6 * 3600);
    assert_eq!(policy.backdate, area.backdate);
}
