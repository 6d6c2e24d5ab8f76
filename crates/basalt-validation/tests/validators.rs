//! Integration tests of the validators against real loopback servers: an axum responder for
//! http-01 (plus a TLS one for HTTPS redirects) and basalt-testkit's DNS server for every
//! lookup.
//!
//! One test binary (link time and disk are scarce); the modules live under `tests/validators/`.

#[path = "validators/caa.rs"]
mod caa;
#[path = "validators/dns01.rs"]
mod dns01;
#[path = "validators/egress.rs"]
mod egress;
#[path = "validators/http01.rs"]
mod http01;
#[path = "validators/netns.rs"]
mod netns;
#[path = "validators/responder.rs"]
mod responder;
#[path = "validators/tls_alpn01.rs"]
mod tls_alpn01;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use basalt_protocol::{ChallengeType, Identifier, KeyAuthorization, ProblemType};
use basalt_testkit::dns::TestDns;
use basalt_validation::{
    EgressPolicy, ValidationConfig, ValidationOutcome, ValidationRequest, Validator,
};

/// The account key thumbprint every test key authorization uses.
const THUMBPRINT: &str = "9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";

/// A fresh DNS server on a free port, so tests run in parallel without sharing records.
async fn start_dns() -> TestDns {
    TestDns::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .expect("the test DNS server starts")
}

/// Short timeouts, so failing cases end quickly; loopback allowed, since every responder
/// listens there; everything else production-like.
fn config(dns: &TestDns, http01_port: u16) -> ValidationConfig {
    ValidationConfig {
        http01_port,
        resolvers: vec![dns.addr()],
        connect_timeout: Duration::from_millis(900),
        attempt_timeout: Duration::from_secs(3),
        egress: policy(&["127.0.0.0/8", "::1"], &[]),
        ..ValidationConfig::default()
    }
}

/// An egress policy from CIDR strings.
fn policy(allow: &[&str], deny: &[&str]) -> EgressPolicy {
    let parse = |ranges: &[&str]| {
        ranges
            .iter()
            .map(|range| range.parse().expect("a valid CIDR"))
            .collect()
    };
    EgressPolicy {
        allow: parse(allow),
        deny: parse(deny),
    }
}

fn key_authorization(token: &str) -> KeyAuthorization {
    KeyAuthorization::new(token, THUMBPRINT)
}

fn request(
    identifier: Identifier,
    challenge_type: ChallengeType,
    token: &str,
) -> ValidationRequest {
    ValidationRequest {
        identifier,
        challenge_type,
        token: token.to_owned(),
        key_authorization: key_authorization(token),
        wildcard: false,
        caa: None,
        egress: None,
    }
}

/// Asserts the outcome failed with `problem_type` and a detail containing each of `parts`.
#[track_caller]
fn assert_problem(outcome: &ValidationOutcome, problem_type: ProblemType, parts: &[&str]) {
    let problem = outcome.problem.as_ref().unwrap_or_else(|| {
        panic!("expected a {problem_type:?} problem, got a valid outcome: {outcome:?}")
    });
    assert_eq!(problem.problem_type, problem_type, "{problem:?}");
    for part in parts {
        assert!(
            problem.detail.contains(part),
            "detail {:?} does not contain {part:?}",
            problem.detail
        );
    }
    assert!(!outcome.is_valid());
}

#[track_caller]
fn assert_valid(outcome: &ValidationOutcome) {
    assert!(
        outcome.is_valid(),
        "expected a valid outcome, got {:?}",
        outcome.problem
    );
    assert!(outcome.problem.is_none());
}

#[test]
fn validator_is_cheap_to_share_and_builds_from_the_system_resolver() {
    fn shareable<T: Send + Sync + Clone + 'static>() {}
    shareable::<Validator>();
    // No resolvers configured: /etc/resolv.conf is read. Built outside any runtime.
    let validator = Validator::new(ValidationConfig::default()).expect("validator builds");
    assert_eq!(validator.config().http01_port, 80);
    assert!(validator.config().user_agent.starts_with("basalt/"));
}
