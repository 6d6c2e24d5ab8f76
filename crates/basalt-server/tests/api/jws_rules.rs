//! RFC 8555 §6.2–§6.5: every JWS rule, each refused with its problem type and status, with a
//! fresh nonce, and nothing stored.

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

use crate::support::{Auth, Client, TestCa, url};

/// Sends a new-account request built by `body` and asserts the problem; then checks the
/// account was not created.
async fn refused(
    ca: &TestCa,
    client: &Client,
    body: Vec<u8>,
    content_type: &str,
    problem: &str,
    status: u16,
) {
    let reply = ca.post_raw(&url("/new-account"), body, content_type).await;
    reply.assert_problem(problem, status);
    assert!(
        reply.header("replay-nonce").is_some(),
        "errors carry a fresh nonce"
    );
    let stored = ca
        .store
        .account_by_thumbprint("default", &client.thumbprint())
        .await
        .unwrap();
    assert!(stored.is_none(), "a refused request stores nothing");
}

fn payload() -> Vec<u8> {
    json!({"termsOfServiceAgreed": true})
        .to_string()
        .into_bytes()
}

#[tokio::test]
async fn wrong_content_type_is_415_malformed() {
    let ca = TestCa::start().await;
    let client = Client::new();
    let body = client.sign(
        &url("/new-account"),
        &payload(),
        Some(&ca.nonce().await),
        Auth::Jwk,
    );
    refused(&ca, &client, body, "application/json", "malformed", 415).await;
}

#[tokio::test]
async fn stale_replayed_and_missing_nonces_are_bad_nonce() {
    let ca = TestCa::start().await;
    let client = Client::new();
    let garbage = client.sign(
        &url("/new-account"),
        &payload(),
        Some("AAAAAAAA"),
        Auth::Jwk,
    );
    refused(
        &ca,
        &client,
        garbage,
        "application/jose+json",
        "badNonce",
        400,
    )
    .await;
    let none = client.sign(&url("/new-account"), &payload(), None, Auth::Jwk);
    refused(&ca, &client, none, "application/jose+json", "badNonce", 400).await;

    // A nonce is good exactly once.
    let nonce = ca.nonce().await;
    let first = client.sign(&url("/new-account"), &payload(), Some(&nonce), Auth::Jwk);
    let reply = ca
        .post_raw(&url("/new-account"), first, "application/jose+json")
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let other = Client::new();
    let replay = other.sign(&url("/new-account"), &payload(), Some(&nonce), Auth::Jwk);
    refused(
        &ca,
        &other,
        replay,
        "application/jose+json",
        "badNonce",
        400,
    )
    .await;
}

#[tokio::test]
async fn url_must_match_the_request() {
    let ca = TestCa::start().await;
    let client = Client::new();
    let body = client.sign(
        &url("/new-order"),
        &payload(),
        Some(&ca.nonce().await),
        Auth::Jwk,
    );
    refused(
        &ca,
        &client,
        body,
        "application/jose+json",
        "unauthorized",
        403,
    )
    .await;
}

