//! The egress policy (issue 12, defect 1): validation never connects to an address the policy
//! refuses, whether it comes from a DNS answer, an IP identifier, a redirect or a name that
//! URL parsers read as an address; and a challenge's error never quotes another host's body.
//!
//! Targets that are not loopback (169.254.169.254) or that the kernel treats specially
//! (0.0.0.0, ::) are only ever used inside a network namespace the test makes itself
//! (`netns.rs`); everything else here runs on 127.0.0.1/127.0.0.2/::1. Each refusal has a
//! control: the same validation, with a policy allowing the address, succeeds, so the
//! responder really is there and the refusal is the policy's doing.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use basalt_protocol::{ChallengeType, Identifier, ProblemType};
use basalt_testkit::dns::TestDns;
use basalt_testkit::tls_alpn::TlsAlpnResponder;
use basalt_validation::{EgressPolicy, ValidationConfig, ValidationOutcome, Validator};

use super::responder::{SECRET, Targets, serve_http};
use super::{
    assert_problem, assert_valid, config, key_authorization, netns, policy, request, start_dns,
};

const TOKEN: &str = "good_egress0123456789abcdef";
const METADATA: Ipv4Addr = Ipv4Addr::new(169, 254, 169, 254);
const LOOPBACK_2: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

/// http-01 of `identifier` with the good-token responder behind it.
async fn http01(validator: &Validator, identifier: Identifier, token: &str) -> ValidationOutcome {
    validator
        .validate(&request(identifier, ChallengeType::Http01, token))
        .await
}

/// Refused, with a detail naming the address, and no address used.
#[track_caller]
fn assert_refused(outcome: &ValidationOutcome, address: &str) {
    assert_problem(outcome, ProblemType::Connection, &["not allowed", address]);
    assert!(
        outcome.records.iter().all(|r| r.address_used.is_none()),
        "nothing may be dialled: {:?}",
        outcome.records
    );
}

/// `name` answers only `a` (no AAAA) or only `aaaa` (no A).
fn answer(dns: &TestDns, name: &str, a: Vec<Ipv4Addr>, aaaa: Vec<Ipv6Addr>) {
    dns.records().set_a(name, a);
    dns.records().set_aaaa(name, aaaa);
}

/// The http-01 responder on 127.0.0.1; its port.
async fn loopback_responder() -> u16 {
    serve_http(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        Targets::default(),
    )
    .await
    .expect("the responder starts")
    .port()
}

/// tls-alpn-01 of `name`, answered only with `ip`, where the responder listens: refused under
/// `refusing` without a handshake, valid under `allowing`.
async fn tls_alpn01_refusal(
    ip: Ipv4Addr,
    name: &str,
    refusing: EgressPolicy,
    allowing: EgressPolicy,
) {
    let dns = start_dns().await;
    let responder = TlsAlpnResponder::bind(SocketAddr::from((ip, 0)))
        .await
        .expect("the responder starts");
    responder.serve_key_authorization(name, key_authorization(TOKEN).as_str());
    answer(&dns, name, vec![ip], vec![]);
    let mut config = config(&dns, 1);
    config.tlsalpn01_port = responder.addr().port();
    let request = request(
        Identifier::dns(name).unwrap(),
        ChallengeType::TlsAlpn01,
        TOKEN,
    );

    let outcome = with_policy(&config, refusing).validate(&request).await;
    assert_refused(&outcome, &ip.to_string());
    assert!(responder.handshakes().await.is_empty());
    assert_valid(&with_policy(&config, allowing).validate(&request).await);
}

fn with_policy(config: &ValidationConfig, egress: EgressPolicy) -> Validator {
    Validator::new(ValidationConfig {
        egress,
        ..config.clone()
    })
    .expect("validator builds")
}

