//! The RFC 5280 §4.2.1.10 matching table for `NameConstraints::permits`.

use super::*;
use crate::test_support::{dns, ip};

fn ranges(list: &[&str]) -> Vec<IpRange> {
    list.iter().map(|r| r.parse().unwrap()).collect()
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn constraints(
    permitted_dns: &[&str],
    excluded_dns: &[&str],
    permitted_ip: &[&str],
    excluded_ip: &[&str],
) -> NameConstraints {
    NameConstraints {
        permitted_dns: strings(permitted_dns),
        excluded_dns: strings(excluded_dns),
        permitted_ip: ranges(permitted_ip),
        excluded_ip: ranges(excluded_ip),
    }
}

/// Asserts `permits` for each (identifier, expected) pair; on refusal, that the message names
/// `names_subtree` (the base or range that decided it).
fn check(nc: &NameConstraints, cases: &[(Identifier, Result<(), &str>)]) {
    for (id, expected) in cases {
        match (nc.permits(id), expected) {
            (Ok(()), Ok(())) => {}
            (Err(message), Err(subtree)) => {
                assert!(
                    message.contains(subtree),
                    "{id}: {message} should name {subtree}"
                );
                assert!(message.contains(id.value()), "{id}: {message}");
            }
            (got, want) => panic!("{id}: got {got:?}, want {want:?} under {nc:?}"),
        }
    }
}

#[test]
fn permitted_dns_subtrees_contain_the_base_and_every_name_below_it() {
    let nc = constraints(&["prod.test", "api.example.test"], &[], &[], &[]);
    check(
        &nc,
        &[
            (dns("prod.test"), Ok(())),
            (dns("a.prod.test"), Ok(())),
            (dns("a.b.prod.test"), Ok(())),
            (dns("api.example.test"), Ok(())),
            (dns("v2.api.example.test"), Ok(())),
            // Label boundaries: a suffix that is not a whole label is outside.
            (dns("notprod.test"), Err("prod.test, api.example.test")),
            (dns("example.test"), Err("permitted dNSName")),
            (dns("www.example.test"), Err("permitted dNSName")),
            (dns("test"), Err("permitted dNSName")),
        ],
    );
}

#[test]
fn dns_matching_ignores_case() {
    let nc = constraints(&["Prod.TEST"], &["Secret.Prod.Test"], &[], &[]);
    check(
        &nc,
        &[
            (dns("a.prod.test"), Ok(())),
            (dns("x.secret.prod.test"), Err("Secret.Prod.Test")),
        ],
    );
}

#[test]
fn wildcards_are_matched_as_the_dns_name_in_the_certificate() {
    let nc = constraints(&["prod.test"], &["db.prod.test"], &[], &[]);
    check(
        &nc,
        &[
            (dns("*.prod.test"), Ok(())),
            (dns("*.web.prod.test"), Ok(())),
            (
                dns("*.db.prod.test"),
                Err("excluded dNSName subtree db.prod.test"),
            ),
            (dns("*.other.test"), Err("permitted dNSName")),
        ],
    );
}

#[test]
fn excluded_wins_over_permitted() {
    let nc = constraints(
        &["prod.test"],
        &["internal.prod.test"],
        &["10.0.0.0/8"],
        &["10.9.0.0/16"],
    );
    check(
        &nc,
        &[
            (dns("a.prod.test"), Ok(())),
            (
                dns("internal.prod.test"),
                Err("excluded dNSName subtree internal.prod.test"),
            ),
            (dns("x.internal.prod.test"), Err("internal.prod.test")),
            (ip("10.1.2.3"), Ok(())),
            (
                ip("10.9.2.3"),
                Err("excluded iPAddress subtree 10.9.0.0/16"),
            ),
        ],
    );
}

#[test]
fn excluded_dns_alone_leaves_everything_else_permitted() {
    let nc = constraints(&[], &["corp.test"], &[], &[]);
    check(
        &nc,
        &[
            (dns("anything.test"), Ok(())),
            (dns("corp.test"), Err("corp.test")),
            (dns("a.corp.test"), Err("corp.test")),
            (dns("acorp.test"), Ok(())),
            (ip("192.0.2.1"), Ok(())),
        ],
    );
}

#[test]
fn forms_without_subtrees_are_unconstrained() {
    // DNS only: every IP passes.
    let dns_only = constraints(&["prod.test"], &[], &[], &[]);
    check(
        &dns_only,
        &[(ip("192.0.2.1"), Ok(())), (ip("2001:db8::1"), Ok(()))],
    );
    // IP only: every DNS name passes.
    let ip_only = constraints(&[], &[], &["192.0.2.0/24"], &[]);
    check(
        &ip_only,
        &[
            (dns("anything.test"), Ok(())),
            (ip("192.0.2.9"), Ok(())),
            (ip("198.51.100.1"), Err("192.0.2.0/24")),
        ],
    );
    // Nothing at all: everything passes.
    let none = NameConstraints::default();
    assert!(none.is_empty());
    check(&none, &[(dns("a.test"), Ok(())), (ip("::1"), Ok(()))]);
}

#[test]
fn ipv4_and_ipv6_are_separate_spaces() {
    // A permitted IPv4 range says nothing about IPv6 addresses' own subtrees: with an IPv4
    // subtree present, an IPv6 address matches none of the iPAddress subtrees (RFC 5280 treats
    // the form as one; the address is simply not inside any).
    let v4 = constraints(&[], &[], &["192.0.2.0/24"], &[]);
    check(
        &v4,
        &[
            (ip("192.0.2.1"), Ok(())),
            (ip("::ffff:192.0.2.1"), Err("192.0.2.0/24")),
            (ip("2001:db8::1"), Err("permitted iPAddress")),
        ],
    );
    let both = constraints(&[], &[], &["192.0.2.0/24", "2001:db8::/32"], &[]);
    check(
        &both,
        &[
            (ip("192.0.2.1"), Ok(())),
            (ip("2001:db8:1::1"), Ok(())),
            (ip("2001:db9::1"), Err("2001:db8::/32")),
        ],
    );
}

#[test]
fn excluding_every_address_refuses_all_ips_and_no_dns_name() {
    // What an area without the `ip` identifier type gets.
    let nc = constraints(&["prod.test"], &[], &[], &["0.0.0.0/0", "::/0"]);
    check(
        &nc,
        &[
            (ip("192.0.2.1"), Err("excluded iPAddress subtree 0.0.0.0/0")),
            (ip("2001:db8::1"), Err("excluded iPAddress subtree ::/0")),
            (ip("::ffff:10.0.0.1"), Err("::/0")),
            (dns("a.prod.test"), Ok(())),
        ],
    );
}

#[test]
fn bases_rfc_5280_does_not_define_are_read_as_verifiers_read_them() {
    // Leading dot: strictly below (OpenSSL, Go).
    let dotted = constraints(&[".prod.test"], &[], &[], &[]);
    check(
        &dotted,
        &[
            (dns("a.prod.test"), Ok(())),
            (dns("prod.test"), Err(".prod.test")),
        ],
    );
    // Empty base: every name.
    let empty = constraints(&[""], &[], &[], &[]);
    check(&empty, &[(dns("a.test"), Ok(()))]);
}

#[test]
fn only_well_formed_dns_bases_are_written() {
    assert!(
        constraints(&["prod.test", "a-b.c1"], &["x.prod.test"], &[], &[])
            .check()
            .is_ok()
    );
    for bad in [
        "",
        ".prod.test",
        "prod.test.",
        "a..test",
        "a b.test",
        "*.test",
        "ünï.test",
    ] {
        let err = constraints(&[bad], &[], &[], &[]).check().unwrap_err();
        assert!(err.contains("not a DNS name"), "{bad}: {err}");
        assert!(constraints(&[], &[bad], &[], &[]).check().is_err(), "{bad}");
    }
}
