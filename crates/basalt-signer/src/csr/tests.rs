//! Tests for `check_csr`: one case per rule of RFC 8555 §7.4 and the key policy.

use rcgen::{
    CustomExtension, KeyPair, PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384, PKCS_ED25519,
    PublicKeyData as _,
};

use super::*;
use crate::test_support::{csr, dns, fixture, ip, rsa_key};

fn p256() -> KeyPair {
    KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap()
}

/// The CSR of a P-256 key with these SANs and CN, checked against these identifiers.
fn check(
    sans: &[&str],
    cn: Option<&str>,
    identifiers: &[Identifier],
) -> Result<CheckedCsr, CsrError> {
    check_csr(&csr(&p256(), sans, cn), identifiers)
}

#[test]
fn p256_p384_ed25519_and_rsa_keys_are_accepted() {
    for (key, rsa, key_type) in [
        (p256(), false, KeyType::EcdsaP256),
        (
            KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).unwrap(),
            false,
            KeyType::EcdsaP384,
        ),
        (
            KeyPair::generate_for(&PKCS_ED25519).unwrap(),
            false,
            KeyType::Ed25519,
        ),
        (rsa_key(), true, KeyType::Rsa2048),
    ] {
        let checked = check_csr(&csr(&key, &["a.test"], None), &[dns("a.test")])
            .unwrap_or_else(|e| panic!("{:?}: {e}", key.algorithm()));
        assert_eq!(checked.is_rsa, rsa);
        assert_eq!(checked.key_type(), key_type);
        assert_eq!(checked.spki_der, key.subject_public_key_info());
        assert_eq!(checked.common_name, None);
    }
}

#[test]
fn the_public_key_jwk_matches_the_key() {
    let key = p256();
    let checked = check_csr(&csr(&key, &["a.test"], None), &[dns("a.test")]).unwrap();
    assert_eq!(
        checked.public_key.public_key_bytes().unwrap(),
        key.public_key_raw()
    );

    let ed = KeyPair::generate_for(&PKCS_ED25519).unwrap();
    let checked = check_csr(&csr(&ed, &["a.test"], None), &[dns("a.test")]).unwrap();
    assert_eq!(
        checked.public_key,
        Jwk::Ed25519 {
            x: ed.public_key_raw().to_vec()
        }
    );

    let checked = check_csr(&csr(&rsa_key(), &["a.test"], None), &[dns("a.test")]).unwrap();
    let Jwk::Rsa { n, e } = &checked.public_key else {
        panic!("not RSA")
    };
    assert_eq!((n.len(), n[0] != 0), (256, true), "leading zero stripped");
    assert_eq!(e, &[1, 0, 1]);
}

#[test]
fn names_are_compared_canonically() {
    let checked = check(
        &["WWW.A.Test.", "2001:DB8:0:0::1", "192.0.2.1"],
        Some("www.a.test"),
        &[dns("www.a.test"), ip("2001:db8::1"), ip("192.0.2.1")],
    )
    .unwrap();
    assert_eq!(checked.common_name.as_deref(), Some("www.a.test"));
}

#[test]
fn duplicates_are_tolerated_on_both_sides() {
    assert!(
        check(
            &["a.test", "a.test", "b.test"],
            None,
            &[dns("b.test"), dns("a.test"), dns("b.test")]
        )
        .is_ok()
    );
}

#[test]
fn a_cn_without_san_is_the_one_name() {
    let checked = check(&[], Some("A.test"), &[dns("a.test")]).unwrap();
    assert_eq!(checked.common_name.as_deref(), Some("a.test"));
    let checked = check(&[], Some("192.0.2.7"), &[ip("192.0.2.7")]).unwrap();
    assert_eq!(checked.common_name.as_deref(), Some("192.0.2.7"));
}

#[test]
fn an_ip_cn_is_allowed_beside_a_san() {
    assert!(
        check(
            &["192.0.2.7", "a.test"],
            Some("192.0.2.7"),
            &[ip("192.0.2.7"), dns("a.test")]
        )
        .is_ok()
    );
}

#[test]
fn an_order_name_missing_from_the_csr_is_refused() {
    let err = check(
        &["a.test"],
        None,
        &[dns("a.test"), dns("b.test"), ip("192.0.2.1")],
    )
    .unwrap_err();
    assert_eq!(
        err,
        CsrError::MissingNames(vec!["b.test".into(), "192.0.2.1".into()])
    );
    assert_eq!(
        err.to_string(),
        "the order contains b.test and 192.0.2.1, which the CSR does not list; request exactly the order's identifiers"
    );
}

#[test]
fn a_csr_name_not_in_the_order_is_refused() {
    let err = check(&["a.test", "b.test"], None, &[dns("a.test")]).unwrap_err();
    assert_eq!(err, CsrError::ExtraNames(vec!["b.test".into()]));
    assert_eq!(
        err.to_string(),
        "the CSR lists b.test, which the order does not contain"
    );
}

#[test]
fn an_ip_as_a_dns_name_is_not_the_ip_identifier() {
    let err = check_csr(&csr_with_dns_san(&p256(), "192.0.2.1"), &[ip("192.0.2.1")]).unwrap_err();
    assert!(matches!(err, CsrError::ExtraNames(_)), "{err}");
}

