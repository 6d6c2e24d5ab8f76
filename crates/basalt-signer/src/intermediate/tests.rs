//! Tests for `create_intermediate`: profile, name constraints as encoded and as OpenSSL
//! enforces them, key algorithms, and refusals that write nothing.

use std::fs;
use std::path::{Path, PathBuf};

use basalt_protocol::Identifier;
use rcgen::{PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384};
use x509_parser::extensions::ParsedExtension;

use super::*;
use crate::inspect::pem_to_der;
use crate::test_support::{PASSWORD, csr, describe, dns, ip, openssl, pki};
use crate::{IpRange, IssueRequest, Issuer, StagedFiles, check_csr};

fn options(area: &str, name_constraints: Option<NameConstraints>) -> IntermediateOptions {
    IntermediateOptions {
        area: area.to_owned(),
        algorithm: IntermediateKeyAlgorithm::default(),
        name_constraints,
        key_passphrase: None,
    }
}

fn create(paths: &PkiPaths, options: &IntermediateOptions) -> Result<CreatedIntermediate, Error> {
    create_intermediate(paths, &paths.root_key(), &PASSWORD.into(), options)
}

/// What an area with `allow = [".prod.test", "api.example.test"]`, `ip_ranges =
/// ["10.20.0.0/16"]` and `deny = ["db.prod.test", ".db.prod.test"]` gets.
fn prod_constraints() -> NameConstraints {
    NameConstraints {
        permitted_dns: vec!["prod.test".into(), "api.example.test".into()],
        excluded_dns: vec!["db.prod.test".into()],
        permitted_ip: vec!["10.20.0.0/16".parse().unwrap()],
        excluded_ip: vec![],
    }
}

/// Writes the intermediate where `area rotate` would (with `StagedFiles`, as the binary does)
/// and loads it as `serve` would. Returns the certificate's path.
fn install(paths: &PkiPaths, area: &str, created: &CreatedIntermediate) -> (PathBuf, Issuer) {
    let cert = paths
        .directory_dir(area)
        .join(format!("intermediate-{}.pem", &created.key_id[..16]));
    let key = paths
        .directory_dir(area)
        .join(format!("intermediate-{}-key.pem", &created.key_id[..16]));
    let mut stage = StagedFiles::default();
    stage
        .create_dir(&paths.directory_dir(area), 0o755, false)
        .unwrap();
    stage
        .write(&key, created.key_pem.as_bytes(), 0o600)
        .unwrap();
    stage
        .write(&cert, created.certificate_pem.as_bytes(), 0o644)
        .unwrap();
    stage.commit().unwrap();
    let issuer = Issuer::load(&cert, &key).unwrap();
    (cert, issuer)
}

fn leaf_pem(issuer: &Issuer, identifiers: &[Identifier]) -> String {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let sans: Vec<&str> = identifiers.iter().map(|i| i.value()).collect();
    let checked = check_csr(&csr(&key, &sans, None), identifiers).unwrap();
    let now = OffsetDateTime::now_utc();
    let issued = issuer
        .issue(&IssueRequest {
            serial: &crate::Serial::random().unwrap(),
            csr: &checked,
            identifiers,
            not_before: now,
            not_after: now + time::Duration::days(1),
            crl_url: None,
            ca_issuers_url: None,
            profile: &crate::test_support::DEFAULT_LEAF,
        })
        .unwrap();
    crate::inspect::certificate_pem(&issued.der)
}

/// `openssl verify -x509_strict -CAfile root -untrusted intermediate leaf`: `None` without
/// openssl, else whether it verified and what it said.
fn openssl_verify(paths: &PkiPaths, intermediate: &Path, leaf: &str) -> Option<(bool, String)> {
    let dir = tempfile::tempdir().unwrap();
    let leaf_path = dir.path().join("leaf.pem");
    fs::write(&leaf_path, leaf).unwrap();
    let out = openssl(&[
        "verify",
        "-x509_strict",
        "-CAfile",
        paths.root_cert().to_str().unwrap(),
        "-untrusted",
        intermediate.to_str().unwrap(),
        leaf_path.to_str().unwrap(),
    ])?;
    Some((out.status.success(), describe(&out)))
}

