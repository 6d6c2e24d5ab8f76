//! Key identifiers (SKI, and the AKI that repeats the issuer's SKI) by a documented method.
//!
//! rcgen's default hashes the whole SubjectPublicKeyInfo, which matches no published method,
//! so linters cannot check it. basalt uses RFC 7093 §2 method 1: the leftmost 160 bits of the
//! SHA-256 hash of the subjectPublicKey BIT STRING value.

use rcgen::{KeyIdMethod, PublicKeyData};

/// RFC 5280 §4.2.1.2 leaves the method open; 160 bits keeps the SHA-1 method's length.
const KEY_ID_LEN: usize = 20;

/// The RFC 7093 §2 method 1 key identifier of `key`, as rcgen's pre-specified method.
pub(crate) fn key_identifier(key: &impl PublicKeyData) -> KeyIdMethod {
    KeyIdMethod::PreSpecified(key_identifier_bytes(key))
}

/// The RFC 7093 §2 method 1 key identifier of `key`.
pub(crate) fn key_identifier_bytes(key: &impl PublicKeyData) -> Vec<u8> {
    let digest = ring::digest::digest(&ring::digest::SHA256, key.der_bytes());
    digest.as_ref()[..KEY_ID_LEN].to_vec()
}
