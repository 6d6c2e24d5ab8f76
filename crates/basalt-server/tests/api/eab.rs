//! External Account Binding (RFC 8555 §7.3.4) at newAccount: each mode, the good binding,
//! and every refusal with its exact problem and nothing stored.

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use time::OffsetDateTime;

use basalt_server::{DirectoryConfig, EabMode};
use basalt_storage::{AccountFilter, NewEabKey};

use crate::support::{Auth, Client, Options, TestCa, url};

fn required(area: DirectoryConfig) -> DirectoryConfig {
    DirectoryConfig {
        external_account_binding: EabMode::Required,
        ..area
    }
}

fn optional(area: DirectoryConfig) -> DirectoryConfig {
    DirectoryConfig {
        external_account_binding: EabMode::Optional,
        ..area
    }
}

async fn start(area: fn(DirectoryConfig) -> DirectoryConfig) -> TestCa {
    TestCa::start_with(Options {
        area,
        ..Options::default()
    })
    .await
}

/// A key as `basalt eab create` stores it; returns the MAC key's bytes.
struct Key {
    kid: String,
    mac: Vec<u8>,
}

async fn create_key(ca: &TestCa, kid: &str, change: impl FnOnce(&mut NewEabKey)) -> Key {
    let mac: Vec<u8> = (0..32u8)
        .map(|i| i.wrapping_mul(7).wrapping_add(kid.len() as u8))
        .collect();
    let mut new = NewEabKey {
        kid: kid.into(),
        directory: "default".into(),
        hmac_key: URL_SAFE_NO_PAD.encode(&mac),
        reusable: false,
        note: None,
        created_at: OffsetDateTime::now_utc(),
        expires_at: None,
    };
    change(&mut new);
    ca.store.create_eab_key(&new).await.unwrap();
    Key {
        kid: kid.into(),
        mac,
    }
}

/// A binding as clients build it: `header` protected, `payload` the key JSON, HMAC-SHA256.
fn binding_with(header: Value, payload: &Value, mac: &[u8]) -> Value {
    binding_hashed(header, payload, mac, ring::hmac::HMAC_SHA256)
}

/// [`binding_with`] with the MAC's hash chosen.
fn binding_hashed(
    header: Value,
    payload: &Value,
    mac: &[u8],
    hash: ring::hmac::Algorithm,
) -> Value {
    let protected = URL_SAFE_NO_PAD.encode(header.to_string());
    let payload = URL_SAFE_NO_PAD.encode(payload.to_string());
    let tag = ring::hmac::sign(
        &ring::hmac::Key::new(hash, mac),
        format!("{protected}.{payload}").as_bytes(),
    );
    json!({"protected": protected, "payload": payload, "signature": URL_SAFE_NO_PAD.encode(tag.as_ref())})
}

fn public(client: &Client) -> Value {
    serde_json::to_value(client.public.as_ref()).unwrap()
}

/// The binding a correct client sends for `key`.
fn binding(client: &Client, key: &Key) -> Value {
    binding_with(
        json!({"alg": "HS256", "kid": key.kid, "url": url("/new-account")}),
        &public(client),
        &key.mac,
    )
}

async fn register(ca: &TestCa, client: &Client, binding: Option<Value>) -> crate::support::Reply {
    let mut payload = json!({"termsOfServiceAgreed": true});
    if let Some(binding) = binding {
        payload["externalAccountBinding"] = binding;
    }
    client.post(ca, &url("/new-account"), Some(payload)).await
}

async fn accounts(ca: &TestCa) -> usize {
    ca.store
        .list_accounts(&AccountFilter::default())
        .await
        .unwrap()
        .len()
}

async fn bound(ca: &TestCa, kid: &str) -> i64 {
    ca.store
        .eab_key(kid)
        .await
        .unwrap()
        .unwrap()
        .key
        .accounts_bound
}

/// Asserts the refusal and that no account was stored.
#[track_caller]
fn refused(reply: &crate::support::Reply, problem: &str, status: u16, detail: &str) {
    let body = reply.assert_problem(problem, status);
    let text = body["detail"].as_str().unwrap();
    assert!(
        text.contains(detail),
        "detail {text:?} should say {detail:?}"
    );
}

#[tokio::test]
async fn the_directory_says_whether_a_binding_is_required() {
    for (area, expected) in [
        (required as fn(_) -> _, true),
        (optional as fn(_) -> _, false),
        ((|a| a) as fn(_) -> _, false),
    ] {
        let ca = start(area).await;
        let directory = ca.get("/acme/default/directory").await.json();
        assert_eq!(directory["meta"]["externalAccountRequired"], expected);
    }
}

