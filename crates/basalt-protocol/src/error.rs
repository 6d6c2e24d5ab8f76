//! The protocol crate's one error type: why a JWS or JWK was refused.
//!
//! Each variant names what was wrong; `basalt-server`'s `problem.rs` decides the ACME problem
//! type a client sees for it.

/// A JWS request that cannot be accepted (RFC 8555 §6.2–6.5).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwsError {
    /// The body is not a flattened JWS JSON object with exactly `protected`, `payload` and
    /// `signature` (RFC 8555 §6.2), or a member is not base64url.
    #[error("{0}")]
    Malformed(String),
    /// `alg` is missing, `none`, a MAC algorithm, or one basalt does not support (§6.2).
    #[error("{0}")]
    BadSignatureAlgorithm(String),
    /// The `jwk` is not an acceptable public key object.
    #[error("{0}")]
    BadJwk(String),
    /// The key type, curve or size is outside policy.
    #[error("{0}")]
    BadPublicKey(String),
    /// The signature does not verify with the key.
    #[error("the JWS signature does not verify with the key")]
    BadSignature,
    /// The protected header carries no `nonce` where one is required (§6.5).
    #[error("the JWS has no nonce in its protected header")]
    MissingNonce,
}
