//! The intermediate CA that signs leaves, loaded once when `serve` starts.
//!
//! Certificate and key are parsed and cross-checked here, so a mismatched or unusable pair
//! stops the server at start rather than failing the first finalize.

use std::path::Path;
use std::sync::Arc;

use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::ParsedExtension;

use crate::encoding::hex;
use crate::encrypted_key::read_key_file;
use crate::inspect::{certificate_pem, parse_certificate, public_key_bits, single_certificate};
use crate::key_id::key_identifier_bytes;
use crate::pkcs11::Pkcs11Key;
use crate::serving_key::ServingKeySeal;
use crate::signing_key::IssuerKey;
use crate::{Error, KeySource, NameConstraints};

/// An intermediate CA: its certificate and the key that signs with it. Shared across tasks in
/// an `Arc`; signing takes `&self`.
pub struct Issuer {
    pub(crate) rcgen: rcgen::Issuer<'static, IssuerKey>,
    key_kind: &'static str,
    certificate_der: Vec<u8>,
    /// The certificate re-encoded from DER, so the chain served to clients holds exactly one
    /// clean CERTIFICATE block whatever else the file contained.
    certificate_pem: String,
    subject: String,
    /// The certificate's subjectKeyIdentifier (RFC 5280 §4.2.1.2): what leaves and CRLs name
    /// in their AKI, and the intermediate's identity in URLs and the database.
    key_id: Vec<u8>,
    /// Read from the certificate, so constraints of an intermediate made by other tools count.
    name_constraints: Option<NameConstraints>,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    /// Seals and opens the serving certificate's key (derived from this intermediate's key).
    pub(crate) serving_key_seal: ServingKeySeal,
}

// The server shares one `Issuer` across tokio tasks in an `Arc`: keep it `Send + Sync`.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Issuer>();
};

impl std::fmt::Debug for Issuer {
    /// Names the issuer; the key stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issuer")
            .field("subject", &self.subject)
            .field("key_kind", &self.key_kind)
            .finish_non_exhaustive()
    }
}

impl Issuer {
    /// Loads the intermediate certificate (PEM, exactly one) and its plaintext PKCS#8 key
    /// file (PEM), as `init` writes them. Refuses a key file that group or others may read:
    /// the key signs every certificate, and a readable file may already have been copied.
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<Self, Error> {
        let cert_pem = std::fs::read_to_string(cert_path).map_err(Error::io(cert_path))?;
        let key = KeySource::File {
            path: key_path.to_path_buf(),
            passphrase: None,
        };
        Self::load_key(&cert_pem, cert_path, &key)
    }

    /// Loads an intermediate whose certificate the caller already holds (the database keeps
    /// every intermediate's certificate) with its key, wherever it is: a key file (plaintext,
    /// checked as [`Issuer::load`] does, or encrypted) or a key in a PKCS#11 token. A key that
    /// is not the certificate's is refused, naming the key file or the key's URI.
    pub fn from_certificate_pem(certificate_pem: &str, key: &KeySource) -> Result<Self, Error> {
        Self::load_key(certificate_pem, Path::new("(the stored certificate)"), key)
    }

    fn load_key(cert_pem: &str, cert_path: &Path, source: &KeySource) -> Result<Self, Error> {
        let cert_error = |reason: String| Error::CertificateFile {
            path: cert_path.to_path_buf(),
            reason,
        };

        let certificate_der = single_certificate(cert_pem).map_err(cert_error)?;
        check_is_signing_ca(&certificate_der).map_err(cert_error)?;
        let certificate_key = public_key_bits(&certificate_der)?;

        let (key, key_kind, serving_key_seal) = match source {
            KeySource::File { path, passphrase } => {
                refuse_shared_key_file(path)?;
                let (key, encrypted) = read_key_file(path, passphrase.as_ref())?;
                if certificate_key != key.public_key_raw() {
                    return Err(Error::KeyFile {
                        path: path.clone(),
                        reason: format!(
                            "the key does not match the certificate {}",
                            cert_path.display()
                        ),
                    });
                }
                let seal = ServingKeySeal::derive(key.serialized_der())?;
                let kind = if encrypted { "encrypted-file" } else { "file" };
                (IssuerKey::File(key), kind, seal)
            }
            KeySource::Pkcs11 {
                token,
                uri,
                seal_secret,
            } => {
                let key = Pkcs11Key::load(Arc::clone(token), uri, &certificate_key)?;
                let seal = ServingKeySeal::derive_for_token_key(seal_secret, &certificate_key)?;
                (IssuerKey::Pkcs11(key), "pkcs11", seal)
            }
        };

        let parsed = parse_certificate(&certificate_der)?;
        let subject = parsed.subject().to_string();
        let name_constraints = NameConstraints::from_certificate(&parsed).map_err(cert_error)?;
        let key_id = subject_key_id(&parsed).unwrap_or_else(|| key_identifier_bytes(&key));
        let not_before = parsed.validity().not_before.to_datetime();
        let not_after = parsed.validity().not_after.to_datetime();
        // rcgen takes the issuer DN, key usages and SKI (used as the leaves' AKI) from the cert.
        let rcgen = rcgen::Issuer::from_ca_cert_der(&certificate_der.as_slice().into(), key)
            .map_err(|e| cert_error(e.to_string()))?;
        Ok(Self {
            rcgen,
            key_kind,
            certificate_pem: certificate_pem(&certificate_der),
            certificate_der,
            subject,
            key_id,
            name_constraints,
            not_before,
            not_after,
            serving_key_seal,
        })
    }

