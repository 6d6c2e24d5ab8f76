//! The signer's one error type.
//!
//! Variants name what went wrong in domain terms, so the server can map each one to a problem
//! document (a bad CSR is the client's fault, everything else is internal) without a wildcard.

use std::path::PathBuf;

use crate::csr::CsrError;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a PKI file failed; the path says which one.
    /// (The I/O error is in the message, not a `source`: reporters that print the chain
    /// would say it twice.)
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },

    /// `init` found part of an existing PKI, or a staged file's path was taken, and nothing
    /// is overwritten: a second root would silently orphan every certificate the first one
    /// vouched for, and a replaced intermediate key every certificate it signed.
    #[error(
        "{} already exists; basalt never overwrites PKI files (for init: move the data directory away to start over)",
        .0.display()
    )]
    AlreadyInitialised(PathBuf),

    /// The root key passphrase did not decrypt the root key file (named when one was read),
    /// or was empty, which would leave the root key effectively unprotected.
    #[error("the root key passphrase is empty or does not decrypt {}", root_key_name(.0.as_deref()))]
    BadRootPassword(Option<PathBuf>),

    /// A private key file exists but is unusable: not PKCS#8, an unsupported algorithm, or a
    /// key that does not belong to its certificate.
    #[error("private key {}: {reason}", path.display())]
    KeyFile { path: PathBuf, reason: String },

    /// A certificate file exists but is unusable: not PEM, not exactly one certificate, or not
    /// a CA certificate allowed to sign certificates.
    #[error("certificate {}: {reason}", path.display())]
    CertificateFile { path: PathBuf, reason: String },

    /// The client's CSR was refused; the inner error says why in words the client can act on.
    #[error(transparent)]
    Csr(#[from] CsrError),

    /// Building or signing a certificate failed inside rcgen or ring, or the request was
    /// inconsistent (for example notAfter before notBefore). Always an internal fault.
    #[error("signing failed: {0}")]
    Signing(String),

    /// A stored serving key did not open: sealed under another intermediate's key, beside
    /// another certificate chain, altered, or purged. The caller issues a new one.
    #[error("the stored serving key cannot be used: {0}")]
    SealedKey(String),

    /// A PKCS#11 module, token or key is unusable: the module does not load, the token or key
    /// is not found, the PIN is wrong, the key is of the wrong type or does not match its
    /// certificate. `what` names which (module path, token label, key URI).
    #[error("{what}: {reason}")]
    Token { what: String, reason: String },

    /// The token refused the configured PIN: wrong (CKR_PIN_INCORRECT), locked or expired.
    /// Tokens count wrong PINs and lock the user PIN after a few (a Nitrokey HSM after 3), so
    /// the process that met this does not offer that PIN again, and `serve` exits with
    /// `EX_CONFIG` (78), which the systemd unit does not restart.
    #[error("{what}: {reason}")]
    PinRefused { what: String, reason: String },

    /// A signing operation failed because of the token (removed, session closed, device
    /// error, logged out). Nothing was signed; the token is reconnected by the next attempt,
    /// so the caller answers "try again later" (503 with Retry-After) rather than failing.
    #[error("the signing token is unavailable: {0}")]
    TokenUnavailable(String),

    /// A certificate (or the public key in one) handed to this crate could not be decoded, or
    /// holds a key type basalt never certifies.
    #[error("unusable certificate: {0}")]
    Certificate(String),
}

/// The root key file for [`Error::BadRootPassword`]'s message.
fn root_key_name(path: Option<&std::path::Path>) -> String {
    path.map_or_else(|| "the root key".to_owned(), |p| p.display().to_string())
}

impl Error {
    /// Shorthand for an [`Error::Io`] on `path`.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |error| Self::Io { path, error }
    }
}
