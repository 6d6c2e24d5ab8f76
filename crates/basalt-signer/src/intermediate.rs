//! Making a new intermediate CA for an area (`basalt area add`, `basalt area rotate`), signed
//! offline by the root.
//!
//! Everything happens in memory and nothing is written: the caller stages the certificate,
//! the key and its configuration change together (see [`crate::StagedFiles`]) and records the
//! intermediate in the database, so a failure anywhere leaves no half-made area behind.

use std::path::Path;

use rcgen::{KeyPair, PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384, PublicKeyData};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::ca_profile::intermediate_params;
use crate::encoding::hex;
use crate::encrypted_key::encrypt_key_pem;
use crate::init::check_directory_name;
use crate::inspect::parse_certificate;
use crate::issuer::subject_key_id;
use crate::key_id::key_identifier_bytes;
use crate::random::random_bytes;
use crate::root_key::decrypt_root_key_file;
use crate::{Error, NameConstraints, Passphrase, Pkcs11Token, Pkcs11Uri, PkiPaths};

/// The intermediate's own key type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum IntermediateKeyAlgorithm {
    /// ECDSA P-256, the default: ring signs with it about 25 times faster than with P-384
    /// (DEPENDENCIES §6), and the intermediate signs every leaf.
    #[default]
    P256,
    /// ECDSA P-384, for operators whose policy asks for it.
    P384,
}

/// What the new intermediate is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntermediateOptions {
    /// The area (ACME directory) name: part of the CN, and of the files' paths.
    pub area: String,
    pub algorithm: IntermediateKeyAlgorithm,
    /// Written as the critical nameConstraints extension (RFC 5280 §4.2.1.10); `None` or an
    /// empty set writes none.
    pub name_constraints: Option<NameConstraints>,
    /// When set, [`CreatedIntermediate::key_pem`] is encrypted PKCS#8 under it (PBES2 with
    /// scrypt, as the root key); `None` keeps it plaintext. Ignored for a key in a token.
    pub key_passphrase: Option<Passphrase>,
}

/// A signed intermediate and its key, in memory.
#[derive(Clone)]
pub struct CreatedIntermediate {
    pub certificate_pem: String,
    /// PKCS#8 PEM, plaintext or encrypted (see [`IntermediateOptions::key_passphrase`]); to
    /// be written 0600. Empty for a key made in a token. Wiped on drop.
    pub key_pem: Zeroizing<String>,
    /// Lowercase hex subjectKeyIdentifier, as [`crate::Issuer::key_id`] will report it.
    pub key_id: String,
    /// The subject DN as text, as [`crate::Issuer::subject`] will report it.
    pub subject: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

impl std::fmt::Debug for CreatedIntermediate {
    /// Everything but the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedIntermediate")
            .field("key_id", &self.key_id)
            .field("subject", &self.subject)
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

/// Decrypts the root key at `root_key` with `password` (an unreadable file is
/// [`Error::Io`], a wrong passphrase [`Error::BadRootPassword`], each naming the file),
/// checks it belongs to `paths.root_cert()`, and signs a new intermediate for
/// `options.area`: subject `O=<the root's O>, CN=basalt <area> Intermediate CA <6 hex>`, valid
/// five years but never past the root. The key PEM is encrypted under
/// `options.key_passphrase` when one is given. Writes nothing.
pub fn create_intermediate(
    paths: &PkiPaths,
    root_key: &Path,
    password: &Passphrase,
    options: &IntermediateOptions,
) -> Result<CreatedIntermediate, Error> {
    let root = RootSigner::open(paths, root_key, password, options)?;
    let algorithm = match options.algorithm {
        IntermediateKeyAlgorithm::P256 => &PKCS_ECDSA_P256_SHA256,
        IntermediateKeyAlgorithm::P384 => &PKCS_ECDSA_P384_SHA384,
    };
    // Wiped on drop (rcgen's `zeroize` feature, through `Zeroizing`).
    let key = Zeroizing::new(
        KeyPair::generate_for(algorithm).map_err(|e| Error::Signing(e.to_string()))?,
    );
    let key_pem = match &options.key_passphrase {
        Some(passphrase) => encrypt_key_pem(&key, passphrase)?,
        None => Zeroizing::new(key.serialize_pem()),
    };
    root.sign(options, &*key, key_pem, "file")
}

/// [`create_intermediate`] with the key generated inside `token` (ECDSA of
/// `options.algorithm`; private half CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE, not
/// CKA_EXTRACTABLE, CKA_SIGN only), labelled `basalt-<area>-<first 16 hex of the key id>` with
/// CKA_ID = the subjectKeyIdentifier. Returns the certificate (`key_pem` empty) and the URI to
/// store as the intermediate's `key_ref`. The root is checked before the token is touched,
/// and a key pair whose certificate could not be made is removed from the token again.
pub fn create_intermediate_in_token(
    paths: &PkiPaths,
    root_key: &Path,
    password: &Passphrase,
    options: &IntermediateOptions,
    token: &Pkcs11Token,
) -> Result<(CreatedIntermediate, Pkcs11Uri), Error> {
    let root = RootSigner::open(paths, root_key, password, options)?;
    let key = token.generate_key(
        options.algorithm,
        &format!("basalt-{}-pending", options.area),
    )?;
    let named = |created: &CreatedIntermediate| -> Result<Pkcs11Uri, Error> {
        let label = format!("basalt-{}-{}", options.area, &created.key_id[..16]);
        let id = key_identifier_bytes(&key);
        key.name(&label, &id)?;
        Ok(Pkcs11Uri {
            token_label: Some(token.label().to_owned()),
            token_serial: None,
            object: Some(label),
            id: Some(id),
        })
    };
    let result = root
        .sign(options, &key, Zeroizing::new(String::new()), "pkcs11")
        .and_then(|created| named(&created).map(|uri| (created, uri)));
    if result.is_err() {
        key.destroy();
    }
    result
}

/// The root, decrypted and checked, ready to sign an intermediate.
struct RootSigner {
    key: Zeroizing<KeyPair>,
    certificate_der: Vec<u8>,
    organization: String,
    not_after: OffsetDateTime,
    cert_path: std::path::PathBuf,
}

impl RootSigner {
    fn open(
        paths: &PkiPaths,
        root_key: &Path,
        password: &Passphrase,
        options: &IntermediateOptions,
    ) -> Result<Self, Error> {
        check_directory_name(paths, &options.area)?;
        let cert_path = paths.root_cert();
        let (key, certificate_der) = decrypt_root_key_file(root_key, &cert_path, password)?;
        let root = parse_certificate(&certificate_der)?;
        let organization = root
            .subject()
            .iter_organization()
            .next()
            .and_then(|o| o.as_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| Error::CertificateFile {
                path: cert_path.clone(),
                reason: "the root's subject has no Organization (O) to reuse".into(),
            })?;
        let not_after = root.validity().not_after.to_datetime();
        Ok(Self {
            key,
            certificate_der,
            organization,
            not_after,
            cert_path,
        })
    }