#[tokio::test]
async fn a_good_binding_registers_and_records_its_kid() {
    let ca = start(required).await;
    let key = create_key(&ca, "good-kid", |_| {}).await;
    let client = Client::new();
    let reply = register(&ca, &client, Some(binding(&client, &key))).await;
    reply.assert_status(StatusCode::CREATED);
    let id: i64 = crate::support::last_segment(&reply.header("location").unwrap())
        .parse()
        .unwrap();
    let account = ca.store.account(id).await.unwrap().unwrap();
    assert_eq!(account.eab_kid.as_deref(), Some("good-kid"));
    assert_eq!(bound(&ca, "good-kid").await, 1);
    // RFC 8555 §7.3.1: the key's existing account is returned, binding or not.
    register(&ca, &client, None)
        .await
        .assert_status(StatusCode::OK);
    register(&ca, &client, Some(binding(&client, &key)))
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(accounts(&ca).await, 1);
    assert_eq!(bound(&ca, "good-kid").await, 1);
}

#[tokio::test]
async fn hs512_bindings_work() {
    let ca = start(required).await;
    let key = create_key(&ca, "hs512", |_| {}).await;
    let client = Client::new();
    let value = binding_hashed(
        json!({"alg": "HS512", "kid": key.kid, "url": url("/new-account")}),
        &public(&client),
        &key.mac,
        ring::hmac::HMAC_SHA512,
    );
    register(&ca, &client, Some(value))
        .await
        .assert_status(StatusCode::CREATED);
}

#[tokio::test]
async fn no_binding_in_a_required_area_is_external_account_required() {
    let ca = start(required).await;
    let reply = register(&ca, &Client::new(), None).await;
    refused(
        &reply,
        "externalAccountRequired",
        403,
        "requires an External Account Binding",
    );
    assert_eq!(accounts(&ca).await, 0);
}

#[tokio::test]
async fn refusals_by_the_key_state_are_unauthorized() {
    let ca = start(required).await;
    let wrong_mac = create_key(&ca, "wrong-mac", |_| {}).await;
    let revoked = create_key(&ca, "revoked", |k| k.reusable = true).await;
    ca.store
        .revoke_eab_key("revoked", OffsetDateTime::now_utc())
        .await
        .unwrap();
    let expired = create_key(&ca, "expired", |k| {
        k.expires_at = Some(OffsetDateTime::now_utc() - time::Duration::hours(1));
    })
    .await;
    let foreign = create_key(&ca, "foreign", |k| k.directory = "other".into()).await;
    let unknown = Key {
        kid: "unknown".into(),
        mac: vec![1; 32],
    };
    let client = Client::new();
    let bad_mac = binding_with(
        json!({"alg": "HS256", "kid": wrong_mac.kid, "url": url("/new-account")}),
        &public(&client),
        &[9; 32],
    );
    let cases = [
        (bad_mac, "MAC does not verify"),
        (binding(&client, &revoked), "was revoked"),
        (binding(&client, &expired), "has expired"),
        (binding(&client, &foreign), "belongs to another area"),
        (binding(&client, &unknown), "is not a key of this CA"),
    ];
    for (value, detail) in cases {
        let reply = register(&ca, &client, Some(value)).await;
        refused(&reply, "unauthorized", 403, detail);
    }
    assert_eq!(accounts(&ca).await, 0);
    for kid in ["wrong-mac", "revoked", "expired", "foreign"] {
        assert_eq!(bound(&ca, kid).await, 0, "{kid}");
    }
}

#[tokio::test]
async fn a_single_use_key_registers_one_account_and_a_reusable_one_many() {
    let ca = start(required).await;
    let once = create_key(&ca, "once", |_| {}).await;
    let many = create_key(&ca, "many", |k| k.reusable = true).await;
    let first = Client::new();
    register(&ca, &first, Some(binding(&first, &once)))
        .await
        .assert_status(StatusCode::CREATED);
    let second = Client::new();
    let reply = register(&ca, &second, Some(binding(&second, &once))).await;
    refused(&reply, "unauthorized", 403, "single-use and already bound");
    assert_eq!(accounts(&ca).await, 1);
    for _ in 0..2 {
        let client = Client::new();
        register(&ca, &client, Some(binding(&client, &many)))
            .await
            .assert_status(StatusCode::CREATED);
    }
    assert_eq!(bound(&ca, "once").await, 1);
    assert_eq!(bound(&ca, "many").await, 2);
}

#[tokio::test]
async fn another_key_in_the_binding_is_unauthorized() {
    let ca = start(required).await;
    let key = create_key(&ca, "k", |_| {}).await;
    let client = Client::new();
    let other = Client::new();
    let reply = register(&ca, &client, Some(binding(&other, &key))).await;
    refused(&reply, "unauthorized", 403, "different key");
    assert_eq!(accounts(&ca).await, 0);
    assert_eq!(bound(&ca, "k").await, 0);
}