fn listing(dir: &Path) -> Vec<PathBuf> {
    let mut all = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            all.extend(listing(&path));
        }
        all.push(path);
    }
    all.sort();
    all
}

#[test]
fn the_intermediate_has_the_documented_subject_validity_and_key() {
    let (_dir, paths) = pki();
    let created = create(&paths, &options("prod", None)).unwrap();
    let der = pem_to_der(&created.certificate_pem).unwrap().remove(0);
    let cert = parse_certificate(&der).unwrap();

    // O from the root, CN with the area and six random hex digits.
    let cn_prefix = "O=basalt, CN=basalt prod Intermediate CA ";
    assert!(
        created.subject.starts_with(cn_prefix),
        "{}",
        created.subject
    );
    let suffix = &created.subject[cn_prefix.len()..];
    assert_eq!(suffix.len(), 6);
    assert!(
        suffix
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );

    let root_der = pem_to_der(&fs::read_to_string(paths.root_cert()).unwrap())
        .unwrap()
        .remove(0);
    let root = parse_certificate(&root_der).unwrap();
    assert_eq!(cert.issuer(), root.subject());
    assert!(cert.verify_signature(Some(root.public_key())).is_ok());
    assert!(cert.validity().not_after <= root.validity().not_after);
    let years = (created.not_after - created.not_before).whole_days() / 365;
    assert!((4..=5).contains(&years), "{years}");
    assert_eq!(cert.validity().not_before.to_datetime(), created.not_before);

    // No nameConstraints when none were asked for.
    assert!(cert.name_constraints().unwrap().is_none());

    let key = KeyPair::from_pem(&created.key_pem).unwrap();
    assert_eq!(key.algorithm(), &PKCS_ECDSA_P256_SHA256);
    assert!(!format!("{created:?}").contains("PRIVATE"));

    let (_, issuer) = install(&paths, "prod", &created);
    assert_eq!(issuer.key_id(), created.key_id);
    assert_eq!(issuer.subject(), created.subject);
    assert_eq!(issuer.not_before(), created.not_before);
    assert_eq!(issuer.not_after(), created.not_after);
    assert_eq!(issuer.name_constraints(), None);
    assert_eq!(created.key_id.len(), 40);
}

#[test]
fn the_p384_option_gives_a_p384_key_that_signs_leaves() {
    let (_dir, paths) = pki();
    let mut opts = options("big", None);
    opts.algorithm = IntermediateKeyAlgorithm::P384;
    let created = create(&paths, &opts).unwrap();
    let key = KeyPair::from_pem(&created.key_pem).unwrap();
    assert_eq!(key.algorithm(), &PKCS_ECDSA_P384_SHA384);
    let (cert, issuer) = install(&paths, "big", &created);
    let leaf = leaf_pem(&issuer, &[dns("a.test")]);
    if let Some((ok, out)) = openssl_verify(&paths, &cert, &leaf) {
        assert!(ok, "{out}");
    }
}

#[test]
fn constraints_parse_back_identically_and_are_critical() {
    let (_dir, paths) = pki();
    let mut constraints = prod_constraints();
    constraints.excluded_ip = vec!["0.0.0.0/0".parse().unwrap(), "::/0".parse().unwrap()];
    constraints
        .permitted_ip
        .push("2001:db8::/32".parse().unwrap());
    let created = create(&paths, &options("prod", Some(constraints.clone()))).unwrap();
    let der = pem_to_der(&created.certificate_pem).unwrap().remove(0);
    let cert = parse_certificate(&der).unwrap();
    let extension = cert
        .extensions()
        .iter()
        .find(|e| matches!(e.parsed_extension(), ParsedExtension::NameConstraints(_)))
        .expect("a nameConstraints extension");
    assert!(extension.critical, "RFC 5280 §4.2.1.10: MUST be critical");
    assert_eq!(
        NameConstraints::from_certificate(&cert).unwrap(),
        Some(constraints.clone())
    );
    let (_, issuer) = install(&paths, "prod", &created);
    assert_eq!(issuer.name_constraints(), Some(&constraints));
}

