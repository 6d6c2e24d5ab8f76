//! CAA (RFC 8659, RFC 8657) against the test DNS server, through `Validator::check_caa` and
//! after a successful http-01 validation.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use basalt_protocol::{ChallengeType, Identifier, Problem, ProblemType};
use basalt_testkit::dns::{CaaRecord, TestDns};
use basalt_validation::{CaaPolicy, Validator};

use super::responder::{Targets, serve_http};
use super::{assert_problem, assert_valid, config, request, start_dns};

const ACCOUNT: &str = "https://ca.test/acme/acct/1";

fn policy() -> CaaPolicy {
    CaaPolicy {
        identities: vec!["basalt".to_owned(), "basalt.example".to_owned()],
        account_uri: ACCOUNT.to_owned(),
    }
}

fn caa(flags: u8, tag: &str, value: &str) -> CaaRecord {
    CaaRecord {
        flags,
        tag: tag.to_owned(),
        value: value.to_owned(),
    }
}

fn issue(value: &str) -> CaaRecord {
    caa(0, "issue", value)
}

fn issuewild(value: &str) -> CaaRecord {
    caa(0, "issuewild", value)
}

/// A test DNS server and a validator using it.
async fn setup() -> (TestDns, Validator) {
    let dns = start_dns().await;
    let validator = Validator::new(config(&dns, 1)).expect("validator builds");
    (dns, validator)
}

/// `check_caa` for a non-wildcard http-01 request from [`ACCOUNT`].
async fn check(validator: &Validator, name: &str) -> Result<(), Problem> {
    check_with(validator, name, false, ChallengeType::Http01).await
}

async fn check_with(
    validator: &Validator,
    name: &str,
    wildcard: bool,
    method: ChallengeType,
) -> Result<(), Problem> {
    validator
        .check_caa(&Identifier::dns(name).unwrap(), wildcard, method, &policy())
        .await
}

/// Asserts a refusal of `problem_type` whose detail contains each of `parts`.
#[track_caller]
fn assert_refused(result: &Result<(), Problem>, problem_type: ProblemType, parts: &[&str]) {
    let problem = match result {
        Ok(()) => panic!("expected a {problem_type:?} problem, CAA allowed issuance"),
        Err(problem) => problem,
    };
    assert_eq!(problem.problem_type, problem_type, "{problem:?}");
    for part in parts {
        assert!(
            problem.detail.contains(part),
            "detail {:?} does not contain {part:?}",
            problem.detail
        );
    }
}

#[track_caller]
fn assert_allowed(result: &Result<(), Problem>) {
    if let Err(problem) = result {
        panic!("expected CAA to allow issuance, got {problem:?}");
    }
}

#[tokio::test]
async fn no_caa_record_anywhere_allows() {
    let (_dns, validator) = setup().await;
    assert_allowed(&check(&validator, "www.a.test").await);
}

#[tokio::test]
async fn an_issue_record_naming_this_ca_allows() {
    let (dns, validator) = setup().await;
    dns.records().set_caa("a.test", vec![issue("basalt")]);
    assert_allowed(&check(&validator, "a.test").await);
    // Either identity, compared without case.
    dns.records()
        .set_caa("a.test", vec![issue("Basalt.Example")]);
    assert_allowed(&check(&validator, "a.test").await);
}

#[tokio::test]
async fn an_issue_record_naming_another_ca_is_a_caa_problem() {
    let (dns, validator) = setup().await;
    dns.records().set_caa("a.test", vec![issue("other.ca")]);
    assert_refused(
        &check(&validator, "a.test").await,
        ProblemType::Caa,
        &[
            "CAA record for a.test (found at a.test)",
            "allow only other.ca",
            "this CA's identities are basalt, basalt.example",
        ],
    );
}

#[tokio::test]
async fn a_parent_record_applies_to_the_child() {
    let (dns, validator) = setup().await;
    dns.records().set_caa("a.test", vec![issue("other.ca")]);
    assert_refused(
        &check(&validator, "www.sub.a.test").await,
        ProblemType::Caa,
        &[
            "CAA record for www.sub.a.test (found at a.test)",
            "other.ca",
        ],
    );
    dns.records().set_caa("a.test", vec![issue("basalt")]);
    assert_allowed(&check(&validator, "www.sub.a.test").await);
}

