//! Account and certificate keys (issue 12, defects 4 and 7): RSA JWKs must be minimally
//! encoded (RFC 7518 §6.3.1) and follow the RSA policy (65537; 2048, 3072 or 4096 bits), and
//! keys are compared in canonical form wherever "the same key" matters (RFC 8555 §7.3.5,
//! §11.1).

use axum::http::StatusCode;
use basalt_storage::NewAccount;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::accounts::key_change;
use crate::support::{Client, TestCa, url};

/// The signer crate's committed RSA-2048 test key (ring cannot generate RSA keys).
const RSA2048_PEM: &str = include_str!("../../../basalt-signer/tests/data/rsa2048.key.pem");
/// A CSR for `a.test` with an RSA-2048 key of public exponent 3 (made with OpenSSL).
const RSA_E3_CSR: &[u8] =
    include_bytes!("../../../basalt-signer/tests/data/rsa2048-e3-a.test.csr.der");

fn rsa_client() -> Client {
    Client::from_rsa_pkcs8_pem(RSA2048_PEM)
}

/// The client's public JWK with `pad` zero octets before `n` and before `e`.
fn padded_jwk(client: &Client, pad_n: usize, pad_e: usize) -> Value {
    let public = serde_json::to_value(client.public.as_ref()).unwrap();
    let pad = |member: &str, zeros: usize| {
        let bytes = URL_SAFE_NO_PAD
            .decode(public[member].as_str().unwrap())
            .unwrap();
        URL_SAFE_NO_PAD.encode([vec![0u8; zeros], bytes].concat())
    };
    json!({"kty": "RSA", "n": pad("n", pad_n), "e": pad("e", pad_e)})
}

async fn new_account(ca: &TestCa, client: &Client) -> crate::support::Reply {
    client
        .post(
            ca,
            &url("/new-account"),
            Some(json!({"termsOfServiceAgreed": true})),
        )
        .await
}

async fn assert_no_account(ca: &TestCa, id: i64) {
    assert!(
        ca.store.account(id).await.unwrap().is_none(),
        "account {id} was stored"
    );
}

/// RFC 7518 §6.3.1.1/§6.3.1.2: a zero-padded `n` or `e` is the same key under another
/// thumbprint, so it would register a second account for one key. Refused, nothing stored.
#[tokio::test]
async fn rsa_jwks_with_leading_zero_octets_are_bad_public_keys() {
    let ca = TestCa::start().await;
    let key = rsa_client();
    for (pad_n, pad_e, member) in [(1, 0, "\"n\""), (0, 1, "\"e\""), (2, 2, "\"n\"")] {
        let padded = key
            .same_key(None)
            .with_public(padded_jwk(&key, pad_n, pad_e));
        let problem = new_account(&ca, &padded)
            .await
            .assert_problem("badPublicKey", 400);
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.contains(member) && detail.contains("leading zero"),
            "{detail}"
        );
        assert_no_account(&ca, 1).await;
    }
    // The minimal encoding of the same key is welcome, and then the padded one still is not.
    new_account(&ca, &key)
        .await
        .assert_status(StatusCode::CREATED);
    let padded = key.same_key(None).with_public(padded_jwk(&key, 1, 0));
    new_account(&ca, &padded)
        .await
        .assert_problem("badPublicKey", 400);
    assert_no_account(&ca, 2).await;
}

/// Boulder's goodkey, CA/B Forum BR §6.1.5/§6.1.6: e = 65537 and a 2048-, 3072- or 4096-bit
/// modulus. The key is judged before the signature, so these JWKs need no private key.
#[tokio::test]
async fn rsa_account_keys_outside_policy_are_bad_public_keys() {
    let ca = TestCa::start().await;
    let key = rsa_client();
    let public = serde_json::to_value(key.public.as_ref()).unwrap();
    let modulus = |bits: usize| {
        let mut n = vec![0xffu8; bits.div_ceil(8)];
        n[0] = 0xff >> (n.len() * 8 - bits);
        URL_SAFE_NO_PAD.encode(n)
    };
    let cases = [
        (json!({"kty": "RSA", "n": public["n"], "e": "Aw"}), "65537"),
        (
            json!({"kty": "RSA", "n": public["n"], "e": "AQAAAQ"}),
            "65537",
        ),
        (
            json!({"kty": "RSA", "n": modulus(1024), "e": "AQAB"}),
            "1024 bits",
        ),
        (
            json!({"kty": "RSA", "n": modulus(2047), "e": "AQAB"}),
            "2047 bits",
        ),
        (
            json!({"kty": "RSA", "n": modulus(2049), "e": "AQAB"}),
            "2049 bits",
        ),
        (
            json!({"kty": "RSA", "n": modulus(3000), "e": "AQAB"}),
            "3000 bits",
        ),
    ];
    for (jwk, why) in cases {
        let client = key.same_key(None).with_public(jwk.clone());
        let problem = new_account(&ca, &client)
            .await
            .assert_problem("badPublicKey", 400);
        assert!(
            problem["detail"].as_str().unwrap().contains(why),
            "{jwk}: {problem}"
        );
        assert_no_account(&ca, 1).await;
    }
}