    /// Signs the intermediate certificate for `subject_key`.
    fn sign(
        &self,
        options: &IntermediateOptions,
        subject_key: &impl PublicKeyData,
        key_pem: Zeroizing<String>,
        key_kind: &str,
    ) -> Result<CreatedIntermediate, Error> {
        let cert_error = |reason: String| Error::CertificateFile {
            path: self.cert_path.clone(),
            reason,
        };
        let suffix = hex(&random_bytes::<3>()?);
        let mut params = intermediate_params(
            &self.organization,
            &options.area,
            &suffix,
            subject_key,
            options.name_constraints.as_ref(),
        )?;
        // RFC 5280 does not require validity periods to nest, but the chain stops verifying
        // when the root expires: a later notAfter would only promise what the chain cannot keep.
        params.not_after = params.not_after.min(self.not_after);
        if params.not_after <= params.not_before {
            return Err(cert_error(format!(
                "the root expires at {}; make a new root first",
                self.not_after
            )));
        }

        // rcgen takes the root's DN and SKI (the new AKI) from its certificate.
        let root_issuer =
            rcgen::Issuer::from_ca_cert_der(&self.certificate_der.as_slice().into(), &*self.key)
                .map_err(|e| cert_error(e.to_string()))?;
        let certificate = params
            .signed_by(subject_key, &root_issuer)
            .map_err(|e| Error::Signing(e.to_string()))?;

        let parsed = parse_certificate(certificate.der())?;
        let key_id = subject_key_id(&parsed).map(|id| hex(&id)).ok_or_else(|| {
            Error::Signing("the new intermediate has no subjectKeyIdentifier".into())
        })?;
        let created = CreatedIntermediate {
            certificate_pem: certificate.pem(),
            key_pem,
            key_id,
            subject: parsed.subject().to_string(),
            not_before: parsed.validity().not_before.to_datetime(),
            not_after: parsed.validity().not_after.to_datetime(),
        };
        tracing::info!(
            target: "basalt::audit",
            area = %options.area,
            intermediate.subject = %created.subject,
            intermediate.key_id = %created.key_id,
            intermediate.key_kind = key_kind,
            intermediate.not_after = %created.not_after,
            intermediate.name_constraints = options.name_constraints.as_ref().is_some_and(|c| !c.is_empty()),
            "signed intermediate CA"
        );
        Ok(created)
    }
}

#[cfg(test)]
mod tests;