    /// What kind of key signs: `"file"`, `"encrypted-file"` or `"pkcs11"` (logs, metrics).
    pub fn key_kind(&self) -> &'static str {
        self.key_kind
    }

    /// Signs a fixed probe message and throws the signature away: proves the key can sign
    /// now (for a token key: the token is present, logged in and answering), for readiness
    /// checks. A token failure is [`Error::TokenUnavailable`]. Blocks while a token signs.
    pub fn probe_signing(&self) -> Result<(), Error> {
        use rcgen::SigningKey as _;
        crate::signing_key::clear_token_failure();
        self.rcgen
            .key()
            .sign(b"basalt readiness probe")
            .map(drop)
            .map_err(|e| crate::signing_key::signing_error(&e))
    }

    /// The intermediate certificate as PEM: what follows the leaf in a served chain
    /// (RFC 8555 §7.4.2).
    pub fn chain_pem(&self) -> &str {
        &self.certificate_pem
    }

    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate_der
    }

    /// The subject DN as text (`CN=…, O=…`), for logs and audit events.
    pub fn subject(&self) -> String {
        self.subject.clone()
    }

    /// The subjectKeyIdentifier as lowercase hex: the intermediate's name in CRL and
    /// certificate URLs (`/crl/<KEYID>.crl`) and in the database. A certificate without one
    /// (RFC 5280 §4.2.1.2 requires it of CAs) gets the RFC 7093 §2 method 1 identifier.
    pub fn key_id(&self) -> String {
        hex(&self.key_id)
    }

    pub(crate) fn key_id_bytes(&self) -> &[u8] {
        &self.key_id
    }

    /// The certificate's name constraints (RFC 5280 §4.2.1.10), `None` without the extension.
    pub fn name_constraints(&self) -> Option<&NameConstraints> {
        self.name_constraints.as_ref()
    }

    pub fn not_before(&self) -> OffsetDateTime {
        self.not_before
    }

    /// No leaf may outlive this (the server caps notAfter to it).
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }
}

/// The subjectKeyIdentifier extension's value, if the certificate has one.
pub(crate) fn subject_key_id(cert: &X509Certificate<'_>) -> Option<Vec<u8>> {
    cert.extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0.to_vec()),
            _ => None,
        })
}

/// RFC 5280 §4.2.1.9 and §4.2.1.3: a certificate that signs others must say cA TRUE and, if it
/// has a keyUsage, include keyCertSign. rcgen does not check this; a client would reject every
/// leaf, so refusing at load is kinder.
fn check_is_signing_ca(der: &[u8]) -> Result<(), String> {
    let cert = parse_certificate(der).map_err(|e| e.to_string())?;
    let mut is_ca = false;
    let mut may_sign_certificates = true;
    for extension in cert.extensions() {
        match extension.parsed_extension() {
            ParsedExtension::BasicConstraints(bc) => is_ca = bc.ca,
            ParsedExtension::KeyUsage(ku) => may_sign_certificates = ku.key_cert_sign(),
            _ => {}
        }
    }
    if !is_ca {
        return Err("not a CA certificate (basicConstraints cA is not TRUE)".into());
    }
    if !may_sign_certificates {
        return Err("its keyUsage does not allow keyCertSign".into());
    }
    Ok(())
}

/// The intermediate key signs every certificate; only the server's user may read it. Group
/// or other permission bits refuse the load (the error names the file and its mode).
fn refuse_shared_key_file(path: &Path) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(path)
        .map_err(Error::io(path))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(Error::KeyFile {
            path: path.to_path_buf(),
            reason: format!(
                "readable or writable by group or others (mode {:o}); chmod 600 it, and \
                 consider the key exposed if others could read it",
                mode & 0o777
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