#[test]
fn empty_constraints_write_no_extension() {
    let (_dir, paths) = pki();
    let created = create(&paths, &options("open", Some(NameConstraints::default()))).unwrap();
    let der = pem_to_der(&created.certificate_pem).unwrap().remove(0);
    assert!(
        parse_certificate(&der)
            .unwrap()
            .name_constraints()
            .unwrap()
            .is_none()
    );
}

#[test]
fn malformed_constraints_are_refused() {
    let (_dir, paths) = pki();
    let bad = NameConstraints {
        permitted_dns: vec![".prod.test".into()],
        ..NameConstraints::default()
    };
    let err = create(&paths, &options("prod", Some(bad))).unwrap_err();
    assert!(err.to_string().contains("not a DNS name"), "{err}");
}

#[test]
fn openssl_enforces_the_constraints_as_permits_reads_them() {
    let (_dir, paths) = pki();
    let mut constraints = prod_constraints();
    constraints.excluded_ip = vec!["0.0.0.0/0".parse().unwrap()];
    constraints.permitted_ip.clear();
    let created = create(&paths, &options("prod", Some(constraints.clone()))).unwrap();
    let (cert, issuer) = install(&paths, "prod", &created);
    let cases: Vec<(Vec<Identifier>, bool)> = vec![
        (vec![dns("a.prod.test")], true),
        (vec![dns("prod.test"), dns("*.web.prod.test")], true),
        (vec![dns("api.example.test")], true),
        (vec![dns("x.example.test")], false),
        (vec![dns("notprod.test")], false),
        (vec![dns("db.prod.test")], false),
        (vec![dns("*.db.prod.test")], false),
        (vec![dns("a.prod.test"), dns("other.test")], false),
        (vec![ip("10.20.1.1")], false),
        // No permitted iPAddress subtree and only IPv4 excluded: IPv6 is unconstrained.
        (vec![ip("2001:db8::1")], true),
    ];
    for (identifiers, inside) in cases {
        let permitted = identifiers.iter().all(|id| constraints.permits(id).is_ok());
        assert_eq!(permitted, inside, "permits {identifiers:?}");
        let leaf = leaf_pem(&issuer, &identifiers);
        let Some((ok, out)) = openssl_verify(&paths, &cert, &leaf) else {
            return;
        };
        assert_eq!(ok, inside, "openssl verify {identifiers:?}: {out}");
        if !inside {
            assert!(out.contains("subtree violation"), "{out}");
        }
    }
}

#[test]
fn openssl_enforces_permitted_ip_ranges() {
    let (_dir, paths) = pki();
    let constraints = NameConstraints {
        permitted_ip: vec![IpRange::new("10.20.0.0".parse().unwrap(), 16).unwrap()],
        ..NameConstraints::default()
    };
    let created = create(&paths, &options("lan", Some(constraints.clone()))).unwrap();
    let (cert, issuer) = install(&paths, "lan", &created);
    for (id, inside) in [
        (ip("10.20.3.4"), true),
        (ip("10.21.3.4"), false),
        (ip("::ffff:10.20.3.4"), false),
        (dns("anything.test"), true),
    ] {
        assert_eq!(constraints.permits(&id).is_ok(), inside, "permits {id}");
        let leaf = leaf_pem(&issuer, std::slice::from_ref(&id));
        if let Some((ok, out)) = openssl_verify(&paths, &cert, &leaf) {
            assert_eq!(ok, inside, "openssl verify {id}: {out}");
        }
    }
}

#[test]
fn a_wrong_passphrase_is_refused_naming_the_file_and_writes_nothing() {
    let (dir, paths) = pki();
    let before = listing(dir.path());
    let err = create_intermediate(
        &paths,
        &paths.root_key(),
        &"wrong".into(),
        &options("prod", Some(prod_constraints())),
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::BadRootPassword(Some(p)) if *p == paths.root_key()),
        "{err:?}"
    );
    assert!(err.to_string().contains("root-key.pem"), "{err}");
    assert_eq!(listing(dir.path()), before);
}

