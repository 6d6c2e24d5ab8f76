//! Tests for the leaf and serving-certificate profiles, cross-checked with `openssl verify`.

use std::path::Path;

use rcgen::{PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384, PKCS_ED25519};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};

use super::*;
use crate::inspect::{parse_certificate, pem_to_der};
use crate::test_support::{csr, describe, dns, ip, issuer, openssl, rsa_key};
use crate::{PkiPaths, certificate_serial_and_key, check_csr};

/// The lifetime the tests ask for; the server decides it in production.
const LIFETIME: time::Duration = time::Duration::days(90);

/// A validity window starting now, as the server would request it (with sub-second noise,
/// which issuance truncates).
fn window() -> (OffsetDateTime, OffsetDateTime) {
    let not_before = OffsetDateTime::now_utc();
    (not_before, not_before + LIFETIME)
}

/// Issues a leaf for `key` with these identifiers (all in the SAN) and CN.
fn issue_for(
    issuer: &Issuer,
    key: &KeyPair,
    identifiers: &[Identifier],
    cn: Option<&str>,
) -> IssuedCertificate {
    let sans: Vec<&str> = identifiers.iter().map(|i| i.value()).collect();
    let checked = check_csr(&csr(key, &sans, cn), identifiers).unwrap();
    let (not_before, not_after) = window();
    issuer
        .issue(&IssueRequest {
            serial: &Serial::random().unwrap(),
            csr: &checked,
            identifiers,
            not_before,
            not_after,
            crl_url: None,
            ca_issuers_url: None,
            profile: &crate::test_support::DEFAULT_LEAF,
        })
        .unwrap()
}

/// `openssl verify -x509_strict -purpose <purpose>` of `leaf_pem` against the PKI, at a time
/// inside the leaf's validity. `None` when openssl is missing.
pub(super) fn openssl_verify(
    paths: &PkiPaths,
    leaf_pem: &str,
    purpose: &str,
    at: OffsetDateTime,
) -> Option<bool> {
    let dir = tempfile::tempdir().unwrap();
    let leaf = dir.path().join("leaf.pem");
    std::fs::write(&leaf, leaf_pem).unwrap();
    let arg = |p: &Path| p.to_str().unwrap().to_owned();
    let attime = at.unix_timestamp().to_string();
    let out = openssl(&[
        "verify",
        "-x509_strict",
        "-purpose",
        purpose,
        "-attime",
        &attime,
        "-CAfile",
        &arg(&paths.root_cert()),
        "-untrusted",
        &arg(&paths.intermediate_cert("default")),
        &arg(&leaf),
    ])?;
    if !out.status.success() {
        eprintln!("{}", describe(&out));
    }
    Some(out.status.success())
}

fn leaf_pem(issued: &IssuedCertificate) -> String {
    certificate_pem(&issued.der)
}

fn extension<'a>(
    cert: &'a X509Certificate<'_>,
    pick: impl Fn(&ParsedExtension<'_>) -> bool,
) -> &'a x509_parser::extensions::X509Extension<'a> {
    cert.extensions()
        .iter()
        .find(|e| pick(e.parsed_extension()))
        .expect("extension present")
}

#[test]
fn leaves_for_every_key_type_verify_with_openssl_for_server_and_client() {
    let (_dir, paths, issuer) = issuer();
    for key in [
        KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap(),
        KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).unwrap(),
        KeyPair::generate_for(&PKCS_ED25519).unwrap(),
        rsa_key(),
    ] {
        let issued = issue_for(&issuer, &key, &[dns("a.test"), ip("192.0.2.1")], None);
        for purpose in ["sslserver", "sslclient"] {
            let at = issued.not_before + time::Duration::hours(1);
            if let Some(ok) = openssl_verify(&paths, &leaf_pem(&issued), purpose, at) {
                assert!(ok, "{:?} {purpose}", key.algorithm());
            }
        }
    }
}