#[tokio::test]
async fn envelope_and_header_rules() {
    let ca = TestCa::start().await;
    let client = Client::new();
    let good = client.sign(
        &url("/new-account"),
        &payload(),
        Some(&ca.nonce().await),
        Auth::Jwk,
    );
    let mut jws: serde_json::Value = serde_json::from_slice(&good).unwrap();

    // General serialization / unprotected header: refused.
    let mut with_header = jws.clone();
    with_header["header"] = json!({"kid": "x"});
    refused(
        &ca,
        &client,
        with_header.to_string().into_bytes(),
        "application/jose+json",
        "malformed",
        400,
    )
    .await;

    // Tampered payload: the signature no longer verifies.
    jws["payload"] = URL_SAFE_NO_PAD.encode(b"{\"contact\":[]}").into();
    refused(
        &ca,
        &client,
        jws.to_string().into_bytes(),
        "application/jose+json",
        "malformed",
        400,
    )
    .await;

    // alg none and HS256: badSignatureAlgorithm, listing the accepted algorithms.
    for alg in ["none", "HS256"] {
        let header = json!({"alg": alg, "jwk": serde_json::to_value(client.public.as_ref()).unwrap(), "url": url("/new-account"), "nonce": ca.nonce().await});
        let body = json!({"protected": URL_SAFE_NO_PAD.encode(header.to_string()), "payload": URL_SAFE_NO_PAD.encode(payload()), "signature": ""});
        let reply = ca
            .post_raw(
                &url("/new-account"),
                body.to_string().into_bytes(),
                "application/jose+json",
            )
            .await;
        let problem = reply.assert_problem("badSignatureAlgorithm", 400);
        assert!(
            problem["algorithms"]
                .as_array()
                .unwrap()
                .contains(&json!("ES256"))
        );
    }

    // A jwk with the private key inside.
    let header = json!({"alg": "ES256", "jwk": serde_json::to_value(client.key.as_ref()).unwrap(), "url": url("/new-account"), "nonce": ca.nonce().await});
    let body = json!({"protected": URL_SAFE_NO_PAD.encode(header.to_string()), "payload": "", "signature": "AA"});
    refused(
        &ca,
        &client,
        body.to_string().into_bytes(),
        "application/jose+json",
        "malformed",
        400,
    )
    .await;

    // Both jwk and kid.
    let header = json!({"alg": "ES256", "jwk": serde_json::to_value(client.public.as_ref()).unwrap(), "kid": url("/account/1"), "url": url("/new-account"), "nonce": ca.nonce().await});
    let body = json!({"protected": URL_SAFE_NO_PAD.encode(header.to_string()), "payload": "", "signature": "AA"});
    refused(
        &ca,
        &client,
        body.to_string().into_bytes(),
        "application/jose+json",
        "malformed",
        400,
    )
    .await;
}

#[tokio::test]
async fn kid_rules() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    // newOrder with jwk instead of kid.
    let mut anonymous = Client::new();
    anonymous.kid = None;
    let reply = anonymous
        .post(
            &ca,
            &url("/new-order"),
            Some(json!({"identifiers": [{"type": "dns", "value": "a.test"}]})),
        )
        .await;
    reply.assert_problem("malformed", 400);
    // kid of an account that does not exist.
    let mut ghost = Client::new();
    ghost.kid = Some(url("/account/999999"));
    let reply = ghost
        .post(
            &ca,
            &url("/new-order"),
            Some(json!({"identifiers": [{"type": "dns", "value": "a.test"}]})),
        )
        .await;
    reply.assert_problem("accountDoesNotExist", 400);
    // kid that is not this server's URL.
    ghost.kid = Some("https://elsewhere.test/acme/default/account/1".into());
    let reply = ghost
        .post(
            &ca,
            &url("/new-order"),
            Some(json!({"identifiers": [{"type": "dns", "value": "a.test"}]})),
        )
        .await;
    reply.assert_problem("malformed", 400);
    // Right kid, wrong key.
    let mut impostor = Client::new();
    impostor.kid = client.kid.clone();
    let reply = impostor
        .post(
            &ca,
            &url("/new-order"),
            Some(json!({"identifiers": [{"type": "dns", "value": "a.test"}]})),
        )
        .await;
    reply.assert_problem("malformed", 400);
    assert_eq!(client.stored_orders(&ca).await, 0, "nothing stored");
}

#[tokio::test]
async fn get_on_post_as_get_resources_is_405() {
    let ca = TestCa::start().await;
    for path in [
        "/acme/default/new-account",
        "/acme/default/order/1",
        "/acme/default/authz/1",
        "/acme/default/account/1",
    ] {
        let reply = ca.get(path).await;
        reply.assert_problem("malformed", 405);
        assert!(reply.header("allow").is_some());
    }
}

#[tokio::test]
async fn post_as_get_must_have_an_empty_payload() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    let (order_url, _) = client.order(&ca, &["a.test"]).await;
    let reply = client.post(&ca, &order_url, Some(json!({}))).await;
    reply.assert_problem("malformed", 400);
}
