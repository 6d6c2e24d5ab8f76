//! Where an intermediate's private key is, as `intermediates.key_ref` says, resolved by the
//! caller: a key file (plaintext or encrypted) or a key in a PKCS#11 token.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use zeroize::Zeroizing;

use crate::{Passphrase, Pkcs11Token, Pkcs11Uri};

/// An intermediate's private key, for [`crate::Issuer::from_certificate_pem`].
pub enum KeySource {
    /// A PKCS#8 PEM file. `passphrase` is for an `ENCRYPTED PRIVATE KEY` file only: a
    /// plaintext file given one is refused, as is an encrypted file without one.
    File {
        path: PathBuf,
        passphrase: Option<Passphrase>,
    },
    /// A private key in a token, named by `uri` (its token must be `token`).
    Pkcs11 {
        token: Arc<Pkcs11Token>,
        uri: Pkcs11Uri,
        /// The random secret (at least 32 bytes) the serving key's seal is derived from
        /// together with the key's public key: a token key has no private bytes to derive
        /// from (see `serving_key.rs`). Wiped on drop.
        seal_secret: Zeroizing<Vec<u8>>,
    },
}

impl fmt::Debug for KeySource {
    /// Names the key; passphrase and seal secret stay out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File { path, passphrase } => f
                .debug_struct("File")
                .field("path", path)
                .field("encrypted", &passphrase.is_some())
                .finish(),
            Self::Pkcs11 { token, uri, .. } => f
                .debug_struct("Pkcs11")
                .field("token", &token.label())
                .field("uri", uri)
                .finish_non_exhaustive(),
        }
    }
}
