//! The bounded validation queue (issue 12): names whose http-01 server accepts and never
//! answers hold their validation for the whole attempt timeout; one account may not fill
//! the queue with them, and when it is full a challenge POST is answered `rateLimited` with
//! `Retry-After` and its challenge stays `pending`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use basalt_server::ValidationQueueLimits;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::support::{Client, Options, TestCa, http01};

/// A loopback port that accepts connections and never answers; how many it accepted.
async fn black_hole() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(stream);
        }
    });
    (port, accepted)
}

/// A CA whose every http-01 fetch goes to a black hole, with a long attempt timeout.
async fn stalled_ca(queue: ValidationQueueLimits) -> (TestCa, Arc<AtomicUsize>) {
    let (port, accepted) = black_hole().await;
    let ca = TestCa::start_with(Options {
        http01_port: Some(port),
        attempt_timeout: Duration::from_secs(20),
        validation_queue: queue,
        ..Options::default()
    })
    .await;
    (ca, accepted)
}

/// Orders `names` (IPv4 only, so every fetch goes to the black hole) and returns the http-01
/// challenge of each authorization.
async fn challenges(ca: &TestCa, client: &Client, names: &[&str]) -> Vec<Value> {
    for name in names {
        ca.dns.records().set_aaaa(name, vec![]);
    }
    let (_, order) = client.order(ca, names).await;
    let mut out = Vec::new();
    for authz in order["authorizations"].as_array().unwrap() {
        let authz = client.post(ca, authz.as_str().unwrap(), None).await.json();
        out.push(http01(&authz));
    }
    out
}

async fn answer(ca: &TestCa, client: &Client, challenge: &Value) -> crate::support::Reply {
    client
        .post(ca, challenge["url"].as_str().unwrap(), Some(json!({})))
        .await
}

#[track_caller]
fn assert_queue_full(reply: &crate::support::Reply) {
    reply.assert_problem("rateLimited", 429);
    let retry_after: u64 = reply
        .header("retry-after")
        .expect("a Retry-After header (RFC 8555 §6.6)")
        .parse()
        .unwrap();
    assert!(retry_after > 0);
    assert!(reply.header("replay-nonce").is_some(), "a fresh nonce");
}

async fn status_of(ca: &TestCa, client: &Client, challenge: &Value) -> Value {
    let reply = client
        .post(ca, challenge["url"].as_str().unwrap(), None)
        .await;
    reply.assert_status(StatusCode::OK);
    reply.json()["status"].clone()
}

#[tokio::test]
async fn an_account_over_its_share_is_rate_limited_and_others_are_still_served() {
    let (ca, _) = stalled_ca(ValidationQueueLimits {
        total: 2,
        per_account: 1,
    })
    .await;
    let greedy = Client::register(&ca).await;
    let polite = Client::register(&ca).await;
    let latecomer = Client::register(&ca).await;
    let greedy_challenges = challenges(&ca, &greedy, &["hole1.test", "hole2.test"]).await;
    let polite_challenges = challenges(&ca, &polite, &["polite.test"]).await;
    let late_challenges = challenges(&ca, &latecomer, &["late.test"]).await;

    let first = answer(&ca, &greedy, &greedy_challenges[0]).await;
    first.assert_status(StatusCode::OK);
    assert_eq!(first.json()["status"], "processing");

    let second = answer(&ca, &greedy, &greedy_challenges[1]).await;
    assert_queue_full(&second);
    assert!(
        second.json()["detail"]
            .as_str()
            .unwrap()
            .contains("this account")
    );
    assert_eq!(
        status_of(&ca, &greedy, &greedy_challenges[1]).await,
        "pending",
        "a refused challenge is left as it was"
    );

    // Another account still gets its validation started.
    let served = answer(&ca, &polite, &polite_challenges[0]).await;
    served.assert_status(StatusCode::OK);
    assert_eq!(served.json()["status"], "processing");

    // Now the whole queue (2) is taken.
    let refused = answer(&ca, &latecomer, &late_challenges[0]).await;
    assert_queue_full(&refused);
    assert!(
        refused.json()["detail"]
            .as_str()
            .unwrap()
            .contains("server")
    );
    assert_eq!(
        status_of(&ca, &latecomer, &late_challenges[0]).await,
        "pending"
    );
}

#[tokio::test]
async fn the_orphan_sweep_claims_no_more_jobs_than_the_queue_has_places() {
    let (ca, accepted) = stalled_ca(ValidationQueueLimits {
        total: 2,
        per_account: 10,
    })
    .await;
    let client = Client::register(&ca).await;
    let orphans = challenges(&ca, &client, &["o1.test", "o2.test", "o3.test"]).await;
    // Started by "another replica" that never claimed them: only the sweep picks them up.
    let account_uri = client.kid.clone().unwrap();
    for challenge in &orphans {
        let id: i64 = crate::support::last_segment(challenge["url"].as_str().unwrap())
            .parse()
            .unwrap();
        assert!(
            ca.store
                .start_challenge(id, &account_uri, time::OffsetDateTime::now_utc())
                .await
                .unwrap()
        );
    }
    // The sweep runs every 2 s; the jobs it takes each dial the black hole once.
    for _ in 0..100 {
        if accepted.load(Ordering::SeqCst) >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 2, "two jobs were swept");

    // The swept jobs hold both places: a new challenge POST finds the queue full.
    let other = Client::register(&ca).await;
    let fresh = challenges(&ca, &other, &["fresh.test"]).await;
    assert_queue_full(&answer(&ca, &other, &fresh[0]).await);
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        2,
        "the third orphan waits for a free place"
    );
}