#[test]
fn an_unreadable_root_key_is_an_io_error_naming_the_file() {
    let (dir, paths) = pki();
    let missing = dir.path().join("elsewhere/root-key.pem");
    let err = create_intermediate(&paths, &missing, &PASSWORD.into(), &options("prod", None))
        .unwrap_err();
    assert!(
        matches!(&err, Error::Io { path, .. } if *path == missing),
        "{err:?}"
    );
    assert!(err.to_string().contains("elsewhere/root-key.pem"), "{err}");
}

#[test]
fn a_root_key_kept_elsewhere_works_and_another_roots_key_is_refused() {
    let (dir, paths) = pki();
    let moved = dir.path().join("usb-stick-root-key.pem");
    fs::copy(paths.root_key(), &moved).unwrap();
    assert!(create_intermediate(&paths, &moved, &PASSWORD.into(), &options("prod", None)).is_ok());

    let (_other_dir, other) = pki();
    let err = create_intermediate(
        &paths,
        &other.root_key(),
        &PASSWORD.into(),
        &options("prod", None),
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::KeyFile { reason, .. } if reason.contains("does not match the root certificate")),
        "{err:?}"
    );
}

#[test]
fn a_bad_area_name_is_refused_before_the_key_is_read() {
    let (dir, paths) = pki();
    let err = create_intermediate(
        &paths,
        &dir.path().join("no-such-key.pem"),
        &PASSWORD.into(),
        &options("../x", None),
    )
    .unwrap_err();
    assert!(err.to_string().contains("directory name"), "{err}");
}

/// Writes a constrained intermediate, a leaf it signed with CDP and AIA, and a CRL with
/// entries to `$BASALT_SIGNER_DUMP_DIR` (when set) for external linters such as pkilint; does
/// nothing otherwise.
#[test]
fn dump_constrained_intermediate_and_crl_for_linting() {
    let Some(out) = std::env::var_os("BASALT_SIGNER_DUMP_DIR") else {
        return;
    };
    let out = Path::new(&out);
    fs::create_dir_all(out).unwrap();
    let (_dir, paths) = pki();
    let mut constraints = prod_constraints();
    constraints.excluded_ip = vec!["0.0.0.0/0".parse().unwrap(), "::/0".parse().unwrap()];
    constraints.permitted_ip.clear();
    let created = create(&paths, &options("prod", Some(constraints))).unwrap();
    let (_, issuer) = install(&paths, "prod", &created);
    fs::copy(paths.root_cert(), out.join("root.pem")).unwrap();
    fs::write(
        out.join("intermediate-constrained.pem"),
        &created.certificate_pem,
    )
    .unwrap();
    let mut with_ip_ranges = prod_constraints();
    with_ip_ranges
        .permitted_ip
        .push("2001:db8::/32".parse().unwrap());
    let ip_created = create(&paths, &options("lan", Some(with_ip_ranges))).unwrap();
    fs::write(
        out.join("intermediate-ip-constrained.pem"),
        &ip_created.certificate_pem,
    )
    .unwrap();

    let base = "http://ca.test:8080";
    let crl_url = format!("{base}/crl/{}.crl", issuer.key_id());
    let ca_url = format!("{base}/intermediates/{}.crt", issuer.key_id());
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let identifiers = [dns("www.prod.test"), dns("prod.test")];
    let checked = check_csr(
        &csr(&key, &["www.prod.test", "prod.test"], None),
        &identifiers,
    )
    .unwrap();
    let now = crate::validity::now_seconds();
    let issued = issuer
        .issue(&IssueRequest {
            serial: &crate::Serial::random().unwrap(),
            csr: &checked,
            identifiers: &identifiers,
            not_before: now,
            not_after: now + time::Duration::days(90),
            crl_url: Some(&crl_url),
            ca_issuers_url: Some(&ca_url),
            profile: &crate::test_support::DEFAULT_LEAF,
        })
        .unwrap();
    fs::write(
        out.join("leaf-cdp-aia.pem"),
        crate::inspect::certificate_pem(&issued.der),
    )
    .unwrap();

    let entries = [
        crate::RevokedEntry {
            serial: issued.serial.clone(),
            revoked_at: now,
            reason: Some(1),
        },
        crate::RevokedEntry {
            serial: "0a1b2c3d".into(),
            revoked_at: now - time::Duration::hours(1),
            reason: Some(0),
        },
        crate::RevokedEntry {
            serial: "7f".into(),
            revoked_at: now - time::Duration::hours(2),
            reason: None,
        },
    ];
    for (name, entries, idp) in [
        ("crl.der", &entries[..], Some(crl_url.as_str())),
        ("crl-empty-no-idp.der", &[][..], None),
    ] {
        let der = issuer
            .sign_crl(&crate::CrlRequest {
                number: 7,
                this_update: now,
                next_update: now + time::Duration::hours(24),
                entries,
                distribution_point: idp,
            })
            .unwrap();
        fs::write(out.join(name), der).unwrap();
    }
}