#[test]
fn the_leaf_profile_is_exactly_the_documented_one() {
    let (_dir, _paths, issuer) = issuer();
    let identifiers = [dns("www.a.test"), dns("a.test"), ip("2001:db8::1")];
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let issued = issue_for(&issuer, &key, &identifiers, Some("a.test"));
    let cert = parse_certificate(&issued.der).unwrap();
    let intermediate = parse_certificate(issuer.certificate_der()).unwrap();

    assert!(
        cert.verify_signature(Some(intermediate.public_key()))
            .is_ok()
    );
    assert_eq!(cert.subject().to_string(), "CN=a.test");
    assert_eq!(cert.issuer(), intermediate.subject());
    assert_eq!(
        cert.public_key().subject_public_key.data.as_ref(),
        key.public_key_raw()
    );

    // Validity exactly as requested, to the second.
    assert_eq!(cert.validity().not_before.to_datetime(), issued.not_before);
    assert_eq!(cert.validity().not_after.to_datetime(), issued.not_after);
    assert_eq!(issued.not_after - issued.not_before, LIFETIME);
    assert_eq!(issued.not_before.nanosecond(), 0);
    assert!(OffsetDateTime::now_utc() - issued.not_before < time::Duration::seconds(5));

    let mut seen = Vec::new();
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectAlternativeName(san) => {
                assert!(!ext.critical, "the subject is not empty");
                let names: Vec<String> = san
                    .general_names
                    .iter()
                    .map(|n| match n {
                        GeneralName::DNSName(d) => d.to_string(),
                        GeneralName::IPAddress(b) => {
                            std::net::IpAddr::from(<[u8; 16]>::try_from(*b).unwrap()).to_string()
                        }
                        other => panic!("{other:?}"),
                    })
                    .collect();
                assert_eq!(names, ["www.a.test", "a.test", "2001:db8::1"]);
                seen.push("san");
            }
            ParsedExtension::KeyUsage(ku) => {
                assert!(ext.critical && ku.digital_signature());
                assert_eq!(ku.flags, 1, "digitalSignature only for an EC key");
                seen.push("ku");
            }
            ParsedExtension::ExtendedKeyUsage(eku) => {
                assert!(eku.server_auth && eku.client_auth && eku.other.is_empty());
                seen.push("eku");
            }
            ParsedExtension::BasicConstraints(bc) => {
                assert!(ext.critical && !bc.ca);
                seen.push("bc");
            }
            ParsedExtension::SubjectKeyIdentifier(ski) => {
                // RFC 7093 §2 method 1: SHA-256 of the key bits, leftmost 160 bits.
                let digest = ring::digest::digest(&ring::digest::SHA256, key.public_key_raw());
                assert_eq!(ski.0, &digest.as_ref()[..20]);
                seen.push("ski");
            }
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                let ParsedExtension::SubjectKeyIdentifier(ski) = extension(&intermediate, |e| {
                    matches!(e, ParsedExtension::SubjectKeyIdentifier(_))
                })
                .parsed_extension() else {
                    unreachable!()
                };
                assert_eq!(aki.key_identifier.as_ref().unwrap().0, ski.0);
                seen.push("aki");
            }
            other => panic!("unexpected extension {other:?}"),
        }
    }
    seen.sort_unstable();
    assert_eq!(seen, ["aki", "bc", "eku", "ku", "san", "ski"]);
}

