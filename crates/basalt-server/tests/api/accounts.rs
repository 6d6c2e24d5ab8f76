//! Accounts: RFC 8555 §7.3 and its subsections.

use axum::http::StatusCode;
use josekit::jws::JwsHeaderSet;
use serde_json::{Value, json};

use crate::support::{Client, Options, TestCa, url};

#[tokio::test]
async fn directory_and_nonce_endpoints() {
    let ca = TestCa::start().await;
    let reply = ca.get("/acme/default/directory").await;
    assert_eq!(reply.status, StatusCode::OK);
    let dir = reply.json();
    for key in [
        "newNonce",
        "newAccount",
        "newOrder",
        "revokeCert",
        "keyChange",
    ] {
        assert!(
            dir[key]
                .as_str()
                .unwrap()
                .starts_with("https://localhost:8443/acme/default/"),
            "{key}"
        );
    }
    assert_eq!(dir["meta"]["externalAccountRequired"], false);
    assert_eq!(dir["meta"]["caaIdentities"], json!(["basalt"]));
    assert!(reply.links().is_empty(), "the directory has no index link");

    let get = ca.get("/acme/default/new-nonce").await;
    assert_eq!(get.status, StatusCode::NO_CONTENT);
    assert!(get.header("replay-nonce").is_some());
    assert_eq!(get.header("cache-control").as_deref(), Some("no-store"));
    assert!(get.links().iter().any(|l| l.contains("rel=\"index\"")));

    ca.get("/acme/nope/directory")
        .await
        .assert_problem("malformed", 404);
}

#[tokio::test]
async fn new_account_then_existing_key_gives_200_and_the_same_location() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    let same = client.same_key(None);
    let reply = same
        .post(
            &ca,
            &url("/new-account"),
            Some(json!({"termsOfServiceAgreed": true})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("location"), client.kid);
    assert_eq!(reply.json()["status"], "valid");
    let only = same
        .post(
            &ca,
            &url("/new-account"),
            Some(json!({"onlyReturnExisting": true})),
        )
        .await;
    assert_eq!(only.status, StatusCode::OK);
    assert_eq!(only.header("location"), client.kid);
}