#[tokio::test]
async fn an_empty_or_missing_child_climbs_to_a_forbidding_parent() {
    let (dns, validator) = setup().await;
    dns.records().set_caa("a.test", vec![issue("other.ca")]);
    // The child exists with an empty CAA set, the middle name does not exist at all.
    dns.records().set_caa("www.sub.a.test", Vec::new());
    dns.records().set_nxdomain("sub.a.test", true);
    assert_refused(
        &check(&validator, "www.sub.a.test").await,
        ProblemType::Caa,
        &["(found at a.test)"],
    );
}

#[tokio::test]
async fn a_child_set_overrides_its_parent() {
    let (dns, validator) = setup().await;
    dns.records().set_caa("a.test", vec![issue(";")]);
    dns.records().set_caa("www.a.test", vec![issue("basalt")]);
    assert_allowed(&check(&validator, "www.a.test").await);
    // And the other way round: a forbidding child under a permissive parent.
    dns.records().set_caa("a.test", vec![issue("basalt")]);
    dns.records().set_caa("www.a.test", vec![issue("other.ca")]);
    assert_refused(
        &check(&validator, "www.a.test").await,
        ProblemType::Caa,
        &["(found at www.a.test)"],
    );
    assert_allowed(&check(&validator, "a.test").await);
}

#[tokio::test]
async fn a_wildcard_uses_issuewild_when_present() {
    let (dns, validator) = setup().await;
    dns.records()
        .set_caa("w.test", vec![issue("basalt"), issuewild("other.ca")]);
    // Both forms of a wildcard: the flag, and the `*.` name.
    assert_refused(
        &check_with(&validator, "w.test", true, ChallengeType::Dns01).await,
        ProblemType::Caa,
        &[
            "CAA record for *.w.test (found at w.test)",
            "wildcard",
            "issuewild properties allow only other.ca",
        ],
    );
    assert_refused(
        &check_with(&validator, "*.w.test", false, ChallengeType::Dns01).await,
        ProblemType::Caa,
        &["issuewild"],
    );
    // The same set allows the name itself: issuewild only concerns wildcards.
    assert_allowed(&check_with(&validator, "w.test", false, ChallengeType::Dns01).await);
}

#[tokio::test]
async fn a_wildcard_falls_back_to_issue_without_issuewild() {
    let (dns, validator) = setup().await;
    dns.records().set_caa("w.test", vec![issue("basalt")]);
    assert_allowed(&check_with(&validator, "w.test", true, ChallengeType::Dns01).await);
    dns.records().set_caa("w.test", vec![issue("other.ca")]);
    assert_refused(
        &check_with(&validator, "w.test", true, ChallengeType::Dns01).await,
        ProblemType::Caa,
        &["issue properties allow only other.ca"],
    );
    // An issuewild naming this CA allows the wildcard even though issue forbids it.
    dns.records()
        .set_caa("w.test", vec![issue(";"), issuewild("basalt")]);
    assert_allowed(&check_with(&validator, "w.test", true, ChallengeType::Dns01).await);
}

#[tokio::test]
async fn a_critical_unknown_tag_forbids_issuance() {
    let (dns, validator) = setup().await;
    dns.records()
        .set_caa("a.test", vec![issue("basalt"), caa(128, "tbs", "unknown")]);
    assert_refused(
        &check(&validator, "a.test").await,
        ProblemType::Caa,
        &["(found at a.test)", "critical", "\"tbs\""],
    );
}

#[tokio::test]
async fn an_unknown_tag_that_is_not_critical_is_ignored() {
    let (dns, validator) = setup().await;
    dns.records()
        .set_caa("a.test", vec![caa(0, "tbs", "unknown"), issue("basalt")]);
    assert_allowed(&check(&validator, "a.test").await);
    // And it does not restrict issuance on its own either.
    dns.records()
        .set_caa("a.test", vec![caa(0, "tbs", "unknown")]);
    assert_allowed(&check(&validator, "a.test").await);
}

#[tokio::test]
async fn an_iodef_only_set_allows_and_stops_the_climb() {
    let (dns, validator) = setup().await;
    dns.records().set_caa("a.test", vec![issue("other.ca")]);
    dns.records().set_caa(
        "www.a.test",
        vec![caa(0, "iodef", "mailto:security@a.test")],
    );
    // The iodef set is the relevant one: the forbidding parent is never reached.
    assert_allowed(&check(&validator, "www.a.test").await);
}