/// RFC 8555 §11.1: a certificate must not be issued for the account's own key. An account
/// whose RSA key was stored zero-padded (accepted before the encoding rule) has a thumbprint
/// other than the CSR key's; the comparison must still see one key.
#[tokio::test]
async fn a_zero_padded_account_key_cannot_be_certified_for_that_account() {
    let ca = TestCa::start().await;
    let key = rsa_client();
    let padded = key.same_key(None).with_public(padded_jwk(&key, 1, 0));
    // Stored as the old code stored it: the JWK and thumbprint as the client sent them.
    let account = ca
        .store
        .insert_account(&NewAccount {
            directory: "default".into(),
            key_thumbprint: padded.thumbprint(),
            jwk: serde_json::to_string(padded.public.as_ref()).unwrap(),
            contact: vec![],
            terms_of_service_agreed: true,
            now: OffsetDateTime::now_utc(),
        })
        .await
        .unwrap();
    assert_ne!(padded.thumbprint(), key.thumbprint());
    let client = padded.same_key(Some(url(&format!("/account/{}", account.id))));

    let (order_url, order) = client.order(&ca, &["self.test"]).await;
    client.authorize(&ca, &order_url, &order).await;
    let account_key = rcgen::KeyPair::from_pem(RSA2048_PEM).unwrap();
    let reply = client
        .finalize_with_key(&ca, &order, &["self.test"], &account_key)
        .await;
    let problem = reply.assert_problem("badCSR", 400);
    assert!(
        problem["detail"].as_str().unwrap().contains("account key"),
        "{problem}"
    );
    let order = client.post(&ca, &order_url, None).await.json();
    assert_eq!(order["status"], "ready", "{order}");
    assert!(order.get("certificate").is_none(), "{order}");
}

/// RFC 8555 §7.3.5: rolling over to a key another account holds is a 409. A zero-padded
/// re-encoding of that key must not slip past as "a new key".
#[tokio::test]
async fn key_change_to_a_zero_padded_copy_of_a_key_in_use_is_refused() {
    let ca = TestCa::start().await;
    let holder = rsa_client();
    new_account(&ca, &holder)
        .await
        .assert_status(StatusCode::CREATED);
    let old = Client::register(&ca).await;
    let kid = old.kid.clone().unwrap();
    let old_key = serde_json::to_value(old.public.as_ref()).unwrap();
    let disguised = holder.same_key(None).with_public(padded_jwk(&holder, 1, 0));
    let reply = key_change(
        &ca,
        &old,
        &disguised,
        json!({"account": kid, "oldKey": old_key}),
        &url("/key-change"),
        false,
    )
    .await;
    reply.assert_problem("badPublicKey", 400);
    // The account still answers to its old key.
    old.post(&ca, &kid, None)
        .await
        .assert_status(StatusCode::OK);
}

/// CA/B Forum BR §6.1.6, Boulder's goodkey: a CSR key with e = 3 is refused at finalize.
#[tokio::test]
async fn a_csr_with_an_rsa_exponent_of_3_is_a_bad_csr() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    let (order_url, order) = client.order(&ca, &["a.test"]).await;
    client.authorize(&ca, &order_url, &order).await;
    let problem = client
        .post(
            &ca,
            order["finalize"].as_str().unwrap(),
            Some(json!({"csr": URL_SAFE_NO_PAD.encode(RSA_E3_CSR)})),
        )
        .await
        .assert_problem("badCSR", 400);
    assert!(
        problem["detail"].as_str().unwrap().contains("65537"),
        "{problem}"
    );
    let order = client.post(&ca, &order_url, None).await.json();
    assert_eq!(order["status"], "ready", "{order}");
}
