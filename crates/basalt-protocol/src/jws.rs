//! Flattened JWS requests (RFC 8555 §6.2) and their verification.
//!
//! josekit's `deserialize_json` is too permissive for ACME (it accepts the general
//! serialization and an unprotected header), so the envelope is parsed here with
//! `deny_unknown_fields` and the header checked by hand. Signatures are verified with ring
//! (ES256, ES384, RS256, EdDSA: no key parsing per request) and josekit for ES512, which ring
//! lacks.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::JwsError;
use crate::jwk::{EcCurve, Jwk, strip_zeros};

/// The signature algorithms accepted for requests (RFC 8555 §6.2: never `none` or a MAC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Es256,
    Es384,
    Es512,
    Rs256,
    EdDsa,
}

impl Algorithm {
    pub fn name(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::Es512 => "ES512",
            Self::Rs256 => "RS256",
            Self::EdDsa => "EdDSA",
        }
    }

    /// The allow-list, as advertised in `badSignatureAlgorithm` problems (RFC 8555 §6.7).
    pub const ALL: [Self; 5] = [
        Self::Es256,
        Self::Es384,
        Self::Es512,
        Self::Rs256,
        Self::EdDsa,
    ];

    fn parse(name: &str) -> Result<Self, JwsError> {
        Self::ALL
            .into_iter()
            .find(|a| a.name() == name)
            .ok_or_else(|| {
                JwsError::BadSignatureAlgorithm(format!(
                    "JWS algorithm {name:?} is not accepted; use one of ES256, ES384, ES512, RS256, EdDSA"
                ))
            })
    }
}

/// How the request names its key (RFC 8555 §6.2: exactly one of `jwk` and `kid`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRef {
    Jwk(Jwk),
    Kid(String),
}

/// The checked protected header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedHeader {
    pub alg: Algorithm,
    pub key: KeyRef,
    /// RFC 8555 §6.5; absent only where allowed (the inner JWS of keyChange).
    pub nonce: Option<String>,
    /// RFC 8555 §6.4.
    pub url: String,
}

/// A parsed, not yet verified flattened JWS.
#[derive(Debug, Clone)]
pub struct Jws {
    pub header: ProtectedHeader,
    /// The decoded payload; empty for POST-as-GET (RFC 8555 §6.3).
    pub payload: Vec<u8>,
    signing_input: Vec<u8>,
    signature: Vec<u8>,
}

/// The flattened JWS members (RFC 7515 §7.2.2), nothing else: also the shape of an External
/// Account Binding (`crate::eab`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Envelope {
    pub(crate) protected: String,
    pub(crate) payload: String,
    pub(crate) signature: String,
}

impl Jws {
    /// Parses a flattened JWS JSON body (RFC 7515 §7.2.2) and checks its protected header.
    pub fn parse(body: &[u8]) -> Result<Self, JwsError> {
        let envelope: Envelope = serde_json::from_slice(body).map_err(|e| {
            JwsError::Malformed(format!(
                "the body must be a flattened JWS JSON object with exactly \"protected\", \"payload\" and \"signature\": {e}"
            ))
        })?;
        Self::from_envelope(envelope)
    }

    /// Parses a flattened JWS given as a JSON value (the inner JWS of keyChange, §7.3.5).
    pub fn from_value(value: Value) -> Result<Self, JwsError> {
        let envelope: Envelope = serde_json::from_value(value).map_err(|e| {
            JwsError::Malformed(format!("the inner JWS must be a flattened JWS object: {e}"))
        })?;
        Self::from_envelope(envelope)
    }

    fn from_envelope(envelope: Envelope) -> Result<Self, JwsError> {
        let header_bytes = decode("protected", &envelope.protected)?;
        let header: Map<String, Value> = serde_json::from_slice(&header_bytes)
            .map_err(|_| JwsError::Malformed("the protected header is not a JSON object".into()))?;
        let header = check_header(&header)?;
        let payload = decode("payload", &envelope.payload)?;
        let signature = decode("signature", &envelope.signature)?;
        let signing_input = format!("{}.{}", envelope.protected, envelope.payload).into_bytes();
        Ok(Self {
            header,
            payload,
            signing_input,
            signature,
        })
    }

    /// True for POST-as-GET (RFC 8555 §6.3): the payload is the empty string.
    pub fn is_post_as_get(&self) -> bool {
        self.payload.is_empty()
    }

    /// Verifies the signature with `key`, which must suit the header's `alg`.
    pub fn verify(&self, key: &Jwk) -> Result<(), JwsError> {
        verify_signature(self.header.alg, key, &self.signing_input, &self.signature)
    }
}

fn decode(member: &str, text: &str) -> Result<Vec<u8>, JwsError> {
    URL_SAFE_NO_PAD.decode(text).map_err(|_| {
        JwsError::Malformed(format!(
            "the JWS member {member:?} is not base64url without padding"
        ))
    })
}

