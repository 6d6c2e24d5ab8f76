//! External Account Binding (RFC 8555 §7.3.4): the flattened JWS a client puts in its
//! newAccount payload, MACed with a key the CA handed out, over the account's public key.
//!
//! Parsing and every check that needs no database live here (pure); the server looks the
//! `kid` up and decides what the key's state allows.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::jwk::Jwk;
use crate::jws::Envelope;

/// Why a binding was refused: `Malformed` for a binding that is not built as §7.3.4 says,
/// `Unauthorized` for one that is well built but does not authorize this account.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EabError {
    #[error("{0}")]
    Malformed(String),
    #[error("{0}")]
    Unauthorized(String),
}

/// The MAC algorithms a binding may use (RFC 8555 §7.3.4: "MUST indicate a MAC-based
/// algorithm"; RFC 7518 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacAlgorithm {
    Hs256,
    Hs384,
    Hs512,
}

impl MacAlgorithm {
    fn parse(name: &str) -> Option<Self> {
        match name {
            "HS256" => Some(Self::Hs256),
            "HS384" => Some(Self::Hs384),
            "HS512" => Some(Self::Hs512),
            _ => None,
        }
    }

    fn ring(self) -> ring::hmac::Algorithm {
        match self {
            Self::Hs256 => ring::hmac::HMAC_SHA256,
            Self::Hs384 => ring::hmac::HMAC_SHA384,
            Self::Hs512 => ring::hmac::HMAC_SHA512,
        }
    }
}

/// A parsed binding whose structure is checked; its MAC is not yet.
#[derive(Clone)]
pub struct ExternalAccountBinding {
    pub alg: MacAlgorithm,
    /// The key identifier the CA gave out.
    pub kid: String,
    /// The protected `url`.
    pub url: String,
    payload: Vec<u8>,
    signing_input: Vec<u8>,
    mac: Vec<u8>,
}

impl std::fmt::Debug for ExternalAccountBinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalAccountBinding")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl ExternalAccountBinding {
    /// Parses the `externalAccountBinding` member and checks its protected header
    /// (RFC 8555 §7.3.4): `alg` a MAC algorithm, `kid` present, `url` present, no `nonce`.
    pub fn parse(value: &Value) -> Result<Self, EabError> {
        let envelope = Envelope::deserialize(value).map_err(|e| {
            malformed(format!(
                "externalAccountBinding must be a flattened JWS object with exactly \"protected\", \"payload\" and \"signature\": {e}"
            ))
        })?;
        let header_bytes = decode("protected", &envelope.protected)?;
        let header: Map<String, Value> = serde_json::from_slice(&header_bytes).map_err(|_| {
            malformed("the externalAccountBinding protected header is not a JSON object".into())
        })?;
        let alg = match header.get("alg").and_then(Value::as_str) {
            Some(name) => MacAlgorithm::parse(name).ok_or_else(|| {
                malformed(format!(
                    "externalAccountBinding alg {name:?} is not accepted; RFC 8555 §7.3.4 requires a MAC: HS256, HS384 or HS512"
                ))
            })?,
            None => return Err(malformed("the externalAccountBinding has no \"alg\"".into())),
        };
        let kid = match header.get("kid") {
            Some(Value::String(kid)) if !kid.is_empty() => kid.clone(),
            _ => {
                return Err(malformed(
                    "the externalAccountBinding protected header needs a \"kid\" string (the EAB key id)".into(),
                ));
            }
        };
        // RFC 8555 §7.3.4: "MUST NOT contain a "nonce" field".
        if header.contains_key("nonce") {
            return Err(malformed(
                "the externalAccountBinding protected header must not contain a \"nonce\" (RFC 8555 §7.3.4)".into(),
            ));
        }
        for forbidden in ["crit", "b64", "jwk"] {
            if header.contains_key(forbidden) {
                return Err(malformed(format!(
                    "the externalAccountBinding protected header must not contain {forbidden:?}"
                )));
            }
        }
        let url = match header.get("url") {
            Some(Value::String(url)) => url.clone(),
            _ => {
                return Err(malformed(
                    "the externalAccountBinding protected header needs a \"url\" string (the newAccount URL)".into(),
                ));
            }
        };
        Ok(Self {
            alg,
            kid,
            url,
            payload: decode("payload", &envelope.payload)?,
            mac: decode("signature", &envelope.signature)?,
            signing_input: format!("{}.{}", envelope.protected, envelope.payload).into_bytes(),
        })
    }

    /// RFC 8555 §7.3.4: the protected `url` is the same as the outer JWS's (the newAccount
    /// URL).
    pub fn check_url(&self, new_account_url: &str) -> Result<(), EabError> {
        if self.url != new_account_url {
            return Err(malformed(format!(
                "the externalAccountBinding url {:?} is not this newAccount URL {new_account_url:?}",
                self.url
            )));
        }
        Ok(())
    }

    /// RFC 8555 §7.3.4: the payload is the account key, the same as the outer JWS's `jwk`.
    pub fn check_key(&self, account_key: &Jwk) -> Result<(), EabError> {
        let value: Value = serde_json::from_slice(&self.payload).map_err(|_| {
            malformed(
                "the externalAccountBinding payload is not a JSON object (the account's JWK)"
                    .into(),
            )
        })?;
        let bound = Jwk::from_stored_json(&value).map_err(|e| {
            malformed(format!(
                "the externalAccountBinding payload is not a public JWK: {e}"
            ))
        })?;
        if !bound.same_key(account_key) {
            return Err(EabError::Unauthorized(
                "the externalAccountBinding payload is a different key from the account key (the outer JWS's jwk)".into(),
            ));
        }
        Ok(())
    }

    /// Checks the MAC with the key the CA handed out for `kid`, in constant time (ring).
    pub fn verify_mac(&self, key: &[u8]) -> Result<(), EabError> {
        let key = ring::hmac::Key::new(self.alg.ring(), key);
        ring::hmac::verify(&key, &self.signing_input, &self.mac).map_err(|_| {
            EabError::Unauthorized(format!(
                "the externalAccountBinding MAC does not verify with the HMAC key of kid {:?}",
                self.kid
            ))
        })
    }
}

fn malformed(detail: String) -> EabError {
    EabError::Malformed(detail)
}

fn decode(member: &str, text: &str) -> Result<Vec<u8>, EabError> {
    URL_SAFE_NO_PAD.decode(text).map_err(|_| {
        malformed(format!(
            "the externalAccountBinding member {member:?} is not base64url without padding"
        ))
    })
}

#[cfg(test)]
mod tests;
