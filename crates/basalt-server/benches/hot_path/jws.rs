//! `jws_verify`: what authenticating one ACME POST costs in CPU, and what the stored account
//! key's per-request parse adds. Test requests are signed here with ring, like a client would.

use std::hint::black_box;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::Criterion;
use josekit::jwk::KeyPair as _;
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair,
    RsaPublicKeyComponents,
};
use serde_json::{Value, json};

use basalt_protocol::{Jwk, Jws};

/// The account URL (`kid`) and request URL of the benchmark requests: a newOrder, the first
/// request of an issuance that carries a payload.
const KID: &str = "https://localhost:8443/acme/default/account/1";
const URL: &str = "https://localhost:8443/acme/default/new-order";

/// A signed request and the account key that verifies it.
struct SignedRequest {
    /// The flattened JWS JSON body, as it arrives over HTTP.
    body: Vec<u8>,
    /// The account key, parsed.
    key: Jwk,
    /// The account key as `accounts.jwk` stores it (`Jwk::to_json`).
    stored_jwk: String,
}

impl SignedRequest {
    /// A newOrder for one name, signed by `sign` with `alg` and identified by `kid`, as every
    /// request after newAccount is (RFC 8555 §6.2).
    fn new(alg: &str, key: Jwk, sign: impl Fn(&[u8]) -> Vec<u8>) -> Self {
        // A nonce of the real shape and length (basalt's: 56 bytes, base64url).
        let nonce = URL_SAFE_NO_PAD.encode([0x5a; 56]);
        let protected = json!({ "alg": alg, "kid": KID, "nonce": nonce, "url": URL });
        let payload = json!({ "identifiers": [{ "type": "dns", "value": "a.test" }] });
        let protected = URL_SAFE_NO_PAD.encode(protected.to_string());
        let payload = URL_SAFE_NO_PAD.encode(payload.to_string());
        let signature = sign(format!("{protected}.{payload}").as_bytes());
        let body = json!({
            "protected": protected,
            "payload": payload,
            "signature": URL_SAFE_NO_PAD.encode(signature),
        })
        .to_string()
        .into_bytes();
        let stored_jwk = key.to_json();
        let request = Self {
            body,
            key,
            stored_jwk,
        };
        let jws = Jws::parse(&request.body).expect("the benchmark JWS parses");
        jws.verify(&request.key)
            .expect("the benchmark JWS verifies with its key");
        assert_eq!(
            stored_account_key(&request.stored_jwk).as_ref(),
            Some(&request.key)
        );
        request
    }

    /// ES256 with a fresh P-256 key: what most ACME clients use by default.
    fn es256() -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .expect("generate a P-256 key");
        let key_pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
                .expect("load the P-256 key");
        // Uncompressed point: 0x04 ‖ x ‖ y.
        let point = key_pair.public_key().as_ref();
        let jwk = json!({
            "kty": "EC",
            "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..]),
        });
        let key = Jwk::from_json(&jwk).expect("a P-256 JWK");
        Self::new("ES256", key, |message| {
            key_pair
                .sign(&rng, message)
                .expect("sign with P-256")
                .as_ref()
                .to_vec()
        })
    }

    /// RS256 with an RSA-2048 key, the smallest RSA account key basalt accepts, for comparison.
    /// ring cannot generate RSA keys, so OpenSSL (through josekit) makes it; ring signs.
    fn rs256() -> Self {
        let generated =
            josekit::jwk::alg::rsa::RsaKeyPair::generate(2048).expect("generate an RSA-2048 key");
        let key_pair = RsaKeyPair::from_pkcs8(&generated.to_der_private_key())
            .expect("ring loads the RSA key");
        let public = RsaPublicKeyComponents::<Vec<u8>>::from(key_pair.public());
        let jwk = json!({
            "kty": "RSA",
            "n": URL_SAFE_NO_PAD.encode(&public.n),
            "e": URL_SAFE_NO_PAD.encode(&public.e),
        });
        let key = Jwk::from_json(&jwk).expect("an RSA JWK");
        let rng = SystemRandom::new();
        Self::new("RS256", key, |message| {
            let mut signature = vec![0; key_pair.public().modulus_len()];
            key_pair
                .sign(&RSA_PKCS1_SHA256, &rng, message, &mut signature)
                .expect("sign with RSA");
            signature
        })
    }
}

/// The stored account key, parsed the way `extract::account_key` does for every `kid` request:
/// JSON text to `Value`, then `Jwk::from_json`.
fn stored_account_key(stored: &str) -> Option<Jwk> {
    serde_json::from_str::<Value>(stored)
        .ok()
        .and_then(|value| Jwk::from_json(&value).ok())
}

/// Every POST but newAccount is a `kid` JWS: `SignedRequest` parses the envelope and header
/// (`Jws::parse`), loads the account, parses its stored JWK (`account_key`), and verifies the
/// signature (`Jws::verify`). A client makes at least seven such requests per certificate.
///
/// * `{es256,rs256}/parse`: `Jws::parse` alone (JSON, base64url, header checks).
/// * `{es256,rs256}/verify`: `Jws::verify` alone with the key already parsed: the signature.
/// * `{es256,rs256}/parse_and_verify`: both, as the extractor runs them.
/// * `account_key/{es256,rs256}`: the stored JWK text to a `Jwk` (`serde_json::from_str` and
///   `Jwk::from_json`), done per request today: what caching the parsed key would save.
/// * `jwk_from_json/{es256,rs256}`: `Jwk::from_json` alone, from an already parsed `Value`
///   (the part of a `jwk` header's cost that `Jws::parse` spends on newAccount).
pub(crate) fn jws_verify(c: &mut Criterion) {
    let requests = [
        ("es256", SignedRequest::es256()),
        ("rs256", SignedRequest::rs256()),
    ];
    let mut group = c.benchmark_group("jws_verify");
    for (name, request) in &requests {
        group.bench_function(format!("{name}/parse"), |b| {
            b.iter(|| Jws::parse(black_box(&request.body)));
        });
        let jws = Jws::parse(&request.body).expect("the benchmark JWS parses");
        group.bench_function(format!("{name}/verify"), |b| {
            b.iter(|| black_box(&jws).verify(black_box(&request.key)));
        });
        group.bench_function(format!("{name}/parse_and_verify"), |b| {
            b.iter(|| {
                Jws::parse(black_box(&request.body))
                    .and_then(|jws| jws.verify(black_box(&request.key)))
            });
        });
    }
    for (name, request) in &requests {
        group.bench_function(format!("account_key/{name}"), |b| {
            b.iter(|| stored_account_key(black_box(&request.stored_jwk)));
        });
        let value: Value = serde_json::from_str(&request.stored_jwk).expect("stored JWK is JSON");
        group.bench_function(format!("jwk_from_json/{name}"), |b| {
            b.iter(|| Jwk::from_json(black_box(&value)));
        });
    }
    group.finish();
}
