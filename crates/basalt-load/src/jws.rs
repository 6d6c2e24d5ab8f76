//! Flattened JWS request bodies (RFC 8555 §6.2, RFC 7515 §7.2.2), signed ES256.
//!
//! Only `nonce` and `url` change between requests, so the start of the protected header (alg
//! and the `jwk` or `kid`) is rendered once per account and each request appends two strings
//! to it: no JSON serializer runs per request, and the JWK is never re-encoded.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;

use crate::account_key::AccountKey;
use crate::error::Error;

pub(crate) struct JwsSigner {
    key: AccountKey,
    /// `{"alg":"ES256","jwk":{…},"nonce":"` or `{"alg":"ES256","kid":"…","nonce":"`.
    header_prefix: String,
}

impl JwsSigner {
    /// RFC 8555 §6.2: newAccount is signed with the public key itself in `jwk`.
    pub(crate) fn with_jwk(key: AccountKey) -> Self {
        let header_prefix = format!(r#"{{"alg":"ES256","jwk":{},"nonce":""#, key.jwk_json());
        Self { key, header_prefix }
    }

    /// RFC 8555 §6.2: every later request names the account URL in `kid`.
    pub(crate) fn into_kid(self, account_url: &str) -> Self {
        let mut header_prefix = String::from(r#"{"alg":"ES256","kid":""#);
        push_json_escaped(&mut header_prefix, account_url);
        header_prefix.push_str(r#"","nonce":""#);
        Self {
            key: self.key,
            header_prefix,
        }
    }

    pub(crate) fn key(&self) -> &AccountKey {
        &self.key
    }

    /// The request body for `url`, using `nonce` (RFC 8555 §6.5) and the already
    /// base64url-encoded payload (empty for POST-as-GET, RFC 8555 §6.3).
    pub(crate) fn sign(
        &self,
        rng: &SystemRandom,
        nonce: &str,
        url: &str,
        payload_b64: &str,
    ) -> Result<String, Error> {
        let mut header =
            String::with_capacity(self.header_prefix.len() + nonce.len() + url.len() + 12);
        header.push_str(&self.header_prefix);
        push_json_escaped(&mut header, nonce);
        header.push_str(r#"","url":""#);
        push_json_escaped(&mut header, url);
        header.push_str(r#""}"#);
        let protected = URL_SAFE_NO_PAD.encode(header);

        let mut signing_input = String::with_capacity(protected.len() + 1 + payload_b64.len());
        signing_input.push_str(&protected);
        signing_input.push('.');
        signing_input.push_str(payload_b64);
        let signature = URL_SAFE_NO_PAD.encode(self.key.sign(rng, signing_input.as_bytes())?);

        Ok(format!(
            r#"{{"protected":"{protected}","payload":"{payload_b64}","signature":"{signature}"}}"#
        ))
    }
}

/// Appends `text` as the inside of a JSON string (RFC 8259 §7). Nonces and URLs from a
/// well-behaved server need no escaping, but a server's text must never break the header.
fn push_json_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use basalt_protocol::{Jws, KeyRef};

    use super::*;

    fn signer() -> JwsSigner {
        JwsSigner::with_jwk(AccountKey::generate(&SystemRandom::new()).unwrap())
    }

    #[test]
    fn jwk_request_verifies_with_basalts_verifier() {
        let signer = signer();
        let payload = URL_SAFE_NO_PAD.encode(br#"{"termsOfServiceAgreed":true}"#);
        let body = signer
            .sign(
                &SystemRandom::new(),
                "bm9uY2U",
                "https://ca.test/new-account",
                &payload,
            )
            .unwrap();

        let jws = Jws::parse(body.as_bytes()).unwrap();
        let KeyRef::Jwk(jwk) = &jws.header.key else {
            panic!("expected a jwk header, got {:?}", jws.header.key);
        };
        jws.verify(jwk).unwrap();
        assert_eq!(jws.header.nonce.as_deref(), Some("bm9uY2U"));
        assert_eq!(jws.header.url, "https://ca.test/new-account");
        assert_eq!(jws.payload, br#"{"termsOfServiceAgreed":true}"#);
    }

    #[test]
    fn kid_post_as_get_verifies_and_has_an_empty_payload() {
        let signer = signer();
        let jwk: serde_json::Value = serde_json::from_str(signer.key().jwk_json()).unwrap();
        let public = basalt_protocol::Jwk::from_json(&jwk).unwrap();
        let signer = signer.into_kid("https://ca.test/acct/7");
        let body = signer
            .sign(&SystemRandom::new(), "n2", "https://ca.test/order/1", "")
            .unwrap();

        let jws = Jws::parse(body.as_bytes()).unwrap();
        assert_eq!(jws.header.key, KeyRef::Kid("https://ca.test/acct/7".into()));
        assert!(jws.is_post_as_get());
        jws.verify(&public).unwrap();
    }

    #[test]
    fn a_tampered_url_fails_verification() {
        let signer = signer();
        let body = signer
            .sign(&SystemRandom::new(), "n", "https://ca.test/a", "")
            .unwrap();
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        let header = URL_SAFE_NO_PAD
            .decode(value["protected"].as_str().unwrap())
            .unwrap();
        let forged = String::from_utf8(header)
            .unwrap()
            .replace("ca.test/a", "ca.test/b");
        let forged_body = serde_json::json!({
            "protected": URL_SAFE_NO_PAD.encode(forged),
            "payload": "",
            "signature": value["signature"],
        });
        let jws = Jws::parse(forged_body.to_string().as_bytes()).unwrap();
        let KeyRef::Jwk(jwk) = &jws.header.key else {
            panic!("expected a jwk header");
        };
        assert!(jws.verify(jwk).is_err());
    }

    #[test]
    fn quotes_in_urls_are_escaped() {
        let mut out = String::new();
        push_json_escaped(&mut out, "a\"b\\c\n");
        assert_eq!(out, "a\\\"b\\\\c\\u000a");
    }
}
