//! dns-01 (RFC 8555 §8.4) against the test DNS server.

use std::net::{IpAddr, Ipv4Addr};

use basalt_protocol::{ChallengeType, Identifier, ProblemType};
use basalt_validation::{ValidationOutcome, Validator};

use super::{assert_problem, assert_valid, config, key_authorization, request, start_dns};

const TOKEN: &str = "dns01_0123456789abcdefghijk";

fn expected() -> String {
    key_authorization(TOKEN).dns01_txt_value()
}

async fn validate(validator: &Validator, name: &str) -> ValidationOutcome {
    validator
        .validate(&request(
            Identifier::dns(name).unwrap(),
            ChallengeType::Dns01,
            TOKEN,
        ))
        .await
}

#[tokio::test]
async fn the_right_txt_among_several_validates() {
    let dns = start_dns().await;
    dns.records().set_txt(
        "_acme-challenge.a.test",
        vec!["another challenge".into(), expected(), "v=spf1 -all".into()],
    );
    let validator = Validator::new(config(&dns, 1)).unwrap();
    let outcome = validate(&validator, "a.test").await;
    assert_valid(&outcome);
    let [record] = outcome.records.as_slice() else {
        panic!("one record expected: {:?}", outcome.records);
    };
    assert_eq!(record.hostname, "_acme-challenge.a.test");
    assert_eq!(record.url, None);
    assert_eq!(
        record.resolver_answers.len(),
        3,
        "{:?}",
        record.resolver_answers
    );
}

#[tokio::test]
async fn a_wildcard_is_validated_at_its_base_name() {
    let dns = start_dns().await;
    dns.records().add_txt("_acme-challenge.w.test", expected());
    let validator = Validator::new(config(&dns, 1)).unwrap();
    assert_valid(&validate(&validator, "*.w.test").await);
}

#[tokio::test]
async fn a_wrong_value_is_unauthorized_and_counts_what_was_found() {
    let dns = start_dns().await;
    // Over 255 bytes: sent as several character-strings, still one record.
    let long = "z".repeat(300);
    dns.records()
        .set_txt("_acme-challenge.a.test", vec!["stale-value".into(), long]);
    let validator = Validator::new(config(&dns, 1)).unwrap();
    let outcome = validate(&validator, "a.test").await;
    assert_problem(
        &outcome,
        ProblemType::Unauthorized,
        &[
            "_acme-challenge.a.test",
            "2 TXT records found",
            "\"stale-value\"",
            &expected(),
        ],
    );
}

#[tokio::test]
async fn no_txt_record_is_unauthorized() {
    let dns = start_dns().await;
    let validator = Validator::new(config(&dns, 1)).unwrap();
    let outcome = validate(&validator, "a.test").await;
    assert_problem(
        &outcome,
        ProblemType::Unauthorized,
        &["no TXT record found at _acme-challenge.a.test", "0 records"],
    );
}

#[tokio::test]
async fn a_cname_delegation_is_followed() {
    let dns = start_dns().await;
    let records = dns.records();
    records.set_cname("_acme-challenge.a.test", "x.validation.test");
    records.set_txt("x.validation.test", vec![expected()]);
    let validator = Validator::new(config(&dns, 1)).unwrap();
    let outcome = validate(&validator, "a.test").await;
    assert_valid(&outcome);
    let answers = &outcome.records[0].resolver_answers;
    assert!(answers.iter().any(|a| a.contains("CNAME")), "{answers:?}");

    // The TXT must be at the target: the same value elsewhere does not count.
    records.clear_txt("x.validation.test");
    records.set_txt("_acme-challenge.b.test", vec![expected()]);
    let outcome = validate(&validator, "a.test").await;
    assert_problem(
        &outcome,
        ProblemType::Unauthorized,
        &["no TXT record found"],
    );
}

#[tokio::test]
async fn nxdomain_servfail_and_timeout_are_dns_problems() {
    let dns = start_dns().await;
    let records = dns.records();
    records.set_nxdomain("_acme-challenge.gone.test", true);
    records.set_servfail("_acme-challenge.broken.test", true);
    records.set_timeout("_acme-challenge.silent.test", true);
    let validator = Validator::new(config(&dns, 1)).unwrap();

    let outcome = validate(&validator, "gone.test").await;
    assert_problem(
        &outcome,
        ProblemType::Dns,
        &[
            "no such domain",
            "NXDOMAIN looking up TXT for _acme-challenge.gone.test",
        ],
    );
    let outcome = validate(&validator, "broken.test").await;
    assert_problem(
        &outcome,
        ProblemType::Dns,
        &["SERVFAIL looking up TXT for _acme-challenge.broken.test"],
    );
    let outcome = validate(&validator, "silent.test").await;
    assert_problem(
        &outcome,
        ProblemType::Dns,
        &["timed out", "_acme-challenge.silent.test"],
    );
}

#[tokio::test]
async fn ip_identifiers_cannot_use_dns_01() {
    let dns = start_dns().await;
    let validator = Validator::new(config(&dns, 1)).unwrap();
    let outcome = validator
        .validate(&request(
            Identifier::ip(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            ChallengeType::Dns01,
            TOKEN,
        ))
        .await;
    assert_problem(&outcome, ProblemType::Malformed, &["RFC 8738", "127.0.0.1"]);
}
