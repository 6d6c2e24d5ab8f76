//! Each check of RFC 8555 §7.3.4, failing alone.

use serde_json::json;

use super::*;

const URL: &str = "https://ca.test/acme/default/new-account";
const MAC_KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

fn account_key() -> Jwk {
    Jwk::Ed25519 { x: vec![7; 32] }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A binding built as clients build it, from `header` and `payload`, MACed with `mac_key`.
fn binding(header: Value, payload: &[u8], mac_key: &[u8]) -> Value {
    let protected = b64(header.to_string().as_bytes());
    let payload = b64(payload);
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, mac_key);
    let tag = ring::hmac::sign(&key, format!("{protected}.{payload}").as_bytes());
    json!({"protected": protected, "payload": payload, "signature": b64(tag.as_ref())})
}

fn good() -> Value {
    binding(
        json!({"alg": "HS256", "kid": "kid-1", "url": URL}),
        account_key().to_json().as_bytes(),
        MAC_KEY,
    )
}

fn check(value: &Value) -> Result<String, EabError> {
    let parsed = ExternalAccountBinding::parse(value)?;
    parsed.check_url(URL)?;
    parsed.check_key(&account_key())?;
    parsed.verify_mac(MAC_KEY)?;
    Ok(parsed.kid)
}

fn malformed_containing(result: Result<String, EabError>, text: &str) {
    match result {
        Err(EabError::Malformed(detail)) => assert!(detail.contains(text), "{detail}"),
        other => panic!("expected malformed ({text}), got {other:?}"),
    }
}

#[test]
fn a_good_binding_passes_and_names_its_kid() {
    assert_eq!(check(&good()).unwrap(), "kid-1");
}

#[test]
fn hs384_and_hs512_verify_with_their_own_hash() {
    for (alg, ring_alg) in [
        ("HS384", ring::hmac::HMAC_SHA384),
        ("HS512", ring::hmac::HMAC_SHA512),
    ] {
        let protected = b64(json!({"alg": alg, "kid": "k", "url": URL})
            .to_string()
            .as_bytes());
        let payload = b64(account_key().to_json().as_bytes());
        let tag = ring::hmac::sign(
            &ring::hmac::Key::new(ring_alg, MAC_KEY),
            format!("{protected}.{payload}").as_bytes(),
        );
        let value =
            json!({"protected": protected, "payload": payload, "signature": b64(tag.as_ref())});
        assert_eq!(check(&value).unwrap(), "k", "{alg}");
    }
}

#[test]
fn a_wrong_mac_is_unauthorized() {
    let value = binding(
        json!({"alg": "HS256", "kid": "kid-1", "url": URL}),
        account_key().to_json().as_bytes(),
        b"another key entirely, 32 bytes!!",
    );
    assert!(matches!(check(&value), Err(EabError::Unauthorized(d)) if d.contains("MAC")));
}

#[test]
fn a_non_mac_algorithm_is_malformed() {
    for alg in ["none", "RS256", "ES256", "EdDSA", "hs256"] {
        let value = binding(
            json!({"alg": alg, "kid": "kid-1", "url": URL}),
            account_key().to_json().as_bytes(),
            MAC_KEY,
        );
        malformed_containing(check(&value), "HS256, HS384 or HS512");
    }
    let value = binding(json!({"kid": "kid-1", "url": URL}), b"{}", MAC_KEY);
    malformed_containing(check(&value), "\"alg\"");
}

#[test]
fn a_missing_kid_is_malformed() {
    for header in [
        json!({"alg": "HS256", "url": URL}),
        json!({"alg": "HS256", "kid": 5, "url": URL}),
        json!({"alg": "HS256", "kid": "", "url": URL}),
    ] {
        let value = binding(header, account_key().to_json().as_bytes(), MAC_KEY);
        malformed_containing(check(&value), "\"kid\"");
    }
}

#[test]
fn a_nonce_is_malformed() {
    let value = binding(
        json!({"alg": "HS256", "kid": "kid-1", "url": URL, "nonce": "abc"}),
        account_key().to_json().as_bytes(),
        MAC_KEY,
    );
    malformed_containing(check(&value), "nonce");
}

#[test]
fn another_url_is_malformed() {
    let value = binding(
        json!({"alg": "HS256", "kid": "kid-1", "url": "https://ca.test/acme/other/new-account"}),
        account_key().to_json().as_bytes(),
        MAC_KEY,
    );
    malformed_containing(check(&value), "is not this newAccount URL");
    let value = binding(
        json!({"alg": "HS256", "kid": "kid-1"}),
        account_key().to_json().as_bytes(),
        MAC_KEY,
    );
    malformed_containing(check(&value), "\"url\"");
}

#[test]
fn another_key_in_the_payload_is_unauthorized() {
    let other = Jwk::Ed25519 { x: vec![8; 32] };
    let value = binding(
        json!({"alg": "HS256", "kid": "kid-1", "url": URL}),
        other.to_json().as_bytes(),
        MAC_KEY,
    );
    assert!(matches!(check(&value), Err(EabError::Unauthorized(d)) if d.contains("different key")));
}

#[test]
fn a_payload_that_is_no_public_key_is_malformed() {
    for payload in [
        &b"not json"[..],
        b"{}",
        b"[1]",
        br#"{"kty":"oct","k":"AAAA"}"#,
    ] {
        let value = binding(
            json!({"alg": "HS256", "kid": "kid-1", "url": URL}),
            payload,
            MAC_KEY,
        );
        malformed_containing(check(&value), "payload");
    }
}

#[test]
fn a_broken_envelope_is_malformed() {
    let mut extra = good();
    extra["header"] = json!({});
    for value in [
        json!("a string"),
        json!({"protected": "e30", "payload": "e30"}),
        extra,
        json!({"protected": "not base64!", "payload": "e30", "signature": "AA"}),
        json!({"protected": b64(b"[]"), "payload": "e30", "signature": "AA"}),
    ] {
        assert!(
            matches!(check(&value), Err(EabError::Malformed(_))),
            "{value}"
        );
    }
}

#[test]
fn debug_output_never_holds_the_mac() {
    let parsed = ExternalAccountBinding::parse(&good()).unwrap();
    let printed = format!("{parsed:?}");
    assert!(
        !printed.contains("signature") && !printed.contains("mac"),
        "{printed}"
    );
}
