//! Helpers shared by this crate's unit tests: a throwaway PKI, CSRs, fixtures, openssl.

use std::path::Path;
use std::process::{Command, Output};

use basalt_protocol::Identifier;
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};
use tempfile::TempDir;

use crate::{InitOptions, Issuer, PkiPaths, init_pki};

/// The profile of the tests that are not about profiles: the leaf basalt always issued.
pub(crate) static DEFAULT_LEAF: std::sync::LazyLock<crate::LeafProfile> =
    std::sync::LazyLock::new(|| crate::LeafProfile::acme_default("default"));

pub(crate) const PASSWORD: &str = "correct horse battery staple";

/// A fresh PKI in a temporary directory, initialised with [`PASSWORD`].
pub(crate) fn pki() -> (TempDir, PkiPaths) {
    let dir = tempfile::tempdir().unwrap();
    let paths = PkiPaths::new(dir.path());
    let options = InitOptions {
        root_password: Some(PASSWORD.into()),
        ..InitOptions::default()
    };
    init_pki(&paths, &options).unwrap();
    (dir, paths)
}

/// A fresh PKI and its "default" intermediate, loaded.
pub(crate) fn issuer() -> (TempDir, PkiPaths, Issuer) {
    let (dir, paths) = pki();
    let issuer = Issuer::load(
        &paths.intermediate_cert("default"),
        &paths.intermediate_key("default"),
    )
    .unwrap();
    (dir, paths, issuer)
}

/// A DER CSR signed by `key`, with these SAN entries (IP literals become iPAddress) and CN.
pub(crate) fn csr(key: &KeyPair, sans: &[&str], cn: Option<&str>) -> Vec<u8> {
    let mut params =
        CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name = DistinguishedName::new();
    if let Some(cn) = cn {
        params.distinguished_name.push(DnType::CommonName, cn);
    }
    params.serialize_request(key).unwrap().der().to_vec()
}

/// The committed RSA-2048 test key (ring cannot generate RSA keys).
pub(crate) fn rsa_key() -> KeyPair {
    KeyPair::from_pem(include_str!("../tests/data/rsa2048.key.pem")).unwrap()
}

/// A file from `tests/data`.
pub(crate) fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name),
    )
    .unwrap()
}

pub(crate) fn dns(name: &str) -> Identifier {
    Identifier::dns(name).unwrap()
}

pub(crate) fn ip(addr: &str) -> Identifier {
    Identifier::ip(addr.parse().unwrap())
}

/// Runs `openssl` with `args`, or returns `None` when the binary is not installed.
pub(crate) fn openssl(args: &[&str]) -> Option<Output> {
    match Command::new("openssl").args(args).output() {
        Ok(output) => Some(output),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("openssl is not installed; skipping the OpenSSL cross-check");
            None
        }
        Err(e) => panic!("running openssl: {e}"),
    }
}

/// Text of an `Output`, for assertion messages.
pub(crate) fn describe(output: &Output) -> String {
    format!(
        "status {}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