fn check_header(header: &Map<String, Value>) -> Result<ProtectedHeader, JwsError> {
    let alg = match header.get("alg") {
        Some(Value::String(name)) => Algorithm::parse(name)?,
        _ => {
            return Err(JwsError::BadSignatureAlgorithm(
                "the protected header has no \"alg\"".into(),
            ));
        }
    };
    // RFC 8555 §6.2 allows no extensions; RFC 7797's unencoded payload would break §6.3.
    for forbidden in ["crit", "b64"] {
        if header.contains_key(forbidden) {
            return Err(JwsError::Malformed(format!(
                "the protected header must not contain {forbidden:?}"
            )));
        }
    }
    let key = match (header.get("jwk"), header.get("kid")) {
        (Some(jwk), None) => {
            let key = Jwk::from_json(jwk)?;
            // RFC 7517 §4.4: a JWK "alg", when present, must match its use.
            if let Some(jwk_alg) = jwk.get("alg").and_then(Value::as_str)
                && jwk_alg != alg.name()
            {
                return Err(JwsError::BadSignatureAlgorithm(format!(
                    "the jwk says alg {jwk_alg:?} but the JWS is signed with {}",
                    alg.name()
                )));
            }
            KeyRef::Jwk(key)
        }
        (None, Some(Value::String(kid))) => KeyRef::Kid(kid.clone()),
        (None, Some(_)) => return Err(JwsError::Malformed("\"kid\" must be a string".into())),
        (Some(_), Some(_)) => {
            return Err(JwsError::Malformed(
                "the protected header must contain exactly one of \"jwk\" and \"kid\", not both"
                    .into(),
            ));
        }
        (None, None) => {
            return Err(JwsError::Malformed(
                "the protected header must contain one of \"jwk\" and \"kid\"".into(),
            ));
        }
    };
    let nonce = match header.get("nonce") {
        None => None,
        Some(Value::String(n)) => Some(n.clone()),
        Some(_) => return Err(JwsError::Malformed("\"nonce\" must be a string".into())),
    };
    let url = match header.get("url") {
        Some(Value::String(u)) => u.clone(),
        Some(_) => return Err(JwsError::Malformed("\"url\" must be a string".into())),
        None => {
            return Err(JwsError::Malformed(
                "the protected header has no \"url\" (RFC 8555 §6.4)".into(),
            ));
        }
    };
    Ok(ProtectedHeader {
        alg,
        key,
        nonce,
        url,
    })
}

fn verify_signature(
    alg: Algorithm,
    key: &Jwk,
    message: &[u8],
    signature: &[u8],
) -> Result<(), JwsError> {
    use ring::signature as sig;
    let mismatch = || {
        JwsError::BadSignatureAlgorithm(format!(
            "a JWS signed with {} cannot be verified with this key type",
            alg.name()
        ))
    };
    match (alg, key) {
        (
            Algorithm::Es256,
            Jwk::Ec {
                curve: EcCurve::P256,
                ..
            },
        ) => ring_verify(&sig::ECDSA_P256_SHA256_FIXED, key, message, signature),
        (
            Algorithm::Es384,
            Jwk::Ec {
                curve: EcCurve::P384,
                ..
            },
        ) => ring_verify(&sig::ECDSA_P384_SHA384_FIXED, key, message, signature),
        (
            Algorithm::Es512,
            Jwk::Ec {
                curve: EcCurve::P521,
                ..
            },
        ) => verify_es512(key, message, signature),
        (Algorithm::EdDsa, Jwk::Ed25519 { .. }) => {
            ring_verify(&sig::ED25519, key, message, signature)
        }
        (Algorithm::Rs256, Jwk::Rsa { n, e }) => sig::RsaPublicKeyComponents {
            n: strip_zeros(n),
            e: strip_zeros(e),
        }
        .verify(&sig::RSA_PKCS1_2048_8192_SHA256, message, signature)
        .map_err(|_| JwsError::BadSignature),
        _ => Err(mismatch()),
    }
}

fn ring_verify(
    algorithm: &'static dyn ring::signature::VerificationAlgorithm,
    key: &Jwk,
    message: &[u8],
    signature: &[u8],
) -> Result<(), JwsError> {
    let public = key.public_key_bytes().ok_or(JwsError::BadSignature)?;
    ring::signature::UnparsedPublicKey::new(algorithm, public)
        .verify(message, signature)
        .map_err(|_| JwsError::BadSignature)
}

/// ES512 (P-521) through josekit/OpenSSL: ring has no P-521.
fn verify_es512(key: &Jwk, message: &[u8], signature: &[u8]) -> Result<(), JwsError> {
    let jwk = josekit::jwk::Jwk::from_bytes(key.to_json().as_bytes())
        .map_err(|e| JwsError::BadPublicKey(format!("P-521 key rejected: {e}")))?;
    let verifier = josekit::jws::ES512
        .verifier_from_jwk(&jwk)
        .map_err(|e| JwsError::BadPublicKey(format!("P-521 key rejected: {e}")))?;
    josekit::jws::JwsVerifier::verify(&verifier, message, signature)
        .map_err(|_| JwsError::BadSignature)
}

#[cfg(test)]
mod tests;