#[tokio::test]
async fn only_return_existing_for_an_unknown_key_is_account_does_not_exist() {
    let ca = TestCa::start().await;
    let client = Client::new();
    let reply = client
        .post(
            &ca,
            &url("/new-account"),
            Some(json!({"onlyReturnExisting": true})),
        )
        .await;
    reply.assert_problem("accountDoesNotExist", 400);
    assert!(
        ca.store
            .account_by_thumbprint("default", &client.thumbprint())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn contacts_are_validated() {
    let ca = TestCa::start().await;
    let client = Client::new();
    let reply = client
        .post(
            &ca,
            &url("/new-account"),
            Some(json!({"contact": ["tel:+15555555555"]})),
        )
        .await;
    reply.assert_problem("unsupportedContact", 400);
    let reply = client
        .post(
            &ca,
            &url("/new-account"),
            Some(json!({"contact": ["mailto:not an address"]})),
        )
        .await;
    reply.assert_problem("invalidContact", 400);
    assert!(
        ca.store
            .account_by_thumbprint("default", &client.thumbprint())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn terms_of_service_must_be_agreed_when_published() {
    let ca = TestCa::start_with(Options {
        terms_of_service: Some("https://ca.test/tos".into()),
        ..Options::default()
    })
    .await;
    let client = Client::new();
    let reply = client
        .post(&ca, &url("/new-account"), Some(json!({})))
        .await;
    reply.assert_problem("malformed", 400);
    assert_eq!(
        ca.get("/acme/default/directory").await.json()["meta"]["termsOfService"],
        "https://ca.test/tos"
    );
}

#[tokio::test]
async fn update_contacts_and_deactivate() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    let kid = client.kid.clone().unwrap();
    let reply = client
        .post(
            &ca,
            &kid,
            Some(json!({"contact": ["mailto:new@example.org"]})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["contact"], json!(["mailto:new@example.org"]));
    let fetched = client.post(&ca, &kid, None).await;
    assert_eq!(fetched.json()["contact"], json!(["mailto:new@example.org"]));
    assert!(
        fetched.json()["orders"]
            .as_str()
            .unwrap()
            .ends_with("/orders")
    );

    let (order_url, _) = client.order(&ca, &["pending.test"]).await;
    let reply = client
        .post(&ca, &kid, Some(json!({"status": "deactivated"})))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["status"], "deactivated");
    // RFC 8555 §7.3.6: afterwards every request by that key is unauthorized (401).
    client
        .post(&ca, &order_url, None)
        .await
        .assert_problem("unauthorized", 401);
    let lookup = client.same_key(None);
    lookup
        .post(
            &ca,
            &url("/new-account"),
            Some(json!({"onlyReturnExisting": true})),
        )
        .await
        .assert_problem("unauthorized", 401);
}

#[tokio::test]
async fn another_accounts_url_is_unauthorized() {
    let ca = TestCa::start().await;
    let a = Client::register(&ca).await;
    let b = Client::register(&ca).await;
    b.post(&ca, a.kid.as_ref().unwrap(), Some(json!({"contact": []})))
        .await
        .assert_problem("unauthorized", 403);
}

/// Builds a keyChange request: inner JWS signed by `new` with jwk, outer by `old` with kid.
pub(crate) async fn key_change(
    ca: &TestCa,
    old: &Client,
    new: &Client,
    inner_payload: Value,
    inner_url: &str,
    inner_nonce: bool,
) -> crate::support::Reply {
    let mut header = JwsHeaderSet::new();
    header.set_jwk(new.public.clone(), true);
    header.set_url(inner_url, true);
    if inner_nonce {
        header
            .set_claim("nonce", Some(Value::String("AAAA".into())), true)
            .unwrap();
    }
    let inner = josekit::jws::serialize_flattened_json(
        inner_payload.to_string().as_bytes(),
        &header,
        new.signer(),
    )
    .unwrap();
    let inner: Value = serde_json::from_str(&inner).unwrap();
    old.post(ca, &url("/key-change"), Some(inner)).await
}

#[tokio::test]
async fn key_rollover_checks_the_inner_jws_and_swaps_the_key() {
    let ca = TestCa::start().await;
    let old = Client::register(&ca).await;
    let kid = old.kid.clone().unwrap();
    let old_key = serde_json::to_value(old.public.as_ref()).unwrap();
    let new = Client::new();
    let good = json!({"account": kid, "oldKey": old_key});

    key_change(&ca, &old, &new, good.clone(), &url("/new-account"), false)
        .await
        .assert_problem("malformed", 400);
    key_change(&ca, &old, &new, good.clone(), &url("/key-change"), true)
        .await
        .assert_problem("malformed", 400);
    key_change(
        &ca,
        &old,
        &new,
        json!({"account": url("/account/77"), "oldKey": old_key}),
        &url("/key-change"),
        false,
    )
    .await
    .assert_problem("unauthorized", 403);
    let stranger = serde_json::to_value(Client::new().public.as_ref()).unwrap();
    key_change(
        &ca,
        &old,
        &new,
        json!({"account": kid, "oldKey": stranger}),
        &url("/key-change"),
        false,
    )
    .await
    .assert_problem("unauthorized", 403);

    let reply = key_change(&ca, &old, &new, good, &url("/key-change"), false).await;
    reply.assert_status(StatusCode::OK);
    // The old key is now unknown, the new key finds the account.
    let old_lookup = old.same_key(None);
    old_lookup
        .post(
            &ca,
            &url("/new-account"),
            Some(json!({"onlyReturnExisting": true})),
        )
        .await
        .assert_problem("accountDoesNotExist", 400);
    let new_lookup = new.same_key(None);
    let reply = new_lookup
        .post(
            &ca,
            &url("/new-account"),
            Some(json!({"onlyReturnExisting": true})),
        )
        .await;
    assert_eq!(reply.header("location").as_deref(), Some(kid.as_str()));

    // Rolling over to a key that another account holds: 409 with that account's Location.
    let taken = Client::register(&ca).await;
    let mut current = new.same_key(new.kid.clone());
    current.kid = Some(kid.clone());
    let reply = key_change(
        &ca,
        &current,
        &taken,
        json!({"account": kid, "oldKey": serde_json::to_value(new.public.as_ref()).unwrap()}),
        &url("/key-change"),
        false,
    )
    .await;
    reply.assert_problem("malformed", 409);
    assert_eq!(reply.header("location"), taken.kid);
}

/// RFC 8555 §6.3: the directory and newNonce accept POST-as-GET as well as GET.
#[tokio::test]
async fn directory_and_new_nonce_accept_post_as_get() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    let dir = client.post(&ca, &url("/directory"), None).await;
    assert_eq!(dir.status, StatusCode::OK);
    assert!(dir.json()["newOrder"].is_string());
    let nonce = client.post(&ca, &url("/new-nonce"), None).await;
    assert_eq!(nonce.status, StatusCode::NO_CONTENT);
    assert!(nonce.header("replay-nonce").is_some());
    // A POST that is not POST-as-GET is refused.
    client
        .post(&ca, &url("/directory"), Some(json!({})))
        .await
        .assert_problem("malformed", 400);
    let issuer = ca
        .send(
            axum::http::Request::builder()
                .method("DELETE")
                .uri("/acme/default/root")
                .header("host", crate::support::HOST)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    issuer.assert_problem("malformed", 405);
    assert_eq!(issuer.header("allow").as_deref(), Some("GET, HEAD, POST"));
}
