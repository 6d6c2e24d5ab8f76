//! Revocation: RFC 8555 §7.6.

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

use crate::support::{Client, TestCa, last_segment, url};

fn leaf_der(chain: &str) -> Vec<u8> {
    basalt_signer::pem_to_der(chain).unwrap().remove(0)
}

#[tokio::test]
async fn owner_revokes_once_then_already_revoked() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    let (_, cert_url, chain) = client.issue(&ca, &["rev.test"]).await;
    let certificate = URL_SAFE_NO_PAD.encode(leaf_der(&chain));
    client
        .post(
            &ca,
            &url("/revoke-cert"),
            Some(json!({"certificate": certificate, "reason": 7})),
        )
        .await
        .assert_problem("badRevocationReason", 400);
    let reply = client
        .post(
            &ca,
            &url("/revoke-cert"),
            Some(json!({"certificate": certificate, "reason": 4})),
        )
        .await;
    reply.assert_status(StatusCode::OK);
    assert!(reply.body.is_empty());
    let serial = last_segment(&cert_url);
    let stored = ca
        .store
        .certificate_by_serial(serial)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.revoked_at.is_some());
    assert_eq!(stored.revocation_reason, Some(4));
    client
        .post(
            &ca,
            &url("/revoke-cert"),
            Some(json!({"certificate": certificate})),
        )
        .await
        .assert_problem("alreadyRevoked", 400);
}

#[tokio::test]
async fn strangers_cannot_revoke_but_authorized_accounts_can() {
    let ca = TestCa::start().await;
    let owner = Client::register(&ca).await;
    let (_, _, chain) = owner.issue(&ca, &["shared.test"]).await;
    let certificate = URL_SAFE_NO_PAD.encode(leaf_der(&chain));
    let stranger = Client::register(&ca).await;
    stranger
        .post(
            &ca,
            &url("/revoke-cert"),
            Some(json!({"certificate": certificate})),
        )
        .await
        .assert_problem("unauthorized", 403);
    // An account that validated the same name may revoke.
    let holder = Client::register(&ca).await;
    let (order_url, order) = holder.order(&ca, &["shared.test"]).await;
    holder.authorize(&ca, &order_url, &order).await;
    let reply = holder
        .post(
            &ca,
            &url("/revoke-cert"),
            Some(json!({"certificate": certificate})),
        )
        .await;
    reply.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn unknown_certificates_are_refused() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    let root = basalt_signer::pem_to_der(&ca.root_pem()).unwrap().remove(0);
    let reply = client
        .post(
            &ca,
            &url("/revoke-cert"),
            Some(json!({"certificate": URL_SAFE_NO_PAD.encode(root)})),
        )
        .await;
    reply.assert_problem("malformed", 404);
    client
        .post(
            &ca,
            &url("/revoke-cert"),
            Some(json!({"certificate": "AAAA"})),
        )
        .await
        .assert_problem("malformed", 400);
}

#[tokio::test]
async fn the_certificate_key_may_revoke_with_jwk() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    let (order_url, order) = client.order(&ca, &["keyholder.test"]).await;
    client.authorize(&ca, &order_url, &order).await;
    let cert_key = rcgen::KeyPair::generate().unwrap();
    let reply = client
        .finalize_with_key(&ca, &order, &["keyholder.test"], &cert_key)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let cert_url = client.poll_until(&ca, &order_url, &["valid"]).await["certificate"]
        .as_str()
        .unwrap()
        .to_owned();
    let chain = String::from_utf8(client.post(&ca, &cert_url, None).await.body).unwrap();
    let certificate = URL_SAFE_NO_PAD.encode(leaf_der(&chain));

    // Another key, sent as jwk, is refused; the certificate's own key is accepted.
    Client::new()
        .post(
            &ca,
            &url("/revoke-cert"),
            Some(json!({"certificate": certificate})),
        )
        .await
        .assert_problem("unauthorized", 403);
    let holder = Client::from_pkcs8_pem(cert_key.serialize_pem());
    let reply = holder
        .post(
            &ca,
            &url("/revoke-cert"),
            Some(json!({"certificate": certificate, "reason": 1})),
        )
        .await;
    reply.assert_status(StatusCode::OK);
    let serial = last_segment(&cert_url);
    assert_eq!(
        ca.store
            .certificate_by_serial(serial)
            .await
            .unwrap()
            .unwrap()
            .revocation_reason,
        Some(1)
    );
}