#[test]
fn crl_and_ca_issuers_urls_become_non_critical_cdp_and_aia() {
    let (_dir, paths, issuer) = issuer();
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let identifiers = [dns("a.test")];
    let checked = check_csr(&csr(&key, &["a.test"], None), &identifiers).unwrap();
    let (not_before, not_after) = window();
    let crl_url = format!("http://ca.test:8080/crl/{}.crl", issuer.key_id());
    let ca_url = format!("http://ca.test:8080/intermediates/{}.crt", issuer.key_id());
    let issued = issuer
        .issue(&IssueRequest {
            serial: &Serial::random().unwrap(),
            csr: &checked,
            identifiers: &identifiers,
            not_before,
            not_after,
            crl_url: Some(&crl_url),
            ca_issuers_url: Some(&ca_url),
            profile: &crate::test_support::DEFAULT_LEAF,
        })
        .unwrap();
    let cert = parse_certificate(&issued.der).unwrap();

    // RFC 5280 §4.2.1.13: one distribution point whose fullName is the URL.
    let cdp = extension(&cert, |e| {
        matches!(e, ParsedExtension::CRLDistributionPoints(_))
    });
    assert!(!cdp.critical);
    let ParsedExtension::CRLDistributionPoints(points) = cdp.parsed_extension() else {
        unreachable!()
    };
    let [point] = points.points.as_slice() else {
        panic!("{points:?}")
    };
    let Some(x509_parser::extensions::DistributionPointName::FullName(names)) =
        &point.distribution_point
    else {
        panic!("{point:?}")
    };
    assert!(matches!(names.as_slice(), [GeneralName::URI(u)] if *u == crl_url));
    assert!(point.reasons.is_none() && point.crl_issuer.is_none());

    // RFC 5280 §4.2.2.1: caIssuers, non-critical.
    let aia = extension(&cert, |e| {
        matches!(e, ParsedExtension::AuthorityInfoAccess(_))
    });
    assert!(!aia.critical);
    let ParsedExtension::AuthorityInfoAccess(aia) = aia.parsed_extension() else {
        unreachable!()
    };
    let [description] = aia.accessdescs.as_slice() else {
        panic!("{aia:?}")
    };
    assert_eq!(
        description.access_method,
        x509_parser::oid_registry::OID_PKIX_ACCESS_DESCRIPTOR_CA_ISSUERS
    );
    assert!(matches!(&description.access_location, GeneralName::URI(u) if *u == ca_url));

    // Still a valid TLS leaf for a strict verifier.
    let at = issued.not_before + time::Duration::hours(1);
    if let Some(ok) = openssl_verify(&paths, &leaf_pem(&issued), "sslserver", at) {
        assert!(ok);
    }
}

#[test]
fn urls_a_certificate_cannot_carry_are_refused() {
    let (_dir, _paths, issuer) = issuer();
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let identifiers = [dns("a.test")];
    let checked = check_csr(&csr(&key, &["a.test"], None), &identifiers).unwrap();
    let (not_before, not_after) = window();
    for (crl_url, ca_issuers_url) in [
        (Some("http://cä.test/x.crl"), None),
        (None, Some("ca.test/x.crt")),
        (Some("http://ca.test/a b.crl"), None),
    ] {
        let err = issuer
            .issue(&IssueRequest {
                serial: &Serial::random().unwrap(),
                csr: &checked,
                identifiers: &identifiers,
                not_before,
                not_after,
                crl_url,
                ca_issuers_url,
                profile: &crate::test_support::DEFAULT_LEAF,
            })
            .unwrap_err();
        assert!(matches!(err, Error::Signing(_)), "{err}");
    }
}

#[test]
fn rsa_leaves_also_get_key_encipherment() {
    let (_dir, _paths, issuer) = issuer();
    let issued = issue_for(&issuer, &rsa_key(), &[dns("a.test")], None);
    let cert = parse_certificate(&issued.der).unwrap();
    let ku = extension(&cert, |e| matches!(e, ParsedExtension::KeyUsage(_)));
    let ParsedExtension::KeyUsage(ku) = ku.parsed_extension() else {
        unreachable!()
    };
    assert!(ku.digital_signature() && ku.key_encipherment());
    assert_eq!(ku.flags, 0b101);
}

