//! The intermediate's signing key inside an [`crate::Issuer`]: a key read from a file, or a
//! key in a PKCS#11 token. Both are rcgen `SigningKey`s, so issuing leaves, serving
//! certificates and CRLs is the same code for every kind.

use rcgen::{KeyPair, PublicKeyData, SignatureAlgorithm, SigningKey};
use zeroize::Zeroizing;

use crate::Error;
use crate::pkcs11::{Pkcs11Key, take_token_failure};

pub(crate) enum IssuerKey {
    /// Wiped on drop.
    File(Zeroizing<KeyPair>),
    Pkcs11(Pkcs11Key),
}

impl PublicKeyData for IssuerKey {
    fn der_bytes(&self) -> &[u8] {
        match self {
            Self::File(key) => key.der_bytes(),
            Self::Pkcs11(key) => key.der_bytes(),
        }
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        match self {
            Self::File(key) => key.algorithm(),
            Self::Pkcs11(key) => key.algorithm(),
        }
    }
}

impl SigningKey for IssuerKey {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        match self {
            Self::File(key) => key.sign(message),
            Self::Pkcs11(key) => key.sign(message),
        }
    }
}

/// Clears a token failure left over on this thread, before a signing operation.
pub(crate) fn clear_token_failure() {
    let _ = take_token_failure();
}

/// The error for a failed rcgen signing operation: [`Error::TokenUnavailable`] when the token
/// caused it (the reason was kept by the token key), else [`Error::Signing`].
pub(crate) fn signing_error(e: &rcgen::Error) -> Error {
    match take_token_failure() {
        Some(reason) => Error::TokenUnavailable(reason),
        None => Error::Signing(e.to_string()),
    }
}