#[test]
fn an_ip_common_name_is_left_out_under_name_constraints_so_openssl_accepts_the_leaf() {
    // OpenSSL checks the CN of a leaf without a dNSName as a DNS name against dNSName
    // constraints (NAME_CONSTRAINTS_check_CN): CN=192.0.2.1 would fail `prod.test`.
    let (_dir, paths) = pki();
    let constraints = NameConstraints {
        permitted_dns: vec!["prod.test".into()],
        ..NameConstraints::default()
    };
    let created = create(&paths, &options("prod", Some(constraints))).unwrap();
    let (cert, issuer) = install(&paths, "prod", &created);
    for (identifiers, cn, subject) in [
        (vec![ip("192.0.2.1")], "192.0.2.1", ""),
        (vec![ip("2001:db8::1")], "2001:db8::1", ""),
        (vec![dns("a.prod.test")], "a.prod.test", "CN=a.prod.test"),
    ] {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let sans: Vec<&str> = identifiers.iter().map(|i| i.value()).collect();
        let checked = check_csr(&csr(&key, &sans, Some(cn)), &identifiers).unwrap();
        let now = OffsetDateTime::now_utc();
        let issued = issuer
            .issue(&IssueRequest {
                serial: &crate::Serial::random().unwrap(),
                csr: &checked,
                identifiers: &identifiers,
                not_before: now,
                not_after: now + time::Duration::days(1),
                crl_url: None,
                ca_issuers_url: None,
                profile: &crate::test_support::DEFAULT_LEAF,
            })
            .unwrap();
        let leaf = parse_certificate(&issued.der).unwrap();
        assert_eq!(leaf.subject().to_string(), subject);
        let pem = crate::inspect::certificate_pem(&issued.der);
        if let Some((ok, out)) = openssl_verify(&paths, &cert, &pem) {
            assert!(ok, "{identifiers:?}: {out}");
        }
    }
    // Without name constraints the IP CN stays, as before.
    let (_dir, _paths, plain) = crate::test_support::issuer();
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let identifiers = [ip("192.0.2.1")];
    let checked = check_csr(&csr(&key, &["192.0.2.1"], Some("192.0.2.1")), &identifiers).unwrap();
    let now = OffsetDateTime::now_utc();
    let issued = plain
        .issue(&IssueRequest {
            serial: &crate::Serial::random().unwrap(),
            csr: &checked,
            identifiers: &identifiers,
            not_before: now,
            not_after: now + time::Duration::days(1),
            crl_url: None,
            ca_issuers_url: None,
            profile: &crate::test_support::DEFAULT_LEAF,
        })
        .unwrap();
    let leaf = parse_certificate(&issued.der).unwrap();
    assert_eq!(leaf.subject().to_string(), "CN=192.0.2.1");
}
