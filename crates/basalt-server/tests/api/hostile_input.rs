//! Hostile input at the edge: every malformed request gets a problem document with a 4xx, a
//! fresh `Replay-Nonce`, and leaves the store unchanged (issue: hostile-input review).

use serde_json::json;

use crate::support::{Client, Reply, TestCa, url};

/// The problem type and status, with a fresh nonce beside it.
#[track_caller]
fn assert_refused(reply: &Reply, problem: &str, status: u16) {
    reply.assert_problem(problem, status);
    assert!(
        reply.header("replay-nonce").is_some(),
        "every answer to a POST carries a fresh nonce"
    );
}

/// notBefore/notAfter near year 9999 used to overflow the validity arithmetic and panic the
/// handler (the connection dropped with no answer).
#[tokio::test]
async fn far_future_validity_is_refused_not_a_panic() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    for (not_before, not_after) in [
        (Some("9999-12-31T23:59:59Z"), None),
        (None, Some("9999-12-31T23:59:59Z")),
        (Some("9999-12-31T23:59:59Z"), Some("9999-12-31T23:59:59Z")),
    ] {
        let mut payload = json!({"identifiers": [{"type": "dns", "value": "far.test"}]});
        if let Some(nb) = not_before {
            payload["notBefore"] = json!(nb);
        }
        if let Some(na) = not_after {
            payload["notAfter"] = json!(na);
        }
        let reply = client.post(&ca, &url("/new-order"), Some(payload)).await;
        assert_refused(&reply, "malformed", 400);
    }
    assert_eq!(client.stored_orders(&ca).await, 0, "nothing stored");
}

/// serde reads a JSON array into a struct's fields in order; an ACME payload is an object.
#[tokio::test]
async fn a_json_array_payload_is_malformed() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    let reply = client
        .post(
            &ca,
            &url("/new-order"),
            Some(json!([[{"type": "dns", "value": "array.test"}]])),
        )
        .await;
    assert_refused(&reply, "malformed", 400);
    assert_eq!(client.stored_orders(&ca).await, 0, "nothing stored");
}

/// axum's own path and query rejections answered `400 text/plain`.
#[tokio::test]
async fn bad_path_ids_and_query_strings_get_problem_documents() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    for path in [
        "/order/abc",
        "/authz/-x",
        "/challenge/1.5",
        "/account/99999999999999999999",
    ] {
        let reply = client.post(&ca, &url(path), None).await;
        assert_refused(&reply, "malformed", 404);
    }
    let orders = format!(
        "{}?cursor=not-a-number",
        url(&format!("/account/{}/orders", client.account_id()))
    );
    let reply = client.post(&ca, &orders, None).await;
    assert_refused(&reply, "malformed", 400);
}

/// A uniqueness violation where no storage method expects one reaches the client as a
/// typed conflict phrased at the edge: never the driver's text, which quotes SQL.
#[tokio::test]
async fn an_unexpected_uniqueness_violation_shows_no_sql_text() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    client.order(&ca, &["first.test"]).await;
    // One order per account: the second newOrder breaks a rule the code never expects.
    ca.store
        .execute_for_test("CREATE UNIQUE INDEX test_one_order_each ON orders (account_id)")
        .await
        .unwrap();
    let reply = client
        .post(
            &ca,
            &url("/new-order"),
            Some(json!({"identifiers": [{"type": "dns", "value": "second.test"}]})),
        )
        .await;
    let problem = reply.assert_problem("malformed", 409);
    let detail = problem["detail"].as_str().unwrap().to_ascii_lowercase();
    for leak in [
        "unique",
        "constraint",
        "orders",
        "account_id",
        "sql",
        "index",
    ] {
        assert!(!detail.contains(leak), "driver text leaked: {detail}");
    }
    assert!(reply.header("replay-nonce").is_some());
    assert_eq!(client.stored_orders(&ca).await, 1, "nothing more stored");
}