#[tokio::test]
async fn badly_built_bindings_are_malformed() {
    let ca = start(required).await;
    let key = create_key(&ca, "k", |_| {}).await;
    let client = Client::new();
    let new_account = url("/new-account");
    let header = |alg: &str| json!({"alg": alg, "kid": key.kid, "url": new_account});
    // alg none: no MAC at all (RFC 7518 §3.6), an empty signature.
    let none = {
        let mut v = binding_with(header("none"), &public(&client), &key.mac);
        v["signature"] = json!("");
        v
    };
    // A signature instead of a MAC: signed with the (ES256) account key. (RS256 and the
    // other signature algorithms are refused the same way: basalt-protocol's eab tests.)
    let signed = {
        let payload = public(&client).to_string();
        let jws = client.sign(&new_account, payload.as_bytes(), None, Auth::Kid(&key.kid));
        serde_json::from_slice::<Value>(&jws).unwrap()
    };
    let cases = [
        (none, "HS256, HS384 or HS512"),
        (signed, "HS256, HS384 or HS512"),
        (
            binding_with(
                json!({"alg": "HS256", "kid": key.kid, "url": url("/new-order")}),
                &public(&client),
                &key.mac,
            ),
            "is not this newAccount URL",
        ),
        (
            binding_with(
                json!({"alg": "HS256", "kid": key.kid, "url": new_account, "nonce": "abc"}),
                &public(&client),
                &key.mac,
            ),
            "must not contain a \"nonce\"",
        ),
        (
            binding_with(
                json!({"alg": "HS256", "url": new_account}),
                &public(&client),
                &key.mac,
            ),
            "\"kid\"",
        ),
        (
            binding_with(header("HS256"), &json!("x"), &key.mac),
            "payload",
        ),
        (json!("not a JWS"), "flattened JWS"),
        (
            json!({"protected": "%%%", "payload": "", "signature": ""}),
            "base64url",
        ),
    ];
    for (value, detail) in cases {
        let reply = register(&ca, &client, Some(value)).await;
        refused(&reply, "malformed", 400, detail);
    }
    assert_eq!(accounts(&ca).await, 0);
    assert_eq!(bound(&ca, "k").await, 0);
}

#[tokio::test]
async fn optional_mode_checks_a_binding_only_when_sent() {
    let ca = start(optional).await;
    let key = create_key(&ca, "opt", |_| {}).await;
    let plain = Client::new();
    let reply = register(&ca, &plain, None).await;
    reply.assert_status(StatusCode::CREATED);
    let bound_client = Client::new();
    register(&ca, &bound_client, Some(binding(&bound_client, &key)))
        .await
        .assert_status(StatusCode::CREATED);
    let wrong = Client::new();
    let reply = register(
        &ca,
        &wrong,
        Some(binding_with(
            json!({"alg": "HS256", "kid": "opt", "url": url("/new-account")}),
            &public(&wrong),
            &[0; 32],
        )),
    )
    .await;
    refused(&reply, "unauthorized", 403, "MAC does not verify");
    let kids: Vec<Option<String>> = ca
        .store
        .list_accounts(&AccountFilter::default())
        .await
        .unwrap()
        .into_iter()
        .rev()
        .map(|a| a.eab_kid)
        .collect();
    assert_eq!(kids, [None, Some("opt".to_owned())]);
}

#[tokio::test]
async fn off_mode_ignores_a_binding() {
    let ca = TestCa::start().await;
    let client = Client::new();
    let reply = register(&ca, &client, Some(json!({"anything": "at all"}))).await;
    reply.assert_status(StatusCode::CREATED);
    let all = ca
        .store
        .list_accounts(&AccountFilter::default())
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].eab_kid, None);
}

/// Two newAccount requests with one single-use key at once: both pass the lookup, the
/// compare-and-set in the insert transaction lets exactly one bind it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_registrations_with_one_single_use_key_create_one_account() {
    let ca = start(required).await;
    for round in 0..10 {
        let kid = format!("race-{round}");
        let key = create_key(&ca, &kid, |_| {}).await;
        let (a, b) = (Client::new(), Client::new());
        let (ra, rb) = tokio::join!(
            register(&ca, &a, Some(binding(&a, &key))),
            register(&ca, &b, Some(binding(&b, &key)))
        );
        let mut statuses = [ra.status.as_u16(), rb.status.as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 403], "round {round}");
        let loser = if ra.status == StatusCode::CREATED {
            &rb
        } else {
            &ra
        };
        loser.assert_problem("unauthorized", 403);
        assert_eq!(bound(&ca, &kid).await, 1);
    }
    assert_eq!(accounts(&ca).await, 10);
}
