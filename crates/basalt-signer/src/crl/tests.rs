//! Tests for `Issuer::sign_crl`: the RFC 5280 §5 profile read back with x509-parser, and
//! OpenSSL's verdict on the CRL and on leaves it revokes.

use std::fs;

use rcgen::{KeyPair, PKCS_ECDSA_P256_SHA256};
use time::Duration;
use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;
use x509_parser::x509::X509Version;

use super::*;
use crate::inspect::{certificate_pem, parse_certificate};
use crate::issuer::subject_key_id;
use crate::test_support::{csr, describe, dns, issuer, openssl};
use crate::{IssueRequest, IssuedCertificate, PkiPaths, check_csr};

const CRL_URL: &str = "http://ca.test:8080/crl/0123.crl";

fn entry(serial: &str, reason: Option<u8>, ago: Duration) -> RevokedEntry {
    RevokedEntry {
        serial: serial.to_owned(),
        revoked_at: OffsetDateTime::now_utc() - ago,
        reason,
    }
}

fn request<'a>(entries: &'a [RevokedEntry], idp: Option<&'a str>) -> CrlRequest<'a> {
    let now = OffsetDateTime::now_utc();
    CrlRequest {
        number: 42,
        this_update: now,
        next_update: now + Duration::hours(24),
        entries,
        distribution_point: idp,
    }
}

fn parse(der: &[u8]) -> CertificateRevocationList<'_> {
    let (rest, crl) = CertificateRevocationList::from_der(der).unwrap();
    assert!(rest.is_empty());
    crl
}

fn issue(issuer: &Issuer, name: &str, crl_url: Option<&str>) -> IssuedCertificate {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let identifiers = [dns(name)];
    let checked = check_csr(&csr(&key, &[name], None), &identifiers).unwrap();
    let now = OffsetDateTime::now_utc();
    issuer
        .issue(&IssueRequest {
            serial: &crate::Serial::random().unwrap(),
            csr: &checked,
            identifiers: &identifiers,
            not_before: now,
            not_after: now + Duration::days(1),
            crl_url,
            ca_issuers_url: None,
            profile: &crate::test_support::DEFAULT_LEAF,
        })
        .unwrap()
}

#[test]
fn the_crl_has_the_rfc_5280_profile() {
    let (_dir, _paths, issuer) = issuer();
    let entries = [
        entry("0a1b2c", Some(1), Duration::hours(2)),
        entry("80ff", Some(0), Duration::hours(1)),
        entry("7f", None, Duration::minutes(5)),
        entry("abc", Some(4), Duration::minutes(1)),
        entry("01", Some(5), Duration::ZERO),
    ];
    let req = request(&entries, Some(CRL_URL));
    let der = issuer.sign_crl(&req).unwrap();
    let crl = parse(&der);
    let intermediate = parse_certificate(issuer.certificate_der()).unwrap();

    assert!(crl.verify_signature(intermediate.public_key()).is_ok());
    // RFC 5280 §5.1.2.1: v2.
    assert_eq!(crl.version(), Some(X509Version::V2));
    assert_eq!(crl.issuer(), intermediate.subject());
    assert_eq!(crl.crl_number().map(|n| n.to_string()), Some("42".into()));
    assert_eq!(
        crl.last_update().to_datetime(),
        truncate_to_seconds(req.this_update)
    );
    assert_eq!(
        crl.next_update().map(|t| t.to_datetime()),
        Some(truncate_to_seconds(req.next_update))
    );

    // Entries: serial, time to the second, and a reason code except for unspecified/none.
    let revoked: Vec<_> = crl.iter_revoked_certificates().collect();
    assert_eq!(revoked.len(), entries.len());
    // The stored text form of each serial ("abc" is the INTEGER 0x0abc).
    let serials = ["0a1b2c", "80ff", "7f", "0abc", "01"];
    for ((got, want), serial) in revoked.iter().zip(&entries).zip(serials) {
        assert_eq!(crate::serial::serial_text(got.raw_serial()), serial);
        assert_eq!(
            got.revocation_date.to_datetime(),
            truncate_to_seconds(want.revoked_at)
        );
        let reason = got.reason_code().map(|(critical, code)| {
            assert!(!critical);
            code.0
        });
        assert_eq!(reason, want.reason.filter(|&r| r != 0), "{}", want.serial);
    }
    // A set top bit gets a sign octet, and only then.
    assert_eq!(revoked[1].raw_serial(), [0x00, 0x80, 0xff]);
    assert_eq!(revoked[3].raw_serial(), [0x0a, 0xbc]);

    let mut seen = Vec::new();
    for extension in crl.extensions() {
        match extension.parsed_extension() {
            // RFC 5280 §5.2.1: the AKI is the intermediate's SKI.
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                assert!(!extension.critical);
                assert_eq!(
                    aki.key_identifier.as_ref().map(|k| k.0.to_vec()),
                    subject_key_id(&intermediate)
                );
                assert_eq!(
                    aki.key_identifier
                        .as_ref()
                        .map(|k| crate::encoding::hex(k.0)),
                    Some(issuer.key_id())
                );
                seen.push("aki");
            }
            // RFC 5280 §5.2.3: non-critical.
            ParsedExtension::CRLNumber(_) => {
                assert!(!extension.critical);
                seen.push("number");
            }
            // RFC 5280 §5.2.5: critical, naming where it is served.
            ParsedExtension::IssuingDistributionPoint(idp) => {
                assert!(extension.critical);
                let Some(DistributionPointName::FullName(names)) = &idp.distribution_point else {
                    panic!("{idp:?}");
                };
                assert!(matches!(names.as_slice(), [GeneralName::URI(u)] if *u == CRL_URL));
                assert!(idp.only_contains_user_certs && !idp.only_contains_ca_certs);
                seen.push("idp");
            }
            other => panic!("unexpected CRL extension {other:?}"),
        }
    }
    seen.sort_unstable();
    assert_eq!(seen, ["aki", "idp", "number"]);
}

