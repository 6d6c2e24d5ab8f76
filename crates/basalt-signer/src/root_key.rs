//! The root private key at rest: PKCS#8 EncryptedPrivateKeyInfo (RFC 5958 §3) with PBES2
//! (RFC 8018 §6.2), scrypt (RFC 7914) and AES-256-CBC.
//!
//! The root key is used only by `init` (and future intermediate rotation), never by `serve`,
//! so it is never written in the clear. The format is the one `openssl pkey` reads, so an
//! operator can inspect or move the key with standard tools.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pkcs8::der::pem::LineEnding;
use pkcs8::pkcs5::{pbes2, scrypt};
use pkcs8::{EncryptedPrivateKeyInfoRef, PrivateKeyInfoRef, SecretDocument};
use rustls_pki_types::PrivatePkcs8KeyDer;
use zeroize::Zeroizing;

use crate::paths::PkiPaths;
use crate::random::random_bytes;
use crate::{Error, inspect};

/// scrypt cost (RFC 7914 §2). OpenSSL 3 caps scrypt memory at 32 MiB when it decrypts a PKCS#8
/// key (`openssl pkey` fails with "memory limit exceeded" for N ≥ 2^15 at r = 8), so with the
/// standard r = 8 the largest usable N is 2^14 (16 MiB). p = 8 brings the work up to that of
/// N = 2^17, p = 1: about 0.4 s per guess on one core. Generated passphrases have 256 bits.
const SCRYPT_LOG_N: u8 = 14;
const SCRYPT_R: u32 = 8;
const SCRYPT_P: u32 = 8;

/// RFC 5958 §3 PEM label (RFC 7468 §11).
pub(crate) const ENCRYPTED_LABEL: &str = "ENCRYPTED PRIVATE KEY";

/// A root key passphrase, wiped from memory when dropped; `Debug` never shows it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Length in characters (for the binary's minimum-length rule).
    pub fn char_count(&self) -> usize {
        self.0.chars().count()
    }
}

impl std::ops::Deref for Passphrase {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

impl From<&str> for Passphrase {
    fn from(value: &str) -> Self {
        Self(Zeroizing::new(value.to_owned()))
    }
}

impl From<String> for Passphrase {
    fn from(value: String) -> Self {
        Self(Zeroizing::new(value))
    }
}

/// A new passphrase: 32 random bytes as unpadded base64url (43 characters, 256 bits).
pub(crate) fn generate_password() -> Result<Zeroizing<String>, Error> {
    let bytes = Zeroizing::new(random_bytes::<32>()?);
    Ok(Zeroizing::new(URL_SAFE_NO_PAD.encode(bytes.as_ref())))
}

/// Encrypts a PKCS#8 `PrivateKeyInfo` (DER) under `password` and returns the PEM text.
pub(crate) fn encrypt_pkcs8(pkcs8_der: &[u8], password: &str) -> Result<Zeroizing<String>, Error> {
    let failed =
        |e: &dyn std::fmt::Display| Error::Signing(format!("encrypting a private key: {e}"));
    let params = scrypt::Params::new(SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P).map_err(|e| failed(&e))?;
    let salt = random_bytes::<16>()?;
    let iv = random_bytes::<16>()?;
    let pbes2 =
        pbes2::Parameters::generate_scrypt_aes256cbc(params, &salt, iv).map_err(|e| failed(&e))?;
    let info = PrivateKeyInfoRef::try_from(pkcs8_der).map_err(|e| failed(&e))?;
    let encrypted = info
        .encrypt_with_params(pbes2, password.as_bytes())
        .map_err(|e| failed(&e))?;
    encrypted
        .to_pem(ENCRYPTED_LABEL, LineEnding::LF)
        .map_err(|e| failed(&e))
}

/// Decrypts the root key with `password` (the file's contents exactly; see
/// [`read_root_password`]). A wrong passphrase is [`Error::BadRootPassword`]; the key is also
/// checked against `root.pem`, so a swapped key file is caught here rather than at signing.
///
/// `serve` never calls this: it exists for intermediate rotation, which runs offline.
pub fn decrypt_root_key(
    paths: &PkiPaths,
    password: &str,
) -> Result<Zeroizing<rcgen::KeyPair>, Error> {
    decrypt_root_key_file(&paths.root_key(), &paths.root_cert(), password).map(|(key, _)| key)
}

/// [`decrypt_root_key`] for a key file anywhere (the operator may keep `offline/` elsewhere),
/// checked against the root certificate at `root_cert`, which is returned as DER beside it.
/// An unreadable file is [`Error::Io`] naming it; a wrong passphrase is
/// [`Error::BadRootPassword`] naming it.
pub(crate) fn decrypt_root_key_file(
    path: &Path,
    root_cert: &Path,
    password: &str,
) -> Result<(Zeroizing<rcgen::KeyPair>, Vec<u8>), Error> {
    let key_error = |reason: String| Error::KeyFile {
        path: path.to_path_buf(),
        reason,
    };
    let pem = Zeroizing::new(std::fs::read_to_string(path).map_err(Error::io(path))?);
    let (label, document) = SecretDocument::from_pem(&pem)
        .map_err(|e| key_error(format!("not a PEM document: {e}")))?;
    if label != ENCRYPTED_LABEL {
        return Err(key_error(format!(
            "expected an {ENCRYPTED_LABEL} block, found {label}"
        )));
    }
    let encrypted = EncryptedPrivateKeyInfoRef::try_from(document.as_bytes())
        .map_err(|e| key_error(format!("not a PKCS#8 EncryptedPrivateKeyInfo: {e}")))?;
    let bad_password = || Error::BadRootPassword(Some(path.to_path_buf()));
    if password.is_empty() {
        return Err(bad_password());
    }
    // AES-CBC padding or the DER inside fails to check with the wrong key; either way, the
    // passphrase is what the operator can fix.
    let pkcs8 = encrypted
        .decrypt(password.as_bytes())
        .map_err(|_| bad_password())?;
    let der = PrivatePkcs8KeyDer::from(pkcs8.as_bytes());
    let key = Zeroizing::new(
        rcgen::KeyPair::try_from(&der)
            .map_err(|e| key_error(format!("the decrypted key is unusable: {e}")))?,
    );

    let root_pem = std::fs::read_to_string(root_cert).map_err(Error::io(root_cert))?;
    let root_der =
        inspect::single_certificate(&root_pem).map_err(|reason| Error::CertificateFile {
            path: root_cert.to_path_buf(),
            reason,
        })?;
    if inspect::public_key_bits(&root_der)? != key.public_key_raw() {
        return Err(key_error(format!(
            "the key does not match the root certificate {}",
            root_cert.display()
        )));
    }
    Ok((key, root_der))
}

/// Reads a root passphrase file; the one rule for every reader (`basalt init
/// --root-password-file`, offline rotation, the generated `root-password.txt`): the whole
/// file is the passphrase, except one trailing line ending (`\n` or `\r\n`), which is
/// dropped, so `echo secret > file` works. Any other line break is refused rather than
/// silently cut off: the file must mean the same to basalt and to `openssl -passin file:`
/// (which reads the first line). Nothing else is trimmed; spaces are part of the passphrase.
pub fn read_root_password(path: &Path) -> Result<Passphrase, Error> {
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(Error::io(path))?);
    let passphrase = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(&text);
    if passphrase.contains(['\n', '\r']) {
        return Err(Error::Io {
            path: path.to_path_buf(),
            error: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "a passphrase file holds one line (found a line break before its end)",
            ),
        });
    }
    Ok(Passphrase::from(passphrase))
}
