//! Nothing that matters lives only in one process: after a restart a pending order can be
//! finished, old nonces still work once, and a validation job nobody claimed is picked up
//! from the database.

use axum::http::StatusCode;
use serde_json::json;

use crate::support::{Auth, Client, TestCa, http01, last_segment, url};

#[tokio::test]
async fn a_pending_order_is_finished_after_a_restart() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    let (order_url, order) = client.order(&ca, &["restart.test"]).await;
    let nonce = ca.nonce().await;

    let ca = ca.restart().await;
    // A nonce issued before the restart is still redeemable (the key is in the database).
    let body = client.sign(
        &order_url,
        b"",
        Some(&nonce),
        Auth::Kid(client.kid.as_deref().unwrap()),
    );
    let reply = ca.post_raw(&order_url, body, "application/jose+json").await;
    reply.assert_status(StatusCode::OK);
    assert_eq!(reply.json()["status"], "pending");

    client.authorize(&ca, &order_url, &order).await;
    let reply = client.finalize(&ca, &order, &["restart.test"]).await;
    reply.assert_status(StatusCode::OK);
    assert_eq!(reply.json()["status"], "valid");
}

#[tokio::test]
async fn an_unclaimed_validation_job_is_picked_up_from_the_database() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    let (order_url, order) = client.order(&ca, &["orphan.test"]).await;
    let authz = client
        .post(&ca, order["authorizations"][0].as_str().unwrap(), None)
        .await
        .json();
    let challenge = http01(&authz);
    let token = challenge["token"].as_str().unwrap();
    ca.responses
        .lock()
        .unwrap()
        .insert(token.to_owned(), format!("{token}.{}", client.thumbprint()));
    // As if a replica committed the challenge POST and died before validating: the job is
    // only in the database, no process was told about it.
    let id: i64 = last_segment(challenge["url"].as_str().unwrap())
        .parse()
        .unwrap();
    assert!(
        ca.store
            .start_challenge(
                id,
                client.kid.as_deref().unwrap(),
                time::OffsetDateTime::now_utc()
            )
            .await
            .unwrap()
    );
    let ca = ca.restart().await;
    let order = client
        .poll_until(&ca, &order_url, &["ready", "invalid"])
        .await;
    assert_eq!(order["status"], "ready", "{order}");
    let _ = url;
    let _ = json!({});
}
