//! What is validated and how: the challenges each identifier gets, IP identifiers (RFC 8738)
//! and CAA (RFC 8659) at validation and again at finalize.

use axum::http::StatusCode;
use basalt_testkit::dns::CaaRecord;
use serde_json::json;

use crate::support::{Client, Options, TestCa, url};

fn challenge_types(authz: &serde_json::Value) -> Vec<String> {
    authz["challenges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap().to_owned())
        .collect()
}

fn forbid(ca: &TestCa, name: &str) {
    ca.dns.records().set_caa(
        name,
        vec![CaaRecord {
            flags: 0,
            tag: "issue".into(),
            value: "other-ca.example".into(),
        }],
    );
}

#[tokio::test]
async fn dns_names_get_three_challenges_and_ip_addresses_two() {
    let ca = TestCa::start_allowing_reserved().await;
    let client = Client::register(&ca).await;
    let (_, order) = client.order(&ca, &["three.test"]).await;
    let authz = client
        .post(&ca, order["authorizations"][0].as_str().unwrap(), None)
        .await
        .json();
    assert_eq!(
        challenge_types(&authz),
        ["http-01", "dns-01", "tls-alpn-01"]
    );

    let reply = client.post(&ca, &url("/new-order"), Some(json!({"identifiers": [{"type": "ip", "value": "127.0.0.1"}, {"type": "ip", "value": "::1"}]}))).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let order = reply.json();
    assert_eq!(
        order["identifiers"][1],
        json!({"type": "ip", "value": "::1"})
    );
    let authz = client
        .post(&ca, order["authorizations"][0].as_str().unwrap(), None)
        .await
        .json();
    assert_eq!(
        authz["identifier"],
        json!({"type": "ip", "value": "127.0.0.1"})
    );
    assert_eq!(challenge_types(&authz), ["http-01", "tls-alpn-01"]);
}

#[tokio::test]
async fn bad_ip_identifiers_are_reported_per_identifier() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    let reply = client
        .post(
            &ca,
            &url("/new-order"),
            Some(json!({"identifiers": [
                {"type": "ip", "value": "fe80::1%eth0"},
                {"type": "ip", "value": "a.test"},
                {"type": "dns", "value": "::1"},
            ]})),
        )
        .await;
    let problem = reply.assert_problem("malformed", 400);
    assert_eq!(problem["subproblems"].as_array().unwrap().len(), 3);
    assert_eq!(client.stored_orders(&ca).await, 0, "nothing stored");
}

#[tokio::test]
async fn an_ip_address_certificate_via_http01() {
    let ca = TestCa::start_allowing_reserved().await;
    let client = Client::register(&ca).await;
    let reply = client
        .post(
            &ca,
            &url("/new-order"),
            Some(json!({"identifiers": [{"type": "ip", "value": "127.0.0.1"}]})),
        )
        .await;
    let order_url = reply.header("location").unwrap();
    let order = reply.json();
    client.authorize(&ca, &order_url, &order).await;
    let reply = client.finalize(&ca, &order, &["127.0.0.1"]).await;
    reply.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn caa_that_forbids_basalt_fails_the_validation() {
    let ca = TestCa::start().await;
    forbid(&ca, "caa.test");
    let client = Client::register(&ca).await;
    let (order_url, order) = client.order(&ca, &["www.caa.test"]).await;
    let authz_url = order["authorizations"][0].as_str().unwrap();
    let challenge = client.answer_http01(&ca, authz_url).await;
    let challenge = client
        .poll_until(
            &ca,
            challenge["url"].as_str().unwrap(),
            &["valid", "invalid"],
        )
        .await;
    assert_eq!(challenge["status"], "invalid");
    assert_eq!(
        challenge["error"]["type"], "urn:ietf:params:acme:error:caa",
        "{challenge}"
    );
    assert!(
        challenge["error"]["detail"]
            .as_str()
            .unwrap()
            .contains("other-ca.example")
    );
    assert_eq!(
        client.post(&ca, &order_url, None).await.json()["status"],
        "invalid"
    );
}

#[tokio::test]
async fn caa_accounturi_must_name_the_account_url_the_client_used() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    let other = Client::register(&ca).await;
    ca.dns.records().set_caa(
        "bound.test",
        vec![CaaRecord {
            flags: 0,
            tag: "issue".into(),
            value: format!("basalt; accounturi={}", client.kid.as_deref().unwrap()),
        }],
    );
    client.issue(&ca, &["bound.test"]).await;
    let (order_url, order) = other.order(&ca, &["bound.test"]).await;
    other
        .answer_http01(&ca, order["authorizations"][0].as_str().unwrap())
        .await;
    let order = other
        .poll_until(&ca, &order_url, &["ready", "invalid"])
        .await;
    assert_eq!(order["status"], "invalid", "{order}");
}

