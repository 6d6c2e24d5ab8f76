//! The account cache (`account_cache.rs`): `kid` requests are served from it, another
//! replica's change is seen within the TTL, and this server's own changes apply to the very
//! next request although the account was cached.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::json;
use time::OffsetDateTime;

use basalt_server::ManualClock;

use crate::accounts::key_change;
use crate::support::{Client, Options, TestCa, url};

/// The TTL the test server runs with (`support.rs`, the default `server.account_cache_ttl`).
const TTL: Duration = Duration::from_secs(5);

/// A server whose clock only moves when the test says (so cache entries never expire on
/// their own during a test) and a registered client whose account the server has cached;
/// returns the client's account URL too.
async fn start_with_a_cached_account() -> (TestCa, ManualClock, Client, String) {
    let clock = ManualClock::new(OffsetDateTime::now_utc());
    let ca = TestCa::start_with(Options {
        clock: Some(clock.clone()),
        ..Options::default()
    })
    .await;
    let client = Client::register(&ca).await;
    let kid = client.kid.clone().unwrap();
    cache_and_change_behind_the_servers_back(&ca, &client, &kid).await;
    (ca, clock, client, kid)
}

/// Fetches the account and changes its contact behind the server's back, as another
/// replica would; the server still answers from its cache, which proves the account is
/// cached.
async fn cache_and_change_behind_the_servers_back(ca: &TestCa, client: &Client, kid: &str) {
    let fetched = client.post(ca, kid, None).await;
    fetched.assert_status(StatusCode::OK);
    let shown = fetched.json()["contact"].clone();
    ca.store
        .update_account_contact(
            client.account_id(),
            &["mailto:elsewhere@example.org".into()],
        )
        .await
        .unwrap();
    let cached = client.post(ca, kid, None).await;
    cached.assert_status(StatusCode::OK);
    assert_eq!(cached.json()["contact"], shown, "served from the cache");
}

#[tokio::test]
async fn another_replicas_change_is_seen_once_the_entry_expires() {
    let (ca, clock, client, kid) = start_with_a_cached_account().await;

    clock.advance(TTL);
    let fetched = client.post(&ca, &kid, None).await;
    assert_eq!(
        fetched.json()["contact"],
        json!(["mailto:elsewhere@example.org"])
    );

    // Deactivated elsewhere (the fetch above cached the account again): still accepted here
    // within the TTL, the documented window; refused once the entry has expired.
    ca.store
        .deactivate_account(client.account_id(), OffsetDateTime::now_utc())
        .await
        .unwrap();
    client
        .post(&ca, &kid, None)
        .await
        .assert_status(StatusCode::OK);
    clock.advance(TTL);
    client
        .post(&ca, &kid, None)
        .await
        .assert_problem("unauthorized", 401);
}

/// RFC 8555 §7.3.6: once deactivated, the account's requests are refused (401), starting
/// with the very next one, although the valid account was cached.
#[tokio::test]
async fn deactivation_applies_to_the_next_request_although_cached() {
    let (ca, _clock, client, kid) = start_with_a_cached_account().await;

    let reply = client
        .post(&ca, &kid, Some(json!({"status": "deactivated"})))
        .await;
    reply.assert_status(StatusCode::OK);
    assert_eq!(reply.json()["status"], "deactivated");
    client
        .post(&ca, &kid, None)
        .await
        .assert_problem("unauthorized", 401);
    client
        .post(
            &ca,
            &url("/new-order"),
            Some(json!({"identifiers": [{"type": "dns", "value": "a.test"}]})),
        )
        .await
        .assert_problem("unauthorized", 401);
}

/// A contact update drops the cached account too: the next fetch shows the stored row.
#[tokio::test]
async fn a_contact_update_applies_to_the_next_request_although_cached() {
    let (ca, _clock, client, kid) = start_with_a_cached_account().await;

    let contact = json!(["mailto:updated@example.org"]);
    let update = json!({ "contact": contact });
    client
        .post(&ca, &kid, Some(update))
        .await
        .assert_status(StatusCode::OK);
    let fetched = client.post(&ca, &kid, None).await;
    assert_eq!(fetched.json()["contact"], contact);
}

/// RFC 8555 §7.3.5: after a key rollover the old key no longer signs for the account, from
/// the very next request, although the account and its old key were cached.
#[tokio::test]
async fn key_rollover_applies_to_the_next_request_although_cached() {
    let (ca, _clock, old, kid) = start_with_a_cached_account().await;

    let new = Client::new();
    let old_key = serde_json::to_value(old.public.as_ref()).unwrap();
    let reply = key_change(
        &ca,
        &old,
        &new,
        json!({"account": kid, "oldKey": old_key}),
        &url("/key-change"),
        false,
    )
    .await;
    reply.assert_status(StatusCode::OK);

    // The old key's signature no longer verifies against the account's key (RFC 8555 §6.2).
    old.post(&ca, &kid, None)
        .await
        .assert_problem("malformed", 400);
    let new = new.same_key(Some(kid.clone()));
    new.post(&ca, &kid, None)
        .await
        .assert_status(StatusCode::OK);
}