#[tokio::test]
async fn an_empty_issuer_forbids_everyone() {
    let (dns, validator) = setup().await;
    dns.records().set_caa("a.test", vec![issue(";")]);
    assert_refused(
        &check(&validator, "a.test").await,
        ProblemType::Caa,
        &["(found at a.test)", "forbids all issuance"],
    );
}

#[tokio::test]
async fn a_malformed_issue_value_forbids_issuance() {
    let (dns, validator) = setup().await;
    // RFC 8659 §4.2's example.
    dns.records().set_caa("a.test", vec![issue("%%%%%")]);
    assert_refused(
        &check(&validator, "a.test").await,
        ProblemType::Caa,
        &["\"%%%%%\" is malformed"],
    );
}

#[tokio::test]
async fn accounturi_must_be_this_account() {
    let (dns, validator) = setup().await;
    dns.records().set_caa(
        "a.test",
        vec![issue(&format!("basalt; accounturi={ACCOUNT}"))],
    );
    assert_allowed(&check(&validator, "a.test").await);

    dns.records().set_caa(
        "a.test",
        vec![issue("basalt; accounturi=https://ca.test/acme/acct/2")],
    );
    assert_refused(
        &check(&validator, "a.test").await,
        ProblemType::Caa,
        &[
            "(found at a.test)",
            "requires accounturi https://ca.test/acme/acct/2",
            &format!("this request is from {ACCOUNT}"),
        ],
    );
}

#[tokio::test]
async fn validationmethods_must_list_the_method_used() {
    let (dns, validator) = setup().await;
    dns.records().set_caa(
        "a.test",
        vec![issue("basalt; validationmethods=dns-01,http-01")],
    );
    assert_allowed(&check_with(&validator, "a.test", false, ChallengeType::Http01).await);
    assert_allowed(&check_with(&validator, "a.test", false, ChallengeType::Dns01).await);
    assert_refused(
        &check_with(&validator, "a.test", false, ChallengeType::TlsAlpn01).await,
        ProblemType::Caa,
        &[
            "only the validation methods dns-01, http-01",
            "validated with tls-alpn-01",
        ],
    );

    dns.records()
        .set_caa("a.test", vec![issue("basalt; validationmethods=dns-01")]);
    assert_refused(
        &check_with(&validator, "a.test", false, ChallengeType::Http01).await,
        ProblemType::Caa,
        &["validated with http-01"],
    );
}

#[tokio::test]
async fn servfail_fails_closed_as_a_dns_problem() {
    let (dns, validator) = setup().await;
    dns.records().set_servfail("www.a.test", true);
    assert_refused(
        &check(&validator, "www.a.test").await,
        ProblemType::Dns,
        &["CAA lookup for www.a.test failed", "SERVFAIL", "www.a.test"],
    );
    // A failure higher up the tree fails the check too.
    dns.records().set_servfail("www.a.test", false);
    dns.records().set_servfail("a.test", true);
    assert_refused(
        &check(&validator, "www.a.test").await,
        ProblemType::Dns,
        &["CAA lookup for www.a.test failed", "SERVFAIL"],
    );
}

#[tokio::test]
async fn a_timeout_fails_closed_as_a_dns_problem() {
    let (dns, validator) = setup().await;
    dns.records().set_timeout("a.test", true);
    assert_refused(
        &check(&validator, "a.test").await,
        ProblemType::Dns,
        &["CAA lookup for a.test", "timed out"],
    );
}

#[tokio::test]
async fn a_cname_is_followed_to_its_targets_records() {
    let (dns, validator) = setup().await;
    dns.records().set_cname("www.a.test", "cdn.b.test");
    dns.records().set_caa("cdn.b.test", vec![issue("other.ca")]);
    assert_refused(
        &check(&validator, "www.a.test").await,
        ProblemType::Caa,
        &[
            "CAA record for www.a.test (found at www.a.test)",
            "other.ca",
        ],
    );
    // The target's set wins over the alias's parent.
    dns.records().set_caa("cdn.b.test", vec![issue("basalt")]);
    dns.records().set_caa("a.test", vec![issue("other.ca")]);
    assert_allowed(&check(&validator, "www.a.test").await);
}