#[test]
fn without_a_cn_the_subject_is_empty_and_the_san_critical() {
    let (_dir, _paths, issuer) = issuer();
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let issued = issue_for(&issuer, &key, &[dns("a.test")], None);
    let cert = parse_certificate(&issued.der).unwrap();
    assert_eq!(cert.subject().iter().count(), 0);
    let san = extension(&cert, |e| {
        matches!(e, ParsedExtension::SubjectAlternativeName(_))
    });
    assert!(san.critical);
}

#[test]
fn a_cn_too_long_for_x509_stays_in_the_san_only() {
    let (_dir, _paths, issuer) = issuer();
    let long = format!("{}.a.test", "a".repeat(60));
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let issued = issue_for(&issuer, &key, &[dns(&long)], Some(&long));
    assert_eq!(
        parse_certificate(&issued.der)
            .unwrap()
            .subject()
            .iter()
            .count(),
        0
    );
}

#[test]
fn the_serial_is_random_positive_and_reported_as_in_the_certificate() {
    let (_dir, _paths, issuer) = issuer();
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let first = issue_for(&issuer, &key, &[dns("a.test")], None);
    let second = issue_for(&issuer, &key, &[dns("a.test")], None);
    assert_ne!(first.serial, second.serial);

    let cert = parse_certificate(&first.der).unwrap();
    let raw = cert.raw_serial();
    assert!(raw[0] & 0x80 == 0, "positive");
    assert!(raw.len() <= 17, "at most 16 value bytes plus a sign octet");
    assert!(cert.tbs_certificate.serial.bits() > 64);
    assert_eq!(
        first.serial,
        whole_bytes(cert.tbs_certificate.serial.to_str_radix(16))
    );
    assert!(first.serial.len() <= 32 && first.serial.len().is_multiple_of(2));
    assert!(
        first
            .serial
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );

    let (serial, jwk) = certificate_serial_and_key(&first.der).unwrap();
    assert_eq!(serial, first.serial);
    assert_eq!(jwk.public_key_bytes().unwrap(), key.public_key_raw());
}

#[test]
fn the_chain_is_the_leaf_then_the_intermediate() {
    let (_dir, _paths, issuer) = issuer();
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let issued = issue_for(&issuer, &key, &[dns("a.test")], None);
    let ders = pem_to_der(&issued.chain_pem).unwrap();
    assert_eq!(
        ders,
        [issued.der.clone(), issuer.certificate_der().to_vec()]
    );
    assert_eq!(issued.chain_pem.matches("-----BEGIN").count(), 2);
}

#[test]
fn inverted_validity_and_empty_names_are_refused() {
    let (_dir, _paths, issuer) = issuer();
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let checked = check_csr(&csr(&key, &["a.test"], None), &[dns("a.test")]).unwrap();
    let serial = Serial::random().unwrap();
    let request = |identifiers, not_before, not_after| IssueRequest {
        serial: &serial,
        csr: &checked,
        identifiers,
        not_before,
        not_after,
        crl_url: None,
        ca_issuers_url: None,
        profile: &crate::test_support::DEFAULT_LEAF,
    };
    let names = [dns("a.test")];
    let (not_before, not_after) = window();
    assert!(matches!(
        issuer.issue(&request(&names, not_after, not_before)),
        Err(Error::Signing(_))
    ));
    assert!(matches!(
        issuer.issue(&request(&names, not_before, not_before)),
        Err(Error::Signing(_))
    ));
    assert!(matches!(
        issuer.issue(&request(&[], not_before, not_after)),
        Err(Error::Signing(_))
    ));
}

