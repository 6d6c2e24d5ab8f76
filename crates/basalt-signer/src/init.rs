//! `basalt init`: create the root CA and the first directory's intermediate, once.
//!
//! Everything is generated in memory first, then written through [`StagedFiles`], so a failure
//! at any point leaves the data directory as it was. The root certificate is published last:
//! [`PkiPaths::is_initialised`] only turns true once every other file is in place.

use std::path::PathBuf;

use rcgen::{KeyPair, PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384};
use zeroize::Zeroizing;

use crate::Error;
use crate::ca_profile::{intermediate_params, root_params};
use crate::encoding::hex;
use crate::inspect::sha256_fingerprint;
use crate::paths::PkiPaths;
use crate::random::random_bytes;
use crate::root_key::{Passphrase, encrypt_pkcs8, generate_password};
use crate::staged_files::StagedFiles;

/// What `init` needs from the operator.
#[derive(Clone)]
pub struct InitOptions {
    /// Passphrase for the root key (the binary reads it from `--root-password-file`). `None`
    /// generates one and writes it to `offline/root-password.txt`. Wiped from memory on drop.
    pub root_password: Option<Passphrase>,
    /// Subject O of both CAs.
    pub organization: String,
    /// The ACME directory whose intermediate is created.
    pub directory: String,
}

impl std::fmt::Debug for InitOptions {
    /// Shows whether a passphrase was given, never the passphrase.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InitOptions")
            .field(
                "root_password",
                &self.root_password.as_ref().map(|_| "<redacted>"),
            )
            .field("organization", &self.organization)
            .field("directory", &self.directory)
            .finish()
    }
}

impl Default for InitOptions {
    fn default() -> Self {
        Self {
            root_password: None,
            organization: "basalt".to_owned(),
            directory: "default".to_owned(),
        }
    }
}

/// What `init` made, for the binary to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitReport {
    /// SHA-256 of the root certificate, formatted like `openssl x509 -fingerprint -sha256`,
    /// so whoever installs the root can check it out of band.
    pub root_fingerprint_sha256: String,
    /// Set when the passphrase was generated: the operator must store this file safely.
    pub generated_password_file: Option<PathBuf>,
    pub root_cert: PathBuf,
    pub intermediate_cert: PathBuf,
}

