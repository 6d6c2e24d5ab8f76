//! Each leaf profile's extensions (EKU, KU, CN, CRL Distribution Point), read back with
//! x509-parser and cross-checked with `openssl verify -purpose`.

use rcgen::PKCS_ECDSA_P256_SHA256;
use x509_parser::extensions::ParsedExtension;

use super::*;
use crate::inspect::parse_certificate;
use crate::leaf_profile::{ExtendedKeyUsage, KeyUsage};
use crate::test_support::{csr, dns, issuer, rsa_key};
use crate::{PkiPaths, check_csr};

const CRL_URL: &str = "http://pki.test/crl/AB.crl";

/// What one leaf came out with.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    server_auth: bool,
    client_auth: bool,
    /// KeyUsage flags (bit 0 digitalSignature, bit 2 keyEncipherment).
    key_usage: u16,
    subject: String,
    crl_dp: bool,
}

fn issue_under(issuer: &Issuer, key: &KeyPair, profile: &LeafProfile) -> IssuedCertificate {
    let identifiers = [dns("a.test")];
    let checked = check_csr(&csr(key, &["a.test"], Some("a.test")), &identifiers).unwrap();
    let not_before = OffsetDateTime::now_utc();
    issuer
        .issue(&IssueRequest {
            serial: &Serial::random().unwrap(),
            csr: &checked,
            identifiers: &identifiers,
            not_before,
            not_after: not_before + time::Duration::hours(6),
            crl_url: Some(CRL_URL),
            ca_issuers_url: None,
            profile,
        })
        .unwrap()
}

fn seen(issued: &IssuedCertificate) -> Seen {
    let cert = parse_certificate(&issued.der).unwrap();
    let mut seen = Seen {
        server_auth: false,
        client_auth: false,
        key_usage: 0,
        subject: cert.subject().to_string(),
        crl_dp: false,
    };
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::ExtendedKeyUsage(eku) => {
                assert!(eku.other.is_empty() && !eku.any);
                seen.server_auth = eku.server_auth;
                seen.client_auth = eku.client_auth;
            }
            ParsedExtension::KeyUsage(ku) => {
                assert!(ext.critical);
                seen.key_usage = ku.flags;
            }
            ParsedExtension::CRLDistributionPoints(_) => seen.crl_dp = true,
            _ => {}
        }
    }
    seen
}

/// `openssl verify -purpose` of the leaf; `None` without openssl.
fn verifies_for(paths: &PkiPaths, issued: &IssuedCertificate, purpose: &str) -> Option<bool> {
    let at = issued.not_before + time::Duration::minutes(5);
    tests::openssl_verify(paths, &certificate_pem(&issued.der), purpose, at)
}

fn profile(
    name: &str,
    ekus: &[ExtendedKeyUsage],
    kus: &[KeyUsage],
    common_name: bool,
    crl: bool,
) -> LeafProfile {
    LeafProfile {
        name: name.to_owned(),
        extended_key_usages: ekus.to_vec(),
        key_usages: kus.to_vec(),
        common_name,
        crl_distribution_point: crl,
    }
}

#[test]
fn each_profile_gets_its_eku_ku_cn_and_crl_link() {
    use ExtendedKeyUsage::{ClientAuth, ServerAuth};
    use KeyUsage::{DigitalSignature, KeyEncipherment};
    let (_dir, paths, issuer) = issuer();
    let ec = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let both = [DigitalSignature, KeyEncipherment];
    let cases = [
        (
            profile("default", &[ServerAuth, ClientAuth], &both, true, true),
            (true, true, "CN=a.test", true),
        ),
        (
            profile("tls-server", &[ServerAuth], &both, true, true),
            (true, false, "CN=a.test", true),
        ),
        (
            profile(
                "mtls-client",
                &[ClientAuth],
                &[DigitalSignature],
                true,
                true,
            ),
            (false, true, "CN=a.test", true),
        ),
        (
            profile("bare", &[ServerAuth], &both, false, false),
            (true, false, "", false),
        ),
    ];
    for (profile, (server, client, subject, crl)) in cases {
        let issued = issue_under(&issuer, &ec, &profile);
        let got = seen(&issued);
        let want = Seen {
            server_auth: server,
            client_auth: client,
            // keyEncipherment never goes into a leaf for an EC key.
            key_usage: 1,
            subject: subject.to_owned(),
            crl_dp: crl,
        };
        assert_eq!(got, want, "{}", profile.name);
        for (purpose, allowed) in [("sslserver", server), ("sslclient", client)] {
            if let Some(ok) = verifies_for(&paths, &issued, purpose) {
                assert_eq!(ok, allowed, "{} for {purpose}", profile.name);
            }
        }
    }
}

#[test]
fn key_encipherment_goes_to_rsa_keys_only_when_the_profile_has_it() {
    use ExtendedKeyUsage::ServerAuth;
    use KeyUsage::{DigitalSignature, KeyEncipherment};
    let (_dir, paths, issuer) = issuer();
    let rsa = rsa_key();
    let with = profile(
        "with",
        &[ServerAuth],
        &[DigitalSignature, KeyEncipherment],
        true,
        true,
    );
    let issued = issue_under(&issuer, &rsa, &with);
    // digitalSignature (bit 0) and keyEncipherment (bit 2).
    assert_eq!(seen(&issued).key_usage, 0b101);
    if let Some(ok) = verifies_for(&paths, &issued, "sslserver") {
        assert!(ok);
    }
    let without = profile("without", &[ServerAuth], &[DigitalSignature], true, true);
    assert_eq!(seen(&issue_under(&issuer, &rsa, &without)).key_usage, 1);
}

#[test]
fn a_profile_without_usages_is_refused_not_signed() {
    let (_dir, _paths, issuer) = issuer();
    let ec = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let identifiers = [dns("a.test")];
    let checked = check_csr(&csr(&ec, &["a.test"], None), &identifiers).unwrap();
    let empty = profile("empty", &[], &[KeyUsage::DigitalSignature], true, true);
    let now = OffsetDateTime::now_utc();
    let refused = issuer.issue(&IssueRequest {
        serial: &Serial::random().unwrap(),
        csr: &checked,
        identifiers: &identifiers,
        not_before: now,
        not_after: now + time::Duration::hours(1),
        crl_url: None,
        ca_issuers_url: None,
        profile: &empty,
    });
    assert!(matches!(refused, Err(Error::Signing(_))), "{refused:?}");
}
