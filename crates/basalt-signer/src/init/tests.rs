//! Tests for `init` and the encrypted root key.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use x509_parser::extensions::ParsedExtension;

use super::*;
use crate::inspect::{parse_certificate, pem_to_der};
use crate::test_support::{PASSWORD, describe, openssl, pki};
use crate::{decrypt_root_key, read_root_password};

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn der(path: &Path) -> Vec<u8> {
    pem_to_der(&fs::read_to_string(path).unwrap())
        .unwrap()
        .remove(0)
}

#[test]
fn init_creates_every_file_with_its_mode() {
    let dir = tempfile::tempdir().unwrap();
    let paths = PkiPaths::new(&dir.path().join("data"));
    let report = init_pki(&paths, &InitOptions::default()).unwrap();

    assert!(paths.is_initialised());
    // The data directory (keys, the SQLite database) is the server user's alone.
    assert_eq!(mode(paths.data_dir()), 0o700);
    assert_eq!(mode(&paths.offline_dir()), 0o700);
    assert_eq!(mode(&paths.root_key()), 0o600);
    assert_eq!(mode(&paths.root_password()), 0o600);
    assert_eq!(mode(&paths.intermediate_key("default")), 0o600);
    assert_eq!(mode(&paths.root_cert()), 0o644);
    assert_eq!(mode(&paths.intermediate_cert("default")), 0o644);
    assert_eq!(report.generated_password_file, Some(paths.root_password()));
    assert_eq!(report.root_cert, paths.root_cert());
    assert_eq!(report.intermediate_cert, paths.intermediate_cert("default"));
    assert_eq!(
        report.root_fingerprint_sha256,
        sha256_fingerprint(&der(&paths.root_cert()))
    );

    let root_key = fs::read_to_string(paths.root_key()).unwrap();
    assert!(root_key.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
    let password = read_root_password(&paths.root_password()).unwrap();
    assert_eq!(password.len(), 43, "32 bytes as unpadded base64url");
    assert!(decrypt_root_key(&paths, &password).is_ok());

    // No temporary file is left behind.
    for dir in [
        paths.data_dir().to_path_buf(),
        paths.offline_dir(),
        paths.directory_dir("default"),
    ] {
        for entry in fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name();
            assert!(!name.to_string_lossy().starts_with('.'), "{name:?}");
        }
    }
}

#[test]
fn a_given_password_is_used_and_not_written() {
    let (_dir, paths) = pki();
    assert!(!paths.root_password().exists());
    assert!(decrypt_root_key(&paths, PASSWORD).is_ok());
}

#[test]
fn a_second_init_is_refused_and_changes_nothing() {
    let (_dir, paths) = pki();
    let root_before = fs::read(paths.root_cert()).unwrap();
    let err = init_pki(&paths, &InitOptions::default()).unwrap_err();
    assert!(matches!(err, Error::AlreadyInitialised(p) if p == paths.root_cert()));
    assert_eq!(fs::read(paths.root_cert()).unwrap(), root_before);
    assert!(!paths.root_password().exists());
}

#[test]
fn any_leftover_piece_of_a_pki_blocks_init() {
    let dir = tempfile::tempdir().unwrap();
    let paths = PkiPaths::new(dir.path());
    fs::create_dir_all(paths.directory_dir("default")).unwrap();
    fs::write(paths.intermediate_key("default"), "old").unwrap();
    let err = init_pki(&paths, &InitOptions::default()).unwrap_err();
    assert!(matches!(err, Error::AlreadyInitialised(p) if p == paths.intermediate_key("default")));
    assert!(!paths.offline_dir().exists());
    assert!(!paths.root_cert().exists());
}

#[test]
fn a_failed_init_leaves_no_partial_pki() {
    let dir = tempfile::tempdir().unwrap();
    let paths = PkiPaths::new(dir.path());
    // The directory's path is taken by a file, so creating it fails after offline/ was made.
    fs::write(dir.path().join("directories"), "in the way").unwrap();
    assert!(matches!(
        init_pki(&paths, &InitOptions::default()),
        Err(Error::Io { .. })
    ));
    let left: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["directories"]);
}