#[tokio::test]
async fn an_empty_cname_target_climbs_the_aliases_tree_not_the_targets() {
    let (dns, validator) = setup().await;
    dns.records().set_cname("www.a.test", "cdn.b.test");
    // RFC 8659 no longer climbs from the target: b.test's record is not relevant.
    dns.records().set_caa("b.test", vec![issue("other.ca")]);
    assert_allowed(&check(&validator, "www.a.test").await);
    dns.records().set_caa("a.test", vec![issue("other.ca")]);
    assert_refused(
        &check(&validator, "www.a.test").await,
        ProblemType::Caa,
        &["(found at a.test)"],
    );
}

#[tokio::test]
async fn ip_identifiers_are_not_subject_to_caa() {
    let (dns, validator) = setup().await;
    // Nothing is looked up: were the address taken as a name, these would refuse.
    dns.records().set_servfail("127.0.0.1", true);
    dns.records().set_caa("1", vec![issue(";")]);
    dns.records().set_servfail("1.0.0.127.in-addr.arpa", true);
    let result = validator
        .check_caa(
            &Identifier::ip(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            false,
            ChallengeType::Http01,
            &policy(),
        )
        .await;
    assert_allowed(&result);
}

/// An http-01 responder and a validator pointing at it and at the test DNS.
async fn http01_setup() -> (TestDns, Validator) {
    let dns = start_dns().await;
    let http = serve_http(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        Targets::default(),
    )
    .await
    .expect("the responder starts");
    let validator = Validator::new(config(&dns, http.port())).expect("validator builds");
    (dns, validator)
}

fn http01_request(name: &str, token: &str) -> basalt_validation::ValidationRequest {
    let mut request = request(Identifier::dns(name).unwrap(), ChallengeType::Http01, token);
    request.caa = Some(policy());
    request
}

#[tokio::test]
async fn a_successful_challenge_refused_by_caa_is_invalid_and_keeps_its_records() {
    let (dns, validator) = http01_setup().await;
    dns.records().set_caa("a.test", vec![issue("other.ca")]);
    let request = http01_request("a.test", "good_caa0123456789abcdefgh");

    let outcome = validator.validate(&request).await;
    assert_problem(
        &outcome,
        ProblemType::Caa,
        &["CAA record for a.test (found at a.test)", "other.ca"],
    );
    let [record] = outcome.records.as_slice() else {
        panic!("the challenge's record is kept: {:?}", outcome.records);
    };
    assert_eq!(record.hostname, "a.test");
    assert!(record.url.is_some());

    // The same challenge passes when CAA allows, or is not checked.
    dns.records().set_caa("a.test", vec![issue("basalt")]);
    assert_valid(&validator.validate(&request).await);
    dns.records().set_caa("a.test", vec![issue("other.ca")]);
    let unchecked = basalt_validation::ValidationRequest {
        caa: None,
        ..request.clone()
    };
    assert_valid(&validator.validate(&unchecked).await);
}

#[tokio::test]
async fn a_caa_lookup_failure_after_a_successful_challenge_is_a_dns_problem() {
    let (dns, validator) = http01_setup().await;
    // The address lookups of a.test still work; only its CAA lookup fails.
    dns.records().set_servfail("test", true);
    let outcome = validator
        .validate(&http01_request("a.test", "good_caa0123456789abcdefgi"))
        .await;
    assert_problem(
        &outcome,
        ProblemType::Dns,
        &["CAA lookup for a.test failed", "SERVFAIL"],
    );
    assert_eq!(outcome.records.len(), 1, "{:?}", outcome.records);
}

#[tokio::test]
async fn a_failed_challenge_keeps_its_own_problem() {
    let (dns, validator) = http01_setup().await;
    dns.records().set_caa("a.test", vec![issue("other.ca")]);
    let outcome = validator
        .validate(&http01_request("a.test", "wrong_caa0123456789abcdefg"))
        .await;
    assert_problem(&outcome, ProblemType::IncorrectResponse, &["got"]);
}

#[tokio::test]
async fn a_wildcard_request_checks_issuewild() {
    let (dns, validator) = http01_setup().await;
    // http-01 is not offered for wildcards by the server, but the validator honours the flag.
    dns.records()
        .set_caa("a.test", vec![issue("basalt"), issuewild(";")]);
    let mut request = http01_request("a.test", "good_caa0123456789abcdefgj");
    assert_valid(&validator.validate(&request).await);
    request.wildcard = true;
    assert_problem(
        &validator.validate(&request).await,
        ProblemType::Caa,
        &["*.a.test", "issuewild \";\" property forbids all issuance"],
    );
}