#[tokio::test]
async fn dns_answers_and_ip_identifiers_naming_this_host_or_link_local_are_refused() {
    if !netns::enter(
        "egress::dns_answers_and_ip_identifiers_naming_this_host_or_link_local_are_refused",
        &["169.254.169.254/32"],
    ) {
        return;
    }
    let dns = start_dns().await;
    let port = loopback_responder().await;
    for ip in [IpAddr::V6(Ipv6Addr::LOCALHOST), IpAddr::V4(METADATA)] {
        serve_http(SocketAddr::new(ip, port), Targets::default())
            .await
            .expect("the responder starts");
    }
    answer(&dns, "zero.test", vec![Ipv4Addr::UNSPECIFIED], vec![]);
    answer(
        &dns,
        "unspecified.test",
        vec![],
        vec![Ipv6Addr::UNSPECIFIED],
    );
    answer(&dns, "metadata.test", vec![METADATA], vec![]);
    let cases = [
        (Identifier::dns("zero.test").unwrap(), "0.0.0.0"),
        (Identifier::dns("unspecified.test").unwrap(), "::"),
        (Identifier::dns("metadata.test").unwrap(), "169.254.169.254"),
        (Identifier::ip(IpAddr::V4(METADATA)), "169.254.169.254"),
    ];

    let config = config(&dns, port);
    let refusing = with_policy(&config, EgressPolicy::default());
    for (identifier, address) in &cases {
        assert_refused(&http01(&refusing, identifier.clone(), TOKEN).await, address);
    }

    // Control: allowed, each of them reaches a responder serving the key authorization.
    let open = with_policy(
        &config,
        policy(&["0.0.0.0/8", "::/128", "169.254.0.0/16"], &[]),
    );
    for (identifier, _) in cases {
        assert_valid(&http01(&open, identifier, TOKEN).await);
    }
}

#[tokio::test]
async fn tls_alpn01_does_not_dial_a_link_local_answer() {
    if !netns::enter(
        "egress::tls_alpn01_does_not_dial_a_link_local_answer",
        &["169.254.169.254/32"],
    ) {
        return;
    }
    tls_alpn01_refusal(
        METADATA,
        "metadata.test",
        EgressPolicy::default(),
        policy(&["169.254.0.0/16"], &[]),
    )
    .await;
}

/// A responder on 127.0.0.1 whose `hop_` tokens redirect to `hop`, and one on 127.0.0.2 on
/// the same port serving the key authorization there; the port.
async fn hop_responders(hop: &str) -> u16 {
    let targets = Targets {
        hop: Some(hop.to_owned()),
        ..Targets::default()
    };
    let port = serve_http(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), targets)
        .await
        .expect("the responder starts")
        .port();
    serve_http(SocketAddr::from((LOOPBACK_2, port)), Targets::default())
        .await
        .expect("the second responder starts");
    port
}

#[tokio::test]
async fn redirects_to_addresses_outside_the_policy_are_refused_however_written() {
    let dns = start_dns().await;
    answer(&dns, "two.test", vec![LOOPBACK_2], vec![]);
    answer(
        &dns,
        "mapped.test",
        vec![],
        vec![LOOPBACK_2.to_ipv6_mapped()],
    );
    // Every spelling of 127.0.0.2 a redirect could use: a literal, the numeric forms WHATWG
    // URL parsing turns into it, IPv4-mapped IPv6, and names resolving to it.
    for hop in [
        "127.0.0.2",
        "0x7f000002",
        "2130706434",
        "0177.0.0.2",
        "127.2",
        "[::ffff:127.0.0.2]",
        "[::ffff:7f00:2]",
        "two.test",
        "mapped.test",
    ] {
        let port = hop_responders(hop).await;
        let config = config(&dns, port);
        let token = "hop_0123456789abcdefghijkl";
        let only_first = with_policy(&config, policy(&["127.0.0.1/32", "::1"], &[]));
        let outcome = http01(&only_first, Identifier::dns("a.test").unwrap(), token).await;
        assert_problem(
            &outcome,
            ProblemType::Connection,
            &["not allowed", "127.0.0.2"],
        );

        // Control: with all of loopback allowed, the hop reaches the second responder.
        let all = with_policy(&config, policy(&["127.0.0.0/8", "::1"], &[]));
        assert_valid(&http01(&all, Identifier::dns("a.test").unwrap(), token).await);
    }
}

