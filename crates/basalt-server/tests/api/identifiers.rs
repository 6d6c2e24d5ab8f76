//! Reserved and look-alike identifiers (issue 12, defect 5): loopback, link-local, multicast
//! and other special-purpose addresses and `localhost` names are refused unless the directory
//! allows them; invalid IDNA A-labels and names a URL parser reads as IPv4 always are.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::support::{Client, TestCa, url};

async fn new_order(
    ca: &TestCa,
    client: &Client,
    identifiers: &[(&str, &str)],
) -> crate::support::Reply {
    let identifiers: Vec<Value> = identifiers
        .iter()
        .map(|(t, v)| json!({"type": t, "value": v}))
        .collect();
    client
        .post(
            ca,
            &url("/new-order"),
            Some(json!({"identifiers": identifiers})),
        )
        .await
}

/// Asserts a `rejectedIdentifier` problem with one subproblem per identifier, each of that
/// type, naming the identifier and containing `why`; and that no order was stored.
async fn assert_rejected_each(
    ca: &TestCa,
    reply: crate::support::Reply,
    cases: &[(&str, &str, &str)],
) {
    let problem = reply.assert_problem("rejectedIdentifier", 400);
    let subproblems = problem["subproblems"].as_array().unwrap();
    assert_eq!(subproblems.len(), cases.len(), "{problem}");
    for (sub, (kind, value, why)) in subproblems.iter().zip(cases) {
        assert_eq!(
            sub["type"], "urn:ietf:params:acme:error:rejectedIdentifier",
            "{sub}"
        );
        assert_eq!(
            sub["identifier"],
            json!({"type": kind, "value": value}),
            "{sub}"
        );
        let detail = sub["detail"].as_str().unwrap();
        assert!(detail.contains(why), "{value}: {detail}");
    }
    assert!(
        ca.store.order(1).await.unwrap().is_none(),
        "an order was stored"
    );
}

const RESERVED: [(&str, &str, &str); 16] = [
    ("ip", "0.0.0.0", "this network"),
    ("ip", "127.0.0.1", "loopback"),
    ("ip", "127.8.9.10", "loopback"),
    ("ip", "169.254.169.254", "link-local"),
    ("ip", "224.0.0.251", "multicast"),
    ("ip", "240.1.2.3", "reserved"),
    ("ip", "255.255.255.255", "broadcast"),
    ("ip", "::", "unspecified"),
    ("ip", "::1", "loopback"),
    ("ip", "fe80::1", "link-local"),
    ("ip", "ff02::1", "multicast"),
    ("ip", "::ffff:127.0.0.1", "loopback"),
    ("ip", "::ffff:169.254.169.254", "link-local"),
    ("dns", "localhost", "RFC 6761"),
    ("dns", "app.localhost", "RFC 6761"),
    ("dns", "*.app.localhost", "RFC 6761"),
];

/// By default every reserved identifier is refused, each in its own subproblem, alone or
/// beside an acceptable one, and nothing is stored.
#[tokio::test]
async fn reserved_identifiers_are_rejected_by_default() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    for case @ (kind, value, _) in RESERVED {
        let reply = new_order(&ca, &client, &[(kind, value)]).await;
        assert_rejected_each(&ca, reply, &[case]).await;
    }
    let mut all: Vec<(&str, &str)> = RESERVED.iter().map(|(k, v, _)| (*k, *v)).collect();
    all.push(("dns", "fine.test"));
    all.push(("ip", "10.1.2.3"));
    let reply = new_order(&ca, &client, &all).await;
    assert_rejected_each(&ca, reply, &RESERVED).await;
    // Private and ordinary identifiers are unaffected.
    let reply = new_order(
        &ca,
        &client,
        &[("ip", "10.1.2.3"), ("ip", "fd00::1"), ("dns", "fine.test")],
    )
    .await;
    reply.assert_status(StatusCode::CREATED);
}

/// A directory configured with `allow_reserved_identifiers` (test set-ups) takes them.
#[tokio::test]
async fn a_directory_may_allow_reserved_identifiers() {
    let ca = TestCa::start_allowing_reserved().await;
    let client = Client::register(&ca).await;
    let all: Vec<(&str, &str)> = RESERVED.iter().map(|(k, v, _)| (*k, *v)).collect();
    let reply = new_order(&ca, &client, &all).await;
    reply.assert_status(StatusCode::CREATED);
    assert_eq!(
        reply.json()["identifiers"].as_array().unwrap().len(),
        RESERVED.len()
    );
}

/// Names that are not what they seem are refused whatever the directory allows: a URL
/// parser turns these into IPv4 addresses (WHATWG "ends in a number"), and these `xn--`
/// labels are not A-labels of any valid U-label.
#[tokio::test]
async fn numeric_looking_names_and_invalid_a_labels_are_always_rejected() {
    let ca = TestCa::start_allowing_reserved().await;
    let client = Client::register(&ca).await;
    let cases = [
        ("dns", "0x7f000001", "IPv4"),
        ("dns", "2130706433", "IPv4"),
        ("dns", "127.1", "IPv4"),
        ("dns", "a.0xa9fea9fe", "IPv4"),
        ("dns", "xn--a.test", "A-label"),
        ("dns", "xn--ber-ska.test", "A-label"),
    ];
    let identifiers: Vec<(&str, &str)> = cases.iter().map(|(k, v, _)| (*k, *v)).collect();
    let reply = new_order(&ca, &client, &identifiers).await;
    assert_rejected_each(&ca, reply, &cases).await;
    // A valid A-label is an ordinary name.
    new_order(&ca, &client, &[("dns", "xn--bcher-kva.test")])
        .await
        .assert_status(StatusCode::CREATED);
}
