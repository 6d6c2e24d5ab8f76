//! Tests for loading an `Issuer`.

use std::fs;

use rcgen::{KeyPair, PKCS_ECDSA_P256_SHA256};

use super::*;
use crate::Passphrase;
use crate::inspect::pem_to_der;
use crate::test_support::{dns, issuer, pki};

#[test]
fn loads_the_intermediate_init_made() {
    let (_dir, paths, issuer) = issuer();
    let file = fs::read_to_string(paths.intermediate_cert("default")).unwrap();
    assert_eq!(issuer.chain_pem(), file);
    assert_eq!(
        pem_to_der(&file).unwrap(),
        [issuer.certificate_der().to_vec()]
    );
    assert!(
        issuer
            .subject()
            .starts_with("O=basalt, CN=basalt default Intermediate CA ")
    );
    // The key stays out of Debug output.
    assert!(!format!("{issuer:?}").contains("PRIVATE"));
}

#[test]
fn a_key_that_does_not_belong_to_the_certificate_is_refused() {
    let (dir, paths) = pki();
    let other = dir.path().join("other-key.pem");
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    write_private(&other, &key.serialize_pem());
    let err = Issuer::load(&paths.intermediate_cert("default"), &other).unwrap_err();
    assert!(
        matches!(&err, Error::KeyFile { reason, .. } if reason.contains("does not match the certificate")),
        "{err}"
    );
}

#[test]
fn a_missing_or_garbled_key_file_is_refused() {
    let (dir, paths) = pki();
    let cert = paths.intermediate_cert("default");
    let missing = dir.path().join("missing.pem");
    assert!(matches!(
        Issuer::load(&cert, &missing),
        Err(Error::Io { .. })
    ));
    let garbled = dir.path().join("garbled.pem");
    write_private(
        &garbled,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    );
    assert!(matches!(
        Issuer::load(&cert, &garbled),
        Err(Error::KeyFile { .. })
    ));
}

#[test]
fn a_leaf_certificate_cannot_be_an_issuer() {
    let (dir, _paths, issuer) = issuer();
    let serving = hour_long_serving_certificate(&issuer);
    let leaf_der = pem_to_der(&serving.chain_pem).unwrap().remove(0);
    let cert = dir.path().join("leaf.pem");
    let key = dir.path().join("leaf-key.pem");
    fs::write(&cert, certificate_pem(&leaf_der)).unwrap();
    let key_pem = issuer
        .open_serving_key(&serving.chain_pem, &serving.sealed_key)
        .unwrap();
    write_private(&key, &key_pem);
    let err = Issuer::load(&cert, &key).unwrap_err();
    assert!(
        matches!(&err, Error::CertificateFile { reason, .. } if reason.contains("not a CA")),
        "{err}"
    );
}

#[test]
fn a_file_with_two_certificates_is_refused() {
    let (dir, paths, issuer) = issuer();
    let both = dir.path().join("both.pem");
    let root = fs::read_to_string(paths.root_cert()).unwrap();
    fs::write(&both, format!("{}{root}", issuer.chain_pem())).unwrap();
    let err = Issuer::load(&both, &paths.intermediate_key("default")).unwrap_err();
    assert!(
        matches!(&err, Error::CertificateFile { reason, .. } if reason.contains("found 2")),
        "{err}"
    );
}

/// Writes a key file as an operator should: mode 0600.
fn write_private(path: &Path, contents: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    fs::write(path, contents).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
}

#[test]
fn a_key_file_group_or_others_can_read_is_refused_naming_the_file() {
    use std::os::unix::fs::PermissionsExt as _;
    let (_dir, paths) = pki();
    let key = paths.intermediate_key("default");
    for mode in [0o644, 0o640, 0o604, 0o660] {
        fs::set_permissions(&key, fs::Permissions::from_mode(mode)).unwrap();
        let err = Issuer::load(&paths.intermediate_cert("default"), &key).unwrap_err();
        assert!(
            matches!(&err, Error::KeyFile { path, reason } if path == &key && reason.contains(&format!("{mode:o}"))),
            "{err}"
        );
        assert!(
            err.to_string().contains(&key.display().to_string()),
            "{err}"
        );
    }
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
    Issuer::load(&paths.intermediate_cert("default"), &key).unwrap();
}

#[test]
fn a_serving_key_sealed_by_another_intermediate_does_not_open() {
    let (_dir_a, _paths_a, a) = issuer();
    let (_dir_b, _paths_b, b) = issuer();
    let serving = hour_long_serving_certificate(&a);
    assert!(
        a.open_serving_key(&serving.chain_pem, &serving.sealed_key)
            .is_ok()
    );
    assert!(matches!(
        b.open_serving_key(&serving.chain_pem, &serving.sealed_key),
        Err(Error::SealedKey(_))
    ));
    // The debug form of what is handed out carries no key either.
    assert!(!format!("{serving:?}").contains("PRIVATE KEY"));
}

/// A serving certificate for a.test, an hour long.
fn hour_long_serving_certificate(issuer: &Issuer) -> crate::ServingCertificate {
    issuer
        .issue_serving_certificate(
            &[dns("a.test")],
            std::time::Duration::from_secs(3600),
            OffsetDateTime::now_utc(),
        )
        .unwrap()
}

#[test]
fn an_encrypted_key_file_loads_with_its_passphrase_and_is_refused_without() {
    let (dir, paths) = pki();
    let passphrase = Passphrase::from("intermediate key passphrase");
    let created = crate::create_intermediate(
        &paths,
        &paths.root_key(),
        &crate::test_support::PASSWORD.into(),
        &crate::IntermediateOptions {
            area: "sealed".into(),
            algorithm: crate::IntermediateKeyAlgorithm::P256,
            name_constraints: None,
            key_passphrase: Some(passphrase.clone()),
        },
    )
    .unwrap();
    assert!(
        created
            .key_pem
            .starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    );
    let key = dir.path().join("sealed-key.pem");
    write_private(&key, &created.key_pem);
    let load = |passphrase: Option<Passphrase>| {
        Issuer::from_certificate_pem(
            &created.certificate_pem,
            &KeySource::File {
                path: key.clone(),
                passphrase,
            },
        )
    };
    let issuer = load(Some(passphrase)).unwrap();
    assert_eq!(issuer.key_kind(), "encrypted-file");
    assert_eq!(issuer.key_id(), created.key_id);
    let serving = hour_long_serving_certificate(&issuer);
    issuer
        .open_serving_key(&serving.chain_pem, &serving.sealed_key)
        .unwrap();

    for (given, needle) in [
        (None, "is encrypted, and no key passphrase"),
        (Some("wrong".into()), "does not decrypt"),
    ] {
        let err = load(given).unwrap_err();
        assert!(
            matches!(&err, Error::KeyFile { path, reason } if path == &key && reason.contains(needle)),
            "{err}"
        );
    }

    // A plaintext file given a passphrase is refused; without one it is a "file" key.
    let plain = paths.intermediate_key("default");
    let cert = fs::read_to_string(paths.intermediate_cert("default")).unwrap();
    let err = Issuer::from_certificate_pem(
        &cert,
        &KeySource::File {
            path: plain.clone(),
            passphrase: Some("x".into()),
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("is not encrypted"), "{err}");
    let file = Issuer::from_certificate_pem(
        &cert,
        &KeySource::File {
            path: plain,
            passphrase: None,
        },
    )
    .unwrap();
    assert_eq!(file.key_kind(), "file");
}