#[test]
fn bad_options_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let paths = PkiPaths::new(dir.path());
    for options in [
        InitOptions {
            directory: "../escape".into(),
            ..InitOptions::default()
        },
        InitOptions {
            directory: "x".repeat(33),
            ..InitOptions::default()
        },
        InitOptions {
            organization: "".into(),
            ..InitOptions::default()
        },
        InitOptions {
            organization: "o".repeat(65),
            ..InitOptions::default()
        },
    ] {
        assert!(
            matches!(init_pki(&paths, &options), Err(Error::Io { .. })),
            "{options:?}"
        );
    }
    let empty = InitOptions {
        root_password: Some(String::new().into()),
        ..InitOptions::default()
    };
    assert!(matches!(
        init_pki(&paths, &empty),
        Err(Error::BadRootPassword(None))
    ));
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn debug_output_hides_the_passphrase() {
    let options = InitOptions {
        root_password: Some("hunter2".into()),
        ..InitOptions::default()
    };
    assert!(!format!("{options:?}").contains("hunter2"));
}

#[test]
fn a_wrong_root_password_is_rejected() {
    let (_dir, paths) = pki();
    for wrong in ["wrong", ""] {
        let err = decrypt_root_key(&paths, wrong).unwrap_err();
        assert!(
            matches!(&err, Error::BadRootPassword(Some(p)) if *p == paths.root_key()),
            "{err:?}"
        );
        assert!(err.to_string().contains("root-key.pem"), "{err}");
    }
}

#[test]
fn the_decrypted_root_key_belongs_to_the_root_certificate() {
    let (_dir, paths) = pki();
    let key = decrypt_root_key(&paths, PASSWORD).unwrap();
    assert_eq!(key.algorithm(), &PKCS_ECDSA_P384_SHA384);
}

#[test]
fn password_files_are_the_whole_file_without_one_trailing_line_ending() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p");
    for (contents, expected) in [
        ("s3cret\n", "s3cret"),
        ("s3cret\r\n", "s3cret"),
        ("s3cret", "s3cret"),
        (" s3cret \n", " s3cret "),
        ("s3cret\n\n", "refused"),
        ("s3cret\r\nmore", "refused"),
        ("s3cret\nmore\n", "refused"),
        ("s3cr\ret", "refused"),
    ] {
        fs::write(&file, contents).unwrap();
        match read_root_password(&file) {
            Ok(p) => assert_eq!(&*p, expected, "{contents:?}"),
            Err(e) => {
                assert_eq!(expected, "refused", "{contents:?}: {e}");
                assert!(e.to_string().contains("one line"), "{e}");
            }
        }
    }
}

#[test]
fn openssl_reads_the_encrypted_root_key() {
    let dir = tempfile::tempdir().unwrap();
    let paths = PkiPaths::new(dir.path());
    init_pki(&paths, &InitOptions::default()).unwrap();
    let key = paths.root_key();
    let passin = format!("file:{}", paths.root_password().display());
    let Some(out) = openssl(&[
        "pkey",
        "-in",
        key.to_str().unwrap(),
        "-passin",
        &passin,
        "-noout",
    ]) else {
        return;
    };
    assert!(out.status.success(), "{}", describe(&out));
    let wrong = openssl(&[
        "pkey",
        "-in",
        key.to_str().unwrap(),
        "-passin",
        "pass:wrong",
        "-noout",
    ]);
    assert!(!wrong.unwrap().status.success());
    // The scheme is PBES2 with scrypt and AES-256-CBC.
    let Some(parsed) = openssl(&["asn1parse", "-in", key.to_str().unwrap()]) else {
        return;
    };
    let text = String::from_utf8_lossy(&parsed.stdout);
    assert!(text.contains("PBES2"), "{text}");
    assert!(text.contains(":scrypt"), "{text}");
    assert!(text.contains("aes-256-cbc"), "{text}");
}