#[tokio::test]
async fn caa_is_checked_again_at_finalize_after_eight_hours() {
    let clock = basalt_server::ManualClock::new(time::OffsetDateTime::now_utc());
    let ca = TestCa::start_with(Options {
        clock: Some(clock.clone()),
        ..Options::default()
    })
    .await;
    let client = Client::register(&ca).await;
    let (order_url, order) = client.order(&ca, &["late.test"]).await;
    client.authorize(&ca, &order_url, &order).await;
    forbid(&ca, "late.test");
    // Within 8 hours the earlier check stands.
    clock.advance(std::time::Duration::from_secs(7 * 3600));
    let (second_url, second) = client.order(&ca, &["late.test"]).await;
    assert_eq!(second["status"], "ready");
    clock.advance(std::time::Duration::from_secs(2 * 3600));
    client
        .finalize(&ca, &order, &["late.test"])
        .await
        .assert_problem("caa", 400);
    assert_eq!(
        client.post(&ca, &order_url, None).await.json()["status"],
        "ready",
        "nothing issued"
    );
    ca.dns.records().clear_caa("late.test");
    let reply = client.finalize(&ca, &second, &["late.test"]).await;
    reply.assert_status(StatusCode::OK);
    let _ = second_url;
}

/// Orders `name`, answers its http-01 challenge and waits for the result: the order URL and
/// the challenge as finally seen.
async fn http01_result(ca: &TestCa, client: &Client, name: &str) -> (String, serde_json::Value) {
    let (order_url, order) = client.order(ca, &[name]).await;
    let authz_url = order["authorizations"][0].as_str().unwrap();
    let challenge = client.answer_http01(ca, authz_url).await;
    let challenge_url = challenge["url"].as_str().unwrap();
    let challenge = client
        .poll_until(ca, challenge_url, &["valid", "invalid"])
        .await;
    (order_url, challenge)
}

/// Issue 12, defect 1: a DNS answer outside the directory's egress policy fails the challenge
/// with a `connection` problem saying the address is not allowed, and nothing is dialled.
/// The validator allows all of 127.0.0.0/8; the directory narrows it to 127.0.0.1, so this
/// also shows the directory's policy reaching the validation.
#[tokio::test]
async fn a_dns_answer_outside_the_egress_policy_fails_with_a_connection_problem() {
    let ca = TestCa::start_with(Options {
        directory_egress: Some(basalt_validation::EgressPolicy {
            allow: vec!["127.0.0.1/32".parse().unwrap()],
            deny: vec![],
        }),
        ..Options::default()
    })
    .await;
    let records = ca.dns.records();
    records.set_a("two.test", vec!["127.0.0.2".parse().unwrap()]);
    records.set_aaaa("two.test", vec![]);
    records.set_a("one.test", vec!["127.0.0.1".parse().unwrap()]);
    records.set_aaaa("one.test", vec![]);
    let client = Client::register(&ca).await;

    let (order_url, challenge) = http01_result(&ca, &client, "two.test").await;
    assert_eq!(challenge["status"], "invalid", "{challenge}");
    assert_eq!(
        challenge["error"]["type"], "urn:ietf:params:acme:error:connection",
        "{challenge}"
    );
    let detail = challenge["error"]["detail"].as_str().unwrap();
    assert!(
        detail.contains("127.0.0.2") && detail.contains("not allowed"),
        "{detail}"
    );
    assert!(
        challenge["validationRecord"][0]["addressUsed"].is_null(),
        "{challenge}"
    );
    assert_eq!(
        client.post(&ca, &order_url, None).await.json()["status"],
        "invalid"
    );

    // Control: in the same directory, a name answering the one allowed address validates.
    let (_, challenge) = http01_result(&ca, &client, "one.test").await;
    assert_eq!(challenge["status"], "valid", "{challenge}");
}