#[test]
fn a_cn_outside_the_order_is_refused() {
    let err = check(&["a.test"], Some("c.test"), &[dns("a.test")]).unwrap_err();
    assert_eq!(err, CsrError::CommonNameNotInNames("c.test".into()));
}

#[test]
fn a_csr_without_any_name_misses_every_identifier() {
    let err = check(&[], None, &[dns("a.test")]).unwrap_err();
    assert_eq!(err, CsrError::MissingNames(vec!["a.test".into()]));
}

#[test]
fn a_tampered_signature_is_refused() {
    let mut der = csr(&p256(), &["a.test"], None);
    // The last byte belongs to the signature value.
    *der.last_mut().unwrap() ^= 1;
    assert_eq!(
        check_csr(&der, &[dns("a.test")]),
        Err(CsrError::BadSignature)
    );
}

#[test]
fn a_tampered_request_body_is_refused() {
    let der = csr(&p256(), &["a.test"], None);
    let at = der.windows(6).position(|w| w == b"a.test").unwrap();
    let mut tampered = der.clone();
    tampered[at] = b'b';
    assert_eq!(
        check_csr(&tampered, &[dns("b.test")]),
        Err(CsrError::BadSignature)
    );
}

#[test]
fn garbage_and_trailing_bytes_are_unparseable() {
    assert!(matches!(
        check_csr(b"not a csr", &[]),
        Err(CsrError::Unparseable(_))
    ));
    let mut der = csr(&p256(), &["a.test"], None);
    der.push(0);
    assert!(matches!(
        check_csr(&der, &[dns("a.test")]),
        Err(CsrError::Unparseable(_))
    ));
}

#[test]
fn p521_and_rsa_1024_keys_break_key_policy() {
    let err = check_csr(&fixture("p521-a.test.csr.der"), &[dns("a.test")]).unwrap_err();
    assert!(
        matches!(&err, CsrError::KeyPolicy(why) if why.contains("P-521")),
        "{err}"
    );
    let err = check_csr(&fixture("rsa1024-a.test.csr.der"), &[dns("a.test")]).unwrap_err();
    assert!(
        matches!(&err, CsrError::KeyPolicy(why) if why.contains("1024 bits")),
        "{err}"
    );
}

#[test]
fn rsa_keys_with_exponent_3_break_key_policy() {
    // CA/B Forum BR §6.1.6, Boulder's goodkey: e = 65537 only.
    let err = check_csr(&fixture("rsa2048-e3-a.test.csr.der"), &[dns("a.test")]).unwrap_err();
    assert!(
        matches!(&err, CsrError::KeyPolicy(why) if why.contains("65537")),
        "{err}"
    );
}

#[test]
fn sha1_signatures_are_refused() {
    let err = check_csr(&fixture("sha1-rsa2048-a.test.csr.der"), &[dns("a.test")]).unwrap_err();
    assert_eq!(
        err,
        CsrError::WeakSignatureAlgorithm("sha1WithRSAEncryption".into())
    );
}

#[test]
fn must_staple_and_requested_ku_eku_are_tolerated() {
    // OpenSSL-made, as certbot --must-staple sends it.
    let checked = check_csr(
        &fixture("must-staple-p256-a.test.csr.der"),
        &[dns("a.test"), dns("www.a.test")],
    )
    .unwrap();
    assert_eq!(checked.common_name.as_deref(), Some("a.test"));

    // rcgen-made, with the TLS Feature extension (RFC 7633) only.
    let key = p256();
    let mut params = rcgen::CertificateParams::new(vec!["a.test".to_owned()]).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.custom_extensions = vec![CustomExtension::from_oid_content(
        &[1, 3, 6, 1, 5, 5, 7, 1, 24],
        vec![0x30, 0x03, 0x02, 0x01, 0x05],
    )];
    let der = params.serialize_request(&key).unwrap().der().to_vec();
    assert!(check_csr(&der, &[dns("a.test")]).is_ok());
}

#[test]
fn email_and_uri_names_are_unsupported() {
    let key = p256();
    let mut params = rcgen::CertificateParams::new(vec!["a.test".to_owned()]).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .subject_alt_names
        .push(rcgen::SanType::Rfc822Name("me@a.test".try_into().unwrap()));
    let der = params.serialize_request(&key).unwrap().der().to_vec();
    let err = check_csr(&der, &[dns("a.test")]).unwrap_err();
    assert!(
        matches!(&err, CsrError::UnsupportedName(what) if what.contains("me@a.test")),
        "{err}"
    );
}

#[test]
fn error_texts_name_what_to_do() {
    assert_eq!(
        CsrError::MissingNames(vec!["a".into(), "b".into(), "c".into()]).to_string(),
        "the order contains a, b and c, which the CSR does not list; request exactly the order's identifiers"
    );
    assert!(
        CsrError::KeyPolicy("x".into())
            .to_string()
            .contains("not accepted: x")
    );
}

/// A CSR whose one SAN is a dNSName holding `name` verbatim (rcgen would turn an IP literal
/// into an iPAddress).
fn csr_with_dns_san(key: &KeyPair, name: &str) -> Vec<u8> {
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.subject_alt_names = vec![rcgen::SanType::DnsName(name.try_into().unwrap())];
    params.serialize_request(key).unwrap().der().to_vec()
}
