//! Account keys: ECDSA P-256 with SHA-256, i.e. JWS `ES256` (RFC 7518 §3.4), generated once
//! per worker before timing starts.
//!
//! The public JWK is rendered once, in RFC 7638 §3.2 canonical form: the same text serves as
//! the `jwk` header member of newAccount and as the thumbprint input for key authorizations.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};

use crate::error::Error;

/// Length of one P-256 coordinate in bytes.
const P256_COORDINATE_LEN: usize = 32;

pub(crate) struct AccountKey {
    pair: EcdsaKeyPair,
    jwk_json: String,
    thumbprint: String,
}

impl AccountKey {
    pub(crate) fn generate(rng: &SystemRandom) -> Result<Self, Error> {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, rng)
            .map_err(|_| Error::Crypto("cannot generate a P-256 account key"))?;
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), rng)
            .map_err(|_| Error::Crypto("ring refused the P-256 key it just generated"))?;
        // ring's public key is the uncompressed SEC1 point: 0x04 || x || y.
        let point = pair.public_key().as_ref();
        let (x, y) = point[1..].split_at(P256_COORDINATE_LEN);
        // RFC 7638 §3.2: the required members only, in lexicographic order, no whitespace.
        let jwk_json = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            URL_SAFE_NO_PAD.encode(x),
            URL_SAFE_NO_PAD.encode(y)
        );
        // RFC 7638 §3.1: base64url(SHA-256(canonical JWK)).
        let digest = ring::digest::digest(&ring::digest::SHA256, jwk_json.as_bytes());
        let thumbprint = URL_SAFE_NO_PAD.encode(digest.as_ref());
        Ok(Self {
            pair,
            jwk_json,
            thumbprint,
        })
    }

    /// The public key as a JWK JSON object (RFC 7517), canonical member order.
    pub(crate) fn jwk_json(&self) -> &str {
        &self.jwk_json
    }

    /// RFC 8555 §8.1: the key authorization for a challenge token,
    /// `token || '.' || base64url(Thumbprint(accountKey))`.
    pub(crate) fn key_authorization(&self, token: &str) -> String {
        format!("{token}.{}", self.thumbprint)
    }

    /// RFC 7518 §3.4: the ES256 signature is R || S, 32 bytes each (ring's "fixed" format).
    pub(crate) fn sign(&self, rng: &SystemRandom, message: &[u8]) -> Result<Vec<u8>, Error> {
        let signature = self
            .pair
            .sign(rng, message)
            .map_err(|_| Error::Crypto("ECDSA signing failed"))?;
        Ok(signature.as_ref().to_vec())
    }

    #[cfg(test)]
    pub(crate) fn thumbprint(&self) -> &str {
        &self.thumbprint
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprint_matches_basalts_rfc7638_implementation() {
        let key = AccountKey::generate(&SystemRandom::new()).unwrap();
        let jwk: serde_json::Value = serde_json::from_str(key.jwk_json()).unwrap();
        let theirs = basalt_protocol::Jwk::from_json(&jwk).unwrap();
        assert_eq!(key.thumbprint(), theirs.thumbprint());
        let token = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA";
        assert_eq!(
            key.key_authorization(token),
            basalt_protocol::KeyAuthorization::new(token, &theirs.thumbprint()).as_str()
        );
    }
}