#[tokio::test]
async fn ipv4_mapped_dns_answers_are_judged_as_the_ipv4_address() {
    let dns = start_dns().await;
    let port = loopback_responder().await;
    answer(
        &dns,
        "mapped.test",
        vec![],
        vec![Ipv4Addr::LOCALHOST.to_ipv6_mapped()],
    );
    let config = config(&dns, port);
    let outcome = http01(
        &with_policy(&config, policy(&["::1"], &[])),
        Identifier::dns("mapped.test").unwrap(),
        TOKEN,
    )
    .await;
    assert_refused(&outcome, "::ffff:127.0.0.1");
    assert_valid(
        &http01(
            &with_policy(&config, policy(&["127.0.0.1/32"], &[])),
            Identifier::dns("mapped.test").unwrap(),
            TOKEN,
        )
        .await,
    );
}

#[tokio::test]
async fn an_ip_identifier_outside_the_policy_is_not_dialled() {
    let dns = start_dns().await;
    let port = loopback_responder().await;
    let config = config(&dns, port);
    let identifier = Identifier::ip(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let outcome = http01(
        &with_policy(&config, EgressPolicy::default()),
        identifier.clone(),
        TOKEN,
    )
    .await;
    assert_refused(&outcome, "127.0.0.1");
    assert_valid(
        &http01(
            &with_policy(&config, config.egress.clone()),
            identifier,
            TOKEN,
        )
        .await,
    );
}

/// A name a URL parser reads as an IPv4 address (`0x7f000001` is 127.0.0.1) would skip DNS
/// and the egress check on names. It cannot reach the validator: `Identifier::parse` (the
/// only way to make an identifier, stored ones included) refuses it.
#[test]
fn names_that_urls_read_as_ipv4_addresses_cannot_be_validated() {
    for name in ["0x7f000001", "2130706433", "0177.0.0.1", "127.1", "0x7f.1"] {
        let refused = Identifier::dns(name).expect_err(name);
        assert_eq!(
            refused.problem_type,
            ProblemType::RejectedIdentifier,
            "{name}"
        );
    }
}

#[tokio::test]
async fn tls_alpn01_does_not_dial_a_loopback_address_outside_the_policy() {
    tls_alpn01_refusal(
        LOOPBACK_2,
        "two.test",
        policy(&["127.0.0.1/32"], &[]),
        policy(&["127.0.0.0/8"], &[]),
    )
    .await;
}

#[tokio::test]
async fn the_requests_policy_overrides_the_configured_one() {
    let dns = start_dns().await;
    let port = loopback_responder().await;
    let config = config(&dns, port);
    let mut refused = request(
        Identifier::dns("a.test").unwrap(),
        ChallengeType::Http01,
        TOKEN,
    );
    refused.egress = Some(EgressPolicy::default());
    let loopback_allowed = Validator::new(config.clone()).expect("validator builds");
    assert_refused(&loopback_allowed.validate(&refused).await, "127.0.0.1");

    let mut allowed = refused.clone();
    allowed.egress = Some(config.egress.clone());
    let refusing = with_policy(&config, EgressPolicy::default());
    assert_valid(&refusing.validate(&allowed).await);
    // The configured policy still applies to requests without one.
    refused.egress = None;
    assert_refused(&refusing.validate(&refused).await, "127.0.0.1");
}

#[tokio::test]
async fn another_hosts_body_is_never_quoted() {
    let dns = start_dns().await;
    let port = loopback_responder().await;
    let validator = Validator::new(config(&dns, port)).expect("validator builds");
    // a.test redirects to b.test, whose answer is not the key authorization.
    let outcome = http01(
        &validator,
        Identifier::dns("a.test").unwrap(),
        "othersecret_0123456789abcdefgh",
    )
    .await;
    assert_problem(
        &outcome,
        ProblemType::IncorrectResponse,
        &["http://b.test:", "not quoted"],
    );
    let detail = &outcome.problem.as_ref().expect("a problem").detail;
    assert!(!detail.contains(SECRET), "{detail}");

    // The identifier's own host still gets its wrong body quoted, to help its owner.
    let outcome = http01(
        &validator,
        Identifier::dns("a.test").unwrap(),
        "wrong_0123456789abcdefghijk",
    )
    .await;
    assert_problem(
        &outcome,
        ProblemType::IncorrectResponse,
        &["this is not the key authorization"],
    );
}
