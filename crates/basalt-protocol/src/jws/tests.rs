//! Tests for the flattened JWS parser and verifier, signing with josekit as clients do.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jws::{ES256, ES384, ES512, EdDSA, JwsHeaderSet, RS256};

use serde_json::json;

use super::*;

fn sign(alg: &str, payload: &[u8]) -> (Vec<u8>, Jwk) {
    let (signer, public): (Box<dyn josekit::jws::JwsSigner>, josekit::jwk::Jwk) = match alg {
        "ES256" => {
            let kp = ES256.generate_key_pair().unwrap();
            (
                Box::new(ES256.signer_from_jwk(&kp.to_jwk_private_key()).unwrap()),
                kp.to_jwk_public_key(),
            )
        }
        "ES384" => {
            let kp = ES384.generate_key_pair().unwrap();
            (
                Box::new(ES384.signer_from_jwk(&kp.to_jwk_private_key()).unwrap()),
                kp.to_jwk_public_key(),
            )
        }
        "ES512" => {
            let kp = ES512.generate_key_pair().unwrap();
            (
                Box::new(ES512.signer_from_jwk(&kp.to_jwk_private_key()).unwrap()),
                kp.to_jwk_public_key(),
            )
        }
        "RS256" => {
            let kp = RS256.generate_key_pair(2048).unwrap();
            (
                Box::new(RS256.signer_from_jwk(&kp.to_jwk_private_key()).unwrap()),
                kp.to_jwk_public_key(),
            )
        }
        "EdDSA" => {
            let kp = EdDSA
                .generate_key_pair(josekit::jwk::alg::ed::EdCurve::Ed25519)
                .unwrap();
            (
                Box::new(EdDSA.signer_from_jwk(&kp.to_jwk_private_key()).unwrap()),
                kp.to_jwk_public_key(),
            )
        }
        _ => unreachable!(),
    };
    let mut header = JwsHeaderSet::new();
    header.set_jwk(public.clone(), true);
    header.set_url("https://ca.test/acme/default/new-account", true);
    header
        .set_claim("nonce", Some("bm9uY2U".into()), true)
        .unwrap();
    let body = josekit::jws::serialize_flattened_json(payload, &header, &*signer).unwrap();
    let key = Jwk::from_json(&serde_json::to_value(public.as_ref()).unwrap()).unwrap();
    (body.into_bytes(), key)
}

#[test]
fn every_allowed_algorithm_verifies() {
    for alg in ["ES256", "ES384", "ES512", "RS256", "EdDSA"] {
        let (body, key) = sign(alg, b"{}");
        let jws = Jws::parse(&body).unwrap();
        assert_eq!(jws.header.alg.name(), alg);
        assert_eq!(jws.header.key, KeyRef::Jwk(key.clone()));
        assert_eq!(jws.header.nonce.as_deref(), Some("bm9uY2U"));
        jws.verify(&key).unwrap_or_else(|e| panic!("{alg}: {e}"));
    }
}

#[test]
fn tampered_payload_fails_verification() {
    let (body, key) = sign("ES256", b"{}");
    let mut v: Value = serde_json::from_slice(&body).unwrap();
    v["payload"] = URL_SAFE_NO_PAD.encode(b"{\"a\":1}").into();
    let jws = Jws::parse(v.to_string().as_bytes()).unwrap();
    assert_eq!(jws.verify(&key), Err(JwsError::BadSignature));
}

#[test]
fn a_key_of_another_type_is_a_bad_signature_algorithm() {
    let (body, _) = sign("ES256", b"{}");
    let (_, rsa) = sign("RS256", b"{}");
    let jws = Jws::parse(&body).unwrap();
    assert!(matches!(
        jws.verify(&rsa),
        Err(JwsError::BadSignatureAlgorithm(_))
    ));
}

fn with_header(header: Value) -> Result<Jws, JwsError> {
    let body = json!({
        "protected": URL_SAFE_NO_PAD.encode(header.to_string()),
        "payload": "",
        "signature": "AAAA",
    });
    Jws::parse(body.to_string().as_bytes())
}

#[test]
fn header_rules() {
    let jwk = json!({"kty":"EC","crv":"P-256","x":URL_SAFE_NO_PAD.encode([1u8;32]),"y":URL_SAFE_NO_PAD.encode([2u8;32])});
    let ok = json!({"alg":"ES256","jwk":jwk,"url":"u","nonce":"n"});
    assert!(with_header(ok.clone()).is_ok());
    for (alg, _) in [("none", 0), ("HS256", 0), ("RS1", 0)] {
        let mut h = ok.clone();
        h["alg"] = alg.into();
        assert!(
            matches!(with_header(h), Err(JwsError::BadSignatureAlgorithm(_))),
            "{alg}"
        );
    }
    let mut both = ok.clone();
    both["kid"] = "https://ca.test/acct/1".into();
    assert!(matches!(with_header(both), Err(JwsError::Malformed(_))));
    let neither = json!({"alg":"ES256","url":"u","nonce":"n"});
    assert!(matches!(with_header(neither), Err(JwsError::Malformed(_))));
    let no_url = json!({"alg":"ES256","jwk":jwk,"nonce":"n"});
    assert!(matches!(with_header(no_url), Err(JwsError::Malformed(_))));
    let mut crit = ok.clone();
    crit["crit"] = json!(["x"]);
    assert!(matches!(with_header(crit), Err(JwsError::Malformed(_))));
    let mut alg_mismatch = ok;
    alg_mismatch["jwk"]["alg"] = "ES384".into();
    assert!(matches!(
        with_header(alg_mismatch),
        Err(JwsError::BadSignatureAlgorithm(_))
    ));
}

#[test]
fn envelope_rules() {
    for body in [
        r#"{"protected":"e30","payload":"","signature":"","header":{}}"#,
        r#"{"payload":"","signatures":[]}"#,
        r#"not json"#,
        r#"{"protected":"e30=","payload":"","signature":""}"#,
    ] {
        assert!(
            matches!(Jws::parse(body.as_bytes()), Err(JwsError::Malformed(_))),
            "{body}"
        );
    }
}
