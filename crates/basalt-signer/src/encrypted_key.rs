//! Intermediate key files: plaintext PKCS#8 PEM (`PRIVATE KEY`) or encrypted PKCS#8 PEM
//! (`ENCRYPTED PRIVATE KEY`, RFC 5958 §3), the same PBES2/scrypt encoding as the root key
//! (`root_key.rs`), so `openssl pkey` reads both.
//!
//! The PEM label decides which; the operator's passphrase must agree with it. A passphrase
//! given for a plaintext file is refused rather than ignored: the operator believes the key is
//! protected at rest, and it is not.

use std::path::Path;

use pkcs8::{EncryptedPrivateKeyInfoRef, SecretDocument};
use rcgen::KeyPair;
use rustls_pki_types::PrivatePkcs8KeyDer;
use zeroize::Zeroizing;

use crate::root_key::{ENCRYPTED_LABEL, encrypt_pkcs8};
use crate::{Error, Passphrase};

/// RFC 5958 §2 PEM label (RFC 7468 §10).
const PLAIN_LABEL: &str = "PRIVATE KEY";

/// Reads `path` as a plaintext or encrypted PKCS#8 key. Every refusal is
/// [`Error::KeyFile`] naming the file, and says which of these it is: encrypted but no
/// passphrase, a wrong passphrase, a passphrase for a plaintext file, or not a key. Returns
/// whether the file was encrypted.
pub(crate) fn read_key_file(
    path: &Path,
    passphrase: Option<&Passphrase>,
) -> Result<(Zeroizing<KeyPair>, bool), Error> {
    let key_error = |reason: String| Error::KeyFile {
        path: path.to_path_buf(),
        reason,
    };
    let pem = Zeroizing::new(std::fs::read_to_string(path).map_err(Error::io(path))?);
    let label = pkcs8::der::pem::decode_label(pem.as_bytes())
        .map_err(|e| key_error(format!("not a usable PKCS#8 private key: not PEM ({e})")))?;
    match (label, passphrase) {
        (PLAIN_LABEL, None) => {
            let key = KeyPair::from_pem(&pem)
                .map_err(|e| key_error(format!("not a usable PKCS#8 private key: {e}")))?;
            Ok((Zeroizing::new(key), false))
        }
        (PLAIN_LABEL, Some(_)) => Err(key_error(
            "is not encrypted, but a key passphrase was configured; encrypt the file \
             (basalt writes encrypted keys when a passphrase is set) or remove the passphrase"
                .into(),
        )),
        (ENCRYPTED_LABEL, None) => Err(key_error(
            "is encrypted, and no key passphrase was configured ([keys] passphrase_file, \
             passphrase_env or passphrase_credential)"
                .into(),
        )),
        (ENCRYPTED_LABEL, Some(passphrase)) => {
            let (_, document) = SecretDocument::from_pem(&pem)
                .map_err(|e| key_error(format!("not a PEM document: {e}")))?;
            let encrypted = EncryptedPrivateKeyInfoRef::try_from(document.as_bytes())
                .map_err(|e| key_error(format!("not a PKCS#8 EncryptedPrivateKeyInfo: {e}")))?;
            let wrong = || key_error("the key passphrase is empty or does not decrypt it".into());
            if passphrase.is_empty() {
                return Err(wrong());
            }
            // A wrong passphrase shows as bad padding or garbled DER; either way it is the
            // passphrase the operator can fix.
            let pkcs8 = encrypted
                .decrypt(passphrase.as_bytes())
                .map_err(|_| wrong())?;
            let der = PrivatePkcs8KeyDer::from(pkcs8.as_bytes());
            let key = KeyPair::try_from(&der)
                .map_err(|e| key_error(format!("the decrypted key is unusable: {e}")))?;
            Ok((Zeroizing::new(key), true))
        }
        (other, _) => Err(key_error(format!(
            "expected a {PLAIN_LABEL} or {ENCRYPTED_LABEL} PEM block, found {other}"
        ))),
    }
}

/// `key` as encrypted PKCS#8 PEM under `passphrase` (refused when empty).
pub(crate) fn encrypt_key_pem(
    key: &KeyPair,
    passphrase: &Passphrase,
) -> Result<Zeroizing<String>, Error> {
    if passphrase.is_empty() {
        return Err(Error::Signing(
            "an empty key passphrase would leave the key unprotected".into(),
        ));
    }
    encrypt_pkcs8(key.serialized_der(), passphrase)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use rcgen::PKCS_ECDSA_P256_SHA256;

    use super::*;

    fn write(dir: &Path, name: &str, contents: &str) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path
    }

    #[test]
    fn an_encrypted_key_round_trips_and_each_mistake_has_its_own_error() {
        let dir = tempfile::tempdir().unwrap();
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let passphrase = Passphrase::from("key passphrase");
        let pem = encrypt_key_pem(&key, &passphrase).unwrap();
        assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        let encrypted = write(dir.path(), "enc.pem", &pem);
        let plain = write(dir.path(), "plain.pem", &key.serialize_pem());

        let (read, was_encrypted) = read_key_file(&encrypted, Some(&passphrase)).unwrap();
        assert!(was_encrypted);
        assert_eq!(read.serialized_der(), key.serialized_der());
        let (read, was_encrypted) = read_key_file(&plain, None).unwrap();
        assert!(!was_encrypted);
        assert_eq!(read.public_key_raw(), key.public_key_raw());

        let message = |path: &Path, passphrase: Option<&Passphrase>| {
            let Err(err) = read_key_file(path, passphrase) else {
                panic!("{} was accepted", path.display());
            };
            assert!(
                matches!(&err, Error::KeyFile { path: p, .. } if p == path),
                "{err}"
            );
            err.to_string()
        };
        let missing = message(&encrypted, None);
        assert!(
            missing.contains("is encrypted, and no key passphrase"),
            "{missing}"
        );
        let wrong = message(&encrypted, Some(&"not it".into()));
        assert!(wrong.contains("does not decrypt"), "{wrong}");
        let empty = message(&encrypted, Some(&"".into()));
        assert!(empty.contains("empty"), "{empty}");
        let unexpected = message(&plain, Some(&passphrase));
        assert!(unexpected.contains("is not encrypted"), "{unexpected}");
        let other = write(
            dir.path(),
            "cert.pem",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        );
        let other = message(&other, None);
        assert!(other.contains("found CERTIFICATE"), "{other}");
        assert!(encrypt_key_pem(&key, &"".into()).is_err());
    }

    #[test]
    fn openssl_reads_the_encrypted_key() {
        let dir = tempfile::tempdir().unwrap();
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let pem = encrypt_key_pem(&key, &"pass word".into()).unwrap();
        let path = write(dir.path(), "enc.pem", &pem);
        let Some(out) = crate::test_support::openssl(&[
            "pkey",
            "-in",
            path.to_str().unwrap(),
            "-passin",
            "pass:pass word",
            "-noout",
        ]) else {
            return;
        };
        assert!(
            out.status.success(),
            "{}",
            crate::test_support::describe(&out)
        );
    }
}