#[test]
fn an_empty_crl_has_no_revoked_list_and_no_idp_without_a_url() {
    let (_dir, _paths, issuer) = issuer();
    let der = issuer.sign_crl(&request(&[], None)).unwrap();
    let crl = parse(&der);
    assert_eq!(crl.iter_revoked_certificates().count(), 0);
    assert!(!crl.extensions().iter().any(|e| matches!(
        e.parsed_extension(),
        ParsedExtension::IssuingDistributionPoint(_)
    )));
    assert_eq!(crl.crl_number().map(|n| n.to_string()), Some("42".into()));
}

#[test]
fn large_crl_numbers_stay_positive() {
    let (_dir, _paths, issuer) = issuer();
    let mut req = request(&[], None);
    req.number = u64::MAX;
    let der = issuer.sign_crl(&req).unwrap();
    assert_eq!(
        parse(&der).crl_number().map(|n| n.to_string()),
        Some(u64::MAX.to_string())
    );
}

#[test]
fn bad_requests_are_refused() {
    let (_dir, _paths, issuer) = issuer();
    let err = |entries: &[RevokedEntry], idp: Option<&str>| {
        issuer
            .sign_crl(&request(entries, idp))
            .unwrap_err()
            .to_string()
    };
    let reason_7 = [entry("01", Some(7), Duration::ZERO)];
    assert!(err(&reason_7, None).contains("not a CRL reason code"));
    assert!(err(&[entry("01", Some(11), Duration::ZERO)], None).contains("reason code"));
    for serial in ["", "0x01", "AB", "g1"] {
        let message = err(&[entry(serial, None, Duration::ZERO)], None);
        assert!(message.contains("not lowercase hex"), "{serial}: {message}");
    }
    assert!(err(&[], Some("ftp://x/y.crl")).contains("http"));

    let mut inverted = request(&[], None);
    inverted.next_update = inverted.this_update;
    let message = issuer.sign_crl(&inverted).unwrap_err().to_string();
    assert!(message.contains("nextUpdate"), "{message}");
}

/// Runs openssl; `None` when it is missing.
fn run(args: &[&str]) -> Option<(bool, String)> {
    let out = openssl(args)?;
    Some((out.status.success(), describe(&out)))
}

#[test]
fn openssl_verifies_the_crl_and_refuses_the_leaf_it_revokes() {
    let (dir, paths, issuer) = issuer();
    let revoked = issue(&issuer, "revoked.test", Some(CRL_URL));
    let good = issue(&issuer, "good.test", Some(CRL_URL));
    let entries = [entry(&revoked.serial, Some(1), Duration::minutes(1))];
    let der = issuer.sign_crl(&request(&entries, Some(CRL_URL))).unwrap();

    let file = |name: &str, contents: &[u8]| {
        let path = dir.path().join(name);
        fs::write(&path, contents).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let crl_der = file("crl.der", &der);
    let crl_pem = file(
        "crl.pem",
        pkcs8::der::pem::encode_string("X509 CRL", pkcs8::der::pem::LineEnding::LF, &der)
            .unwrap()
            .as_bytes(),
    );
    let intermediate = paths.intermediate_cert("default");
    let intermediate = intermediate.to_str().unwrap();
    let root = root_path(&paths);

    // The command the integration tests use to check a served CRL.
    let Some((ok, out)) = run(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        &crl_der,
        "-CAfile",
        intermediate,
        "-noout",
        "-verify",
    ]) else {
        return;
    };
    assert!(ok && out.contains("verify OK"), "{out}");

    for (leaf, expect_ok) in [(&good, true), (&revoked, false)] {
        let leaf_path = file("leaf.pem", certificate_pem(&leaf.der).as_bytes());
        let (ok, out) = run(&[
            "verify",
            "-x509_strict",
            "-crl_check",
            "-CAfile",
            &root,
            "-untrusted",
            intermediate,
            "-CRLfile",
            &crl_pem,
            &leaf_path,
        ])
        .unwrap();
        assert_eq!(ok, expect_ok, "{out}");
        if !expect_ok {
            assert!(out.contains("certificate revoked"), "{out}");
        }
    }
}

fn root_path(paths: &PkiPaths) -> String {
    paths.root_cert().to_str().unwrap().to_owned()
}