#[test]
fn serving_certificates_are_server_only_with_a_matching_fresh_key() {
    let (_dir, paths, issuer) = issuer();
    let lifetime = std::time::Duration::from_secs(7 * 24 * 3600);
    let serving = issuer
        .issue_serving_certificate(
            &[dns("acme.test"), ip("127.0.0.1")],
            lifetime,
            OffsetDateTime::now_utc(),
        )
        .unwrap();
    let ders = pem_to_der(&serving.chain_pem).unwrap();
    assert_eq!(ders.len(), 2);
    let cert = parse_certificate(&ders[0]).unwrap();
    assert_eq!(cert.subject().iter().count(), 0);
    let eku = extension(&cert, |e| matches!(e, ParsedExtension::ExtendedKeyUsage(_)));
    let ParsedExtension::ExtendedKeyUsage(eku) = eku.parsed_extension() else {
        unreachable!()
    };
    assert!(eku.server_auth && !eku.client_auth);

    assert!(!serving.sealed_key.contains("PRIVATE KEY"));
    let key_pem = issuer
        .open_serving_key(&serving.chain_pem, &serving.sealed_key)
        .unwrap();
    let key = KeyPair::from_pem(&key_pem).unwrap();
    assert_eq!(
        cert.public_key().subject_public_key.data.as_ref(),
        key.public_key_raw()
    );
    let not_after = cert.validity().not_after.to_datetime();
    assert_eq!(not_after, serving.not_after);
    let expected = OffsetDateTime::now_utc() + time::Duration::try_from(lifetime).unwrap();
    assert!((expected - not_after).abs() < time::Duration::seconds(5));
    assert_eq!(
        serving.serial,
        certificate_serial_and_key(&ders[0]).unwrap().0
    );

    let now = OffsetDateTime::now_utc();
    let leaf = certificate_pem(&ders[0]);
    if let Some(ok) = openssl_verify(&paths, &leaf, "sslserver", now) {
        assert!(ok);
        assert_eq!(openssl_verify(&paths, &leaf, "sslclient", now), Some(false));
    }
}

/// Writes one certificate of each kind to `$BASALT_SIGNER_DUMP_DIR` (when set) for external
/// linters such as pkilint; does nothing otherwise.
#[test]
fn dump_certificates_for_linting() {
    let Some(out) = std::env::var_os("BASALT_SIGNER_DUMP_DIR") else {
        return;
    };
    let out = Path::new(&out);
    std::fs::create_dir_all(out).unwrap();
    let (_dir, paths, issuer) = issuer();
    std::fs::copy(paths.root_cert(), out.join("root.pem")).unwrap();
    std::fs::copy(
        paths.intermediate_cert("default"),
        out.join("intermediate.pem"),
    )
    .unwrap();
    let now = crate::validity::now_seconds();
    let ec = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    for (name, key, cn) in [
        ("leaf-ec.pem", &ec, Some("a.test")),
        ("leaf-rsa.pem", &rsa_key(), None),
    ] {
        let identifiers = [dns("a.test"), dns("www.a.test"), ip("192.0.2.1")];
        let sans: Vec<&str> = identifiers.iter().map(|i| i.value()).collect();
        let checked = check_csr(&csr(key, &sans, cn), &identifiers).unwrap();
        let issued = issuer
            .issue(&IssueRequest {
                serial: &Serial::random().unwrap(),
                csr: &checked,
                identifiers: &identifiers,
                not_before: now,
                not_after: now + time::Duration::days(90),
                crl_url: None,
                ca_issuers_url: None,
                profile: &crate::test_support::DEFAULT_LEAF,
            })
            .unwrap();
        std::fs::write(out.join(name), leaf_pem(&issued)).unwrap();
    }
    let serving = issuer
        .issue_serving_certificate(
            &[dns("acme.test")],
            std::time::Duration::from_secs(86400),
            OffsetDateTime::now_utc(),
        )
        .unwrap();
    let serving_der = pem_to_der(&serving.chain_pem).unwrap().remove(0);
    std::fs::write(out.join("serving.pem"), certificate_pem(&serving_der)).unwrap();
}

/// num-bigint's hex has no leading zero; the serial text always has whole bytes.
fn whole_bytes(hex: String) -> String {
    if hex.len() % 2 == 1 {
        format!("0{hex}")
    } else {
        hex
    }
}