#[test]
fn the_root_and_intermediate_have_the_ca_profiles() {
    let (_dir, paths) = pki();
    let root_der = der(&paths.root_cert());
    let inter_der = der(&paths.intermediate_cert("default"));
    let root = parse_certificate(&root_der).unwrap();
    let inter = parse_certificate(&inter_der).unwrap();

    let root_cn = root
        .subject()
        .iter_common_name()
        .next()
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned();
    let suffix = root_cn.strip_prefix("basalt Root CA ").unwrap();
    assert_eq!(suffix.len(), 6);
    assert!(suffix.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(
        root.subject().to_string(),
        format!("O=basalt, CN={root_cn}")
    );
    assert_eq!(root.issuer(), root.subject());
    assert_eq!(
        inter.subject().to_string(),
        format!("O=basalt, CN=basalt default Intermediate CA {suffix}")
    );
    assert_eq!(inter.issuer(), root.subject());
    assert!(inter.verify_signature(Some(root.public_key())).is_ok());

    // Validity: ten and five years, backdated a minute.
    let years = |c: &x509_parser::certificate::X509Certificate<'_>| {
        c.validity().not_after.to_datetime().year() - c.validity().not_before.to_datetime().year()
    };
    assert_eq!(years(&root), 10);
    assert_eq!(years(&inter), 5);
    let now = time::OffsetDateTime::now_utc();
    let backdate = now - root.validity().not_before.to_datetime();
    assert!(backdate >= time::Duration::seconds(59) && backdate < time::Duration::minutes(5));

    // Serial: positive, at most 16 value bytes.
    assert!(root.raw_serial().len() <= 17 && root.tbs_certificate.serial.bits() > 64);

    let root_ski = ski(&root);
    let mut root_exts = 0;
    for ext in root.extensions() {
        root_exts += 1;
        match ext.parsed_extension() {
            ParsedExtension::BasicConstraints(bc) => {
                assert!(ext.critical && bc.ca && bc.path_len_constraint.is_none());
            }
            ParsedExtension::KeyUsage(ku) => {
                assert!(ext.critical && ku.key_cert_sign() && ku.crl_sign());
                assert!(!ku.digital_signature());
            }
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                assert_eq!(aki.key_identifier.as_ref().unwrap().0, root_ski.as_slice());
                assert!(aki.authority_cert_issuer.is_none() && aki.authority_cert_serial.is_none());
            }
            ParsedExtension::SubjectKeyIdentifier(id) => {
                assert!(!ext.critical);
                let bits = &root.public_key().subject_public_key.data;
                let digest = ring::digest::digest(&ring::digest::SHA256, bits);
                assert_eq!(id.0, &digest.as_ref()[..20], "RFC 7093 §2 method 1");
            }
            other => panic!("unexpected root extension {other:?}"),
        }
    }
    assert_eq!(root_exts, 4);

    let mut inter_exts = 0;
    for ext in inter.extensions() {
        inter_exts += 1;
        match ext.parsed_extension() {
            ParsedExtension::BasicConstraints(bc) => {
                assert!(ext.critical && bc.ca && bc.path_len_constraint == Some(0));
            }
            ParsedExtension::KeyUsage(ku) => {
                assert!(
                    ext.critical && ku.key_cert_sign() && ku.crl_sign() && ku.digital_signature()
                );
            }
            ParsedExtension::ExtendedKeyUsage(eku) => {
                assert!(eku.server_auth && eku.client_auth && eku.other.is_empty() && !eku.any);
            }
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                assert_eq!(aki.key_identifier.as_ref().unwrap().0, root_ski.as_slice());
            }
            ParsedExtension::SubjectKeyIdentifier(_) => {}
            other => panic!("unexpected intermediate extension {other:?}"),
        }
    }
    assert_eq!(inter_exts, 5);
}

#[test]
fn two_installations_never_share_a_root_name() {
    let (_a, first) = pki();
    let (_b, second) = pki();
    let subject = |paths: &PkiPaths| {
        parse_certificate(&der(&paths.root_cert()))
            .unwrap()
            .subject()
            .to_string()
    };
    assert_ne!(subject(&first), subject(&second));
}

fn ski(cert: &x509_parser::certificate::X509Certificate<'_>) -> Vec<u8> {
    cert.extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0.to_vec()),
            _ => None,
        })
        .unwrap()
}