/// Creates the PKI under `paths`. Refuses with [`Error::AlreadyInitialised`], writing nothing,
/// if any part of a PKI is already there.
pub fn init_pki(paths: &PkiPaths, options: &InitOptions) -> Result<InitReport, Error> {
    check_options(paths, options)?;
    let existing = [
        paths.root_cert(),
        paths.offline_dir(),
        paths.intermediate_cert(&options.directory),
        paths.intermediate_key(&options.directory),
    ];
    if let Some(path) = existing.into_iter().find(|p| p.exists()) {
        return Err(Error::AlreadyInitialised(path));
    }
    let (password, generated) = match &options.root_password {
        Some(given) if given.is_empty() => return Err(Error::BadRootPassword(None)),
        Some(given) => (Zeroizing::new(given.to_string()), false),
        None => (generate_password()?, true),
    };

    // One suffix for both CAs, so their names visibly belong together.
    let suffix = hex(&random_bytes::<3>()?);
    let signing = |e: rcgen::Error| Error::Signing(e.to_string());

    // The root: P-384, because it outlives the intermediates and signs almost nothing.
    // Key pairs are wiped when dropped (rcgen's `zeroize` feature, through `Zeroizing`).
    let root_key = Zeroizing::new(KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).map_err(signing)?);
    let root_params = root_params(&options.organization, &suffix, &*root_key)?;
    let root_cert = root_params.self_signed(&*root_key).map_err(signing)?;
    let root_key_pem = encrypt_pkcs8(root_key.serialized_der(), &password)?;

    // The intermediate: P-256, which ring signs ~25 times faster than P-384 (DEPENDENCIES §6).
    let intermediate_key =
        Zeroizing::new(KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(signing)?);
    let intermediate_params = intermediate_params(
        &options.organization,
        &options.directory,
        &suffix,
        &*intermediate_key,
        None,
    )?;
    let root_issuer = rcgen::Issuer::new(root_params, &*root_key);
    let intermediate_cert = intermediate_params
        .signed_by(&*intermediate_key, &root_issuer)
        .map_err(signing)?;
    let intermediate_key_pem = Zeroizing::new(intermediate_key.serialize_pem());

    let mut stage = StagedFiles::default();
    // The data directory holds the intermediate keys and the SQLite database: only the
    // server's user may enter it. (An existing directory keeps its mode; `basalt init`
    // creates it 0700 itself.)
    stage.create_dir(paths.data_dir(), 0o700, false)?;
    // Only the operator may read the root key material.
    stage.create_dir(&paths.offline_dir(), 0o700, true)?;
    stage.write(&paths.root_key(), root_key_pem.as_bytes(), 0o600)?;
    if generated {
        stage.write(&paths.root_password(), password.as_bytes(), 0o600)?;
    }
    stage.create_dir(&paths.directory_dir(&options.directory), 0o755, false)?;
    // serve reads this key; nobody else on the machine should.
    stage.write(
        &paths.intermediate_key(&options.directory),
        intermediate_key_pem.as_bytes(),
        0o600,
    )?;
    stage.write(
        &paths.intermediate_cert(&options.directory),
        intermediate_cert.pem().as_bytes(),
        0o644,
    )?;
    stage.write(&paths.root_cert(), root_cert.pem().as_bytes(), 0o644)?;
    stage.commit()?;

    tracing::info!(
        root.fingerprint_sha256 = %sha256_fingerprint(root_cert.der()),
        directory = %options.directory,
        "created root and intermediate CA"
    );
    Ok(InitReport {
        root_fingerprint_sha256: sha256_fingerprint(root_cert.der()),
        generated_password_file: generated.then(|| paths.root_password()),
        root_cert: paths.root_cert(),
        intermediate_cert: paths.intermediate_cert(&options.directory),
    })
}

/// Longest directory name: keeps the intermediate's CN within RFC 5280's ub-common-name (64).
const MAX_DIRECTORY_LEN: usize = 32;
/// RFC 5280 Appendix A.1: ub-organization-name.
const MAX_ORGANIZATION_LEN: usize = 64;

/// Refuses a directory (area) name that would make a bad path component or intermediate CN,
/// as [`Error::Io`] with `InvalidInput` naming where it would have gone.
pub fn check_directory_name(paths: &PkiPaths, directory: &str) -> Result<(), Error> {
    // The name becomes a path component and part of the intermediate's CN.
    let directory_ok = (1..=MAX_DIRECTORY_LEN).contains(&directory.len())
        && directory
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !directory_ok {
        return Err(Error::Io {
            path: paths.data_dir().join("directories"),
            error: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "directory name {directory:?} must be 1-{MAX_DIRECTORY_LEN} characters of a-z, 0-9, '-' or '_'"
                ),
            ),
        });
    }
    Ok(())
}

/// Refuses options that would make a bad path or a bad certificate subject. Reported as
/// [`Error::Io`] with `InvalidInput`, naming where the value would have gone.
fn check_options(paths: &PkiPaths, options: &InitOptions) -> Result<(), Error> {
    let invalid = |path: PathBuf, message: String| Error::Io {
        path,
        error: std::io::Error::new(std::io::ErrorKind::InvalidInput, message),
    };
    check_directory_name(paths, &options.directory)?;
    let organization = options.organization.trim();
    if organization.is_empty()
        || organization != options.organization
        || organization.chars().count() > MAX_ORGANIZATION_LEN
    {
        return Err(invalid(
            paths.root_cert(),
            format!(
                "organization {:?} must be 1-{MAX_ORGANIZATION_LEN} characters without leading or trailing spaces",
                options.organization
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
