//! The name policy's decisions, its contradictions and its name constraints.

use super::*;

fn dns(name: &str) -> Identifier {
    Identifier::dns(name).unwrap()
}

fn ip(addr: &str) -> Identifier {
    Identifier::ip(addr.parse().unwrap())
}

fn rules(entries: &[&str]) -> Vec<NameRule> {
    entries
        .iter()
        .map(|e| NameRule::parse(e).unwrap())
        .collect()
}

fn prod() -> NamePolicy {
    NamePolicy {
        allow: rules(&[".prod.test", "api.example.test"]),
        deny: rules(&["db.prod.test", ".db.prod.test"]),
        ..NamePolicy::default()
    }
}

#[test]
fn rules_parse_exact_names_and_subtrees_and_refuse_nonsense() {
    assert_eq!(
        NameRule::parse("A.Test.").unwrap(),
        NameRule::Exact("a.test".into())
    );
    assert_eq!(
        NameRule::parse(".prod.test").unwrap(),
        NameRule::Below("prod.test".into())
    );
    for bad in [
        "",
        ".",
        "*.prod.test",
        "a..test",
        "-a.test",
        "10.0.0.1",
        "é.test",
    ] {
        assert!(NameRule::parse(bad).is_err(), "{bad:?} parsed");
    }
}

#[test]
fn allow_admits_names_below_a_suffix_and_exact_names_only() {
    let policy = prod();
    for ok in [
        "a.prod.test",
        "x.y.prod.test",
        "*.x.prod.test",
        "api.example.test",
    ] {
        assert_eq!(policy.check(&dns(ok)), Ok(()), "{ok}");
    }
    for refused in [
        "prod.test",
        "a.lab.test",
        "x.api.example.test",
        "example.test",
    ] {
        let err = policy.check(&dns(refused)).unwrap_err();
        assert!(err.contains("names.allow"), "{refused}: {err}");
    }
}

#[test]
fn deny_wins_and_names_its_entry() {
    let policy = prod();
    let err = policy.check(&dns("db.prod.test")).unwrap_err();
    assert!(err.contains("names.deny entry \"db.prod.test\""), "{err}");
    let err = policy.check(&dns("a.db.prod.test")).unwrap_err();
    assert!(err.contains("\".db.prod.test\""), "{err}");
}

#[test]
fn a_wildcard_covering_a_denied_name_is_refused() {
    let policy = NamePolicy {
        deny: rules(&["secret.corp.test"]),
        ..NamePolicy::default()
    };
    let err = policy.check(&dns("*.corp.test")).unwrap_err();
    assert!(err.contains("would cover a denied name"), "{err}");
    assert_eq!(policy.check(&dns("*.other.test")), Ok(()));
}

#[test]
fn wildcards_single_labels_and_identifier_types_are_switches() {
    let policy = NamePolicy {
        identifier_types: vec![IdentifierType::Dns],
        wildcards: false,
        single_label: false,
        ..NamePolicy::default()
    };
    assert!(
        policy
            .check(&dns("*.a.test"))
            .unwrap_err()
            .contains("names.wildcards")
    );
    assert!(
        policy
            .check(&dns("db"))
            .unwrap_err()
            .contains("names.single_label")
    );
    assert!(
        policy
            .check(&ip("10.0.0.1"))
            .unwrap_err()
            .contains("names.identifier_types = [dns]")
    );
    assert_eq!(policy.check(&dns("a.test")), Ok(()));
    assert_eq!(NamePolicy::default().check(&dns("db")), Ok(()));
}

#[test]
fn ip_ranges_bound_ip_identifiers() {
    let policy = NamePolicy {
        ip_ranges: vec!["10.0.0.0/8".parse().unwrap(), "fd00::/8".parse().unwrap()],
        ..NamePolicy::default()
    };
    assert_eq!(policy.check(&ip("10.1.2.3")), Ok(()));
    assert_eq!(policy.check(&ip("fd12::1")), Ok(()));
    let err = policy.check(&ip("192.168.1.1")).unwrap_err();
    assert!(err.contains("names.ip_ranges = [\"10.0.0.0/8\""), "{err}");
}

#[test]
fn contradictions_name_the_entries() {
    assert!(prod().contradictions().is_empty());
    let policy = NamePolicy {
        allow: rules(&["a.prod.test", ".x.prod.test"]),
        deny: rules(&["a.prod.test", ".prod.test"]),
        ..NamePolicy::default()
    };
    let found = policy.contradictions();
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].contains("\"a.prod.test\" can never match"));
    assert!(found[1].contains("\".x.prod.test\" can never match"));

    let policy = NamePolicy {
        identifier_types: vec![IdentifierType::Dns],
        ip_ranges: vec!["10.0.0.0/8".parse().unwrap()],
        ..NamePolicy::default()
    };
    assert!(policy.contradictions()[0].contains("names.ip_ranges"));
    let policy = NamePolicy {
        identifier_types: vec![],
        ..NamePolicy::default()
    };
    assert!(!policy.contradictions().is_empty());
}

#[test]
fn constraints_are_never_narrower_than_the_policy() {
    let nc = prod().name_constraints().unwrap();
    assert_eq!(nc.permitted_dns, ["prod.test", "api.example.test"]);
    assert_eq!(nc.excluded_dns, ["db.prod.test"]);
    assert!(nc.permitted_ip.is_empty() && nc.excluded_ip.is_empty());

    let dns_only = NamePolicy {
        identifier_types: vec![IdentifierType::Dns],
        ..prod()
    };
    let nc = dns_only.name_constraints().unwrap();
    assert_eq!(
        nc.excluded_ip.len(),
        2,
        "every IPv4 and IPv6 address excluded"
    );

    let lab = NamePolicy {
        ip_ranges: vec!["10.0.0.0/8".parse().unwrap()],
        ..NamePolicy::default()
    };
    let nc = lab.name_constraints().unwrap();
    assert_eq!(nc.permitted_ip.len(), 1);
    assert_eq!(nc.permitted_ip[0].prefix, 8);
}

#[test]
fn inexpressible_policies_say_why() {
    let half_deny = NamePolicy {
        deny: rules(&[".db.prod.test"]),
        ..NamePolicy::default()
    };
    let reasons = half_deny.name_constraints().unwrap_err();
    assert!(
        reasons[0].contains("deny \"db.prod.test\" too"),
        "{reasons:?}"
    );
    let exact_deny = NamePolicy {
        deny: rules(&["db.prod.test"]),
        ..NamePolicy::default()
    };
    let reasons = exact_deny.name_constraints().unwrap_err();
    assert!(
        reasons[0].contains("deny \".db.prod.test\" too"),
        "{reasons:?}"
    );
    let ip_only = NamePolicy {
        identifier_types: vec![IdentifierType::Ip],
        ..NamePolicy::default()
    };
    assert!(ip_only.name_constraints().is_err());
}
