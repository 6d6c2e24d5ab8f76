//! Token keys end to end against SoftHSM2: made in the token (and kept there), signing leaves,
//! CRLs and serving certificates that verify, the refusals, and riding out a token outage.

use std::path::Path;
use std::sync::Arc;

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;
use rcgen::{KeyPair, PKCS_ECDSA_P256_SHA256};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::test_support::{LABEL, MODULE, PIN, SoftHsm, softhsm_test};
use super::{Pkcs11Token, Pkcs11Uri, TokenSelector};
use crate::inspect::{certificate_pem, parse_certificate};
use crate::test_support::{PASSWORD, csr, describe, dns, openssl, pki};
use crate::{
    CreatedIntermediate, CrlRequest, Error, IntermediateKeyAlgorithm, IntermediateOptions,
    IssueRequest, IssuedCertificate, Issuer, KeySource, PkiPaths, RevokedEntry, Serial, check_csr,
    create_intermediate_in_token,
};

const SEAL_SECRET: [u8; 32] = [42; 32];

fn options(algorithm: IntermediateKeyAlgorithm) -> IntermediateOptions {
    IntermediateOptions {
        area: "vault".into(),
        algorithm,
        name_constraints: None,
        key_passphrase: None,
    }
}

fn make_in_token(
    paths: &PkiPaths,
    token: &Pkcs11Token,
    algorithm: IntermediateKeyAlgorithm,
) -> (CreatedIntermediate, Pkcs11Uri) {
    create_intermediate_in_token(
        paths,
        &paths.root_key(),
        &PASSWORD.into(),
        &options(algorithm),
        token,
    )
    .unwrap()
}

fn source(token: &Arc<Pkcs11Token>, uri: &Pkcs11Uri) -> KeySource {
    KeySource::Pkcs11 {
        token: Arc::clone(token),
        uri: uri.clone(),
        seal_secret: Zeroizing::new(SEAL_SECRET.to_vec()),
    }
}

fn load(token: &Arc<Pkcs11Token>, certificate_pem: &str, uri: &Pkcs11Uri) -> Result<Issuer, Error> {
    Issuer::from_certificate_pem(certificate_pem, &source(token, uri))
}

/// A P-256 intermediate key made in the token (`sessions` pooled sessions), its issuer loaded,
/// and one certificate issued through it. Keep the returned directory for the PKI's files.
fn token_issuer(hsm: &SoftHsm, sessions: usize) -> (tempfile::TempDir, Issuer) {
    let (dir, paths) = pki();
    let token = hsm.open(sessions);
    let (created, uri) = make_in_token(&paths, &token, IntermediateKeyAlgorithm::P256);
    let issuer = load(&token, &created.certificate_pem, &uri).unwrap();
    issue(&issuer, "before.vault.test").unwrap();
    (dir, issuer)
}

fn issue(issuer: &Issuer, name: &str) -> Result<IssuedCertificate, Error> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let identifiers = [dns(name)];
    let checked = check_csr(&csr(&key, &[name], None), &identifiers).unwrap();
    let now = OffsetDateTime::now_utc();
    issuer.issue(&IssueRequest {
        serial: &Serial::random().unwrap(),
        csr: &checked,
        identifiers: &identifiers,
        not_before: now,
        not_after: now + time::Duration::days(1),
        crl_url: None,
        ca_issuers_url: None,
        profile: &crate::test_support::DEFAULT_LEAF,
    })
}

/// `openssl verify` of `leaf` against the root through `intermediate_pem`.
fn openssl_verifies(paths: &PkiPaths, intermediate_pem: &str, leaf: &IssuedCertificate) {
    let dir = tempfile::tempdir().unwrap();
    let intermediate = dir.path().join("intermediate.pem");
    let leaf_path = dir.path().join("leaf.pem");
    std::fs::write(&intermediate, intermediate_pem).unwrap();
    std::fs::write(&leaf_path, certificate_pem(&leaf.der)).unwrap();
    let Some(out) = openssl(&[
        "verify",
        "-x509_strict",
        "-CAfile",
        paths.root_cert().to_str().unwrap(),
        "-untrusted",
        intermediate.to_str().unwrap(),
        leaf_path.to_str().unwrap(),
    ]) else {
        return;
    };
    assert!(out.status.success(), "{}", describe(&out));
}

/// C_Login as the user; the token's login may already be held by basalt's pool.
fn log_in(session: &cryptoki::session::Session) {
    log_in_with(session, PIN);
}

/// [`log_in`] with `pin` instead of the test token's PIN.
fn log_in_with(session: &cryptoki::session::Session, pin: &str) {
    match session.login(UserType::User, Some(&AuthPin::from(pin))) {
        Ok(())
        | Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::UserAlreadyLoggedIn, _)) => {
        }
        Err(e) => panic!("login with {pin}: {e}"),
    }
}

softhsm_test! {
    /// The P-256 path: key made in the token, sensitive and not extractable; leaves, a CRL and
    /// a serving certificate signed through it.
    fn a_key_made_in_the_token_stays_there_and_signs_what_verifies(hsm) {
        let (_dir, paths) = pki();
        let token = hsm.open(2);
        let (created, uri) = make_in_token(&paths, &token, IntermediateKeyAlgorithm::P256);
        assert!(created.key_pem.is_empty());
        assert_eq!(uri.token_label.as_deref(), Some(LABEL));
        let label = format!("basalt-vault-{}", &created.key_id[..16]);
        assert_eq!(uri.object.as_deref(), Some(label.as_str()));
        assert_eq!(uri.id.as_deref().map(crate::encoding::hex), Some(created.key_id.clone()));
        assert_eq!(uri.to_string().parse::<Pkcs11Uri>().unwrap(), uri);

        // Read the private key's attributes back through another session.
        let session = hsm.session();
        log_in(&session);
        let keys = session
            .find_objects(&[
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                Attribute::Id(uri.id.clone().unwrap()),
            ])
            .unwrap();
        assert_eq!(keys.len(), 1);
        let attributes = session
            .get_attributes(
                keys[0],
                &[
                    AttributeType::Sensitive,
                    AttributeType::Extractable,
                    AttributeType::Token,
                    AttributeType::Private,
                    AttributeType::Sign,
                    AttributeType::NeverExtractable,
                ],
            )
            .unwrap();
        for attribute in &attributes {
            match attribute {
                Attribute::Extractable(value) => assert!(!value, "CKA_EXTRACTABLE"),
                Attribute::Sensitive(value)
                | Attribute::Token(value)
                | Attribute::Private(value)
                | Attribute::Sign(value)
                | Attribute::NeverExtractable(value) => assert!(value, "{attribute:?}"),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(attributes.len(), 6);
        // The value itself is not readable.
        assert!(session.get_attributes(keys[0], &[AttributeType::Value]).map_or(true, |a| a.is_empty()));
        drop(session);

        let issuer = load(&token, &created.certificate_pem, &uri).unwrap();
        assert_eq!(issuer.key_kind(), "pkcs11");
        assert_eq!(issuer.key_id(), created.key_id);
        let leaf = issue(&issuer, "a.vault.test").unwrap();
        openssl_verifies(&paths, issuer.chain_pem(), &leaf);

        let now = OffsetDateTime::now_utc();
        let entries = [RevokedEntry { serial: leaf.serial.clone(), revoked_at: now, reason: Some(1) }];
        let der = issuer
            .sign_crl(&CrlRequest {
                number: 1,
                this_update: now,
                next_update: now + time::Duration::days(1),
                entries: &entries,
                distribution_point: None,
            })
            .unwrap();
        let (_, crl) = x509_parser::parse_x509_crl(&der).unwrap();
        let intermediate = parse_certificate(issuer.certificate_der()).unwrap();
        crl.verify_signature(intermediate.public_key()).unwrap();

        let serving = issuer
            .issue_serving_certificate(&[dns("basalt.test")], std::time::Duration::from_secs(3600), now)
            .unwrap();
        let key_pem = issuer.open_serving_key(&serving.chain_pem, &serving.sealed_key).unwrap();
        assert!(key_pem.contains("PRIVATE KEY"));
        // Another seal secret does not open it.
        let other = Issuer::from_certificate_pem(
            &created.certificate_pem,
            &KeySource::Pkcs11 { token: Arc::clone(&token), uri: uri.clone(), seal_secret: Zeroizing::new(vec![1; 32]) },
        )
        .unwrap();
        assert!(matches!(other.open_serving_key(&serving.chain_pem, &serving.sealed_key), Err(Error::SealedKey(_))));

        // Concurrent signing through the pool.
        let issuer = Arc::new(issuer);
        let threads: Vec<_> = (0..4)
            .map(|i| {
                let issuer = Arc::clone(&issuer);
                std::thread::spawn(move || {
                    for j in 0..5 {
                        issue(&issuer, &format!("t{i}-{j}.vault.test")).unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
    }
}

softhsm_test! {
    fn a_p384_token_key_issues_leaves_openssl_accepts(hsm) {
        let (_dir, paths) = pki();
        let token = hsm.open(1);
        let (created, uri) = make_in_token(&paths, &token, IntermediateKeyAlgorithm::P384);
        let issuer = load(&token, &created.certificate_pem, &uri).unwrap();
        let intermediate = parse_certificate(issuer.certificate_der()).unwrap();
        assert_eq!(
            intermediate.signature_algorithm.algorithm,
            x509_parser::oid_registry::OID_SIG_ECDSA_WITH_SHA384,
            "the root signs with P-384"
        );
        let leaf = issue(&issuer, "p384.vault.test").unwrap();
        let (_, parsed) = x509_parser::parse_x509_certificate(&leaf.der).unwrap();
        assert_eq!(
            parsed.signature_algorithm.algorithm,
            x509_parser::oid_registry::OID_SIG_ECDSA_WITH_SHA384
        );
        openssl_verifies(&paths, issuer.chain_pem(), &leaf);
    }
}

softhsm_test! {
    fn a_wrong_pin_or_a_missing_token_is_refused_naming_which(hsm) {
        let _ = hsm;
        let open = |selector: TokenSelector, pin: &str| {
            Pkcs11Token::open(Path::new(MODULE), &selector, pin.into(), 1).unwrap_err()
        };
        let err = open(TokenSelector::Label(LABEL.into()), "0000");
        assert!(matches!(&err, Error::PinRefused { reason, .. } if reason.contains("PIN is wrong")), "{err}");
        let err = open(TokenSelector::Label("no such token".into()), PIN);
        assert!(matches!(&err, Error::Token { what, reason } if what.contains("\"no such token\"") && reason.contains("not found")), "{err}");
        let err = open(TokenSelector::Serial("0000".into()), PIN);
        assert!(err.to_string().contains("serial \"0000\""), "{err}");
        // The right PIN still works (the wrong ones did not lock the token).
        hsm.open(1);
    }
}

#[test]
fn a_module_that_does_not_load_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_library = dir.path().join("libnot-pkcs11.so");
    std::fs::write(&not_a_library, "not a shared object").unwrap();
    for module in [not_a_library, dir.path().join("missing.so")] {
        let err = Pkcs11Token::open(&module, &TokenSelector::Label(LABEL.into()), PIN.into(), 1)
            .unwrap_err();
        assert!(
            matches!(&err, Error::Token { what, reason } if what.contains(&module.display().to_string()) && reason.contains("does not load")),
            "{err}"
        );
    }
}

softhsm_test! {
    fn a_missing_key_a_wrong_key_type_or_another_certificate_is_refused(hsm) {
        let (_dir, paths) = pki();
        let token = hsm.open(1);
        let (created, uri) = make_in_token(&paths, &token, IntermediateKeyAlgorithm::P256);

        let missing = Pkcs11Uri { object: Some("no-such-key".into()), id: None, ..uri.clone() };
        let err = load(&token, &created.certificate_pem, &missing).unwrap_err();
        assert!(matches!(&err, Error::Token { what, reason } if what.contains("no-such-key") && reason.contains("no such private key")), "{err}");

        let other_token = Pkcs11Uri { token_label: Some("elsewhere".into()), ..uri.clone() };
        let err = load(&token, &created.certificate_pem, &other_token).unwrap_err();
        assert!(err.to_string().contains("\"elsewhere\""), "{err}");

        // The file intermediate `init` made is not this key's certificate.
        let file_cert = std::fs::read_to_string(paths.intermediate_cert("default")).unwrap();
        let err = load(&token, &file_cert, &uri).unwrap_err();
        assert!(matches!(&err, Error::Token { what, reason } if what.contains(&uri.to_string()) && reason.contains("does not match the certificate")), "{err}");

        // An RSA key in the token is not a key basalt signs with.
        let session = hsm.session();
        log_in(&session);
        session
            .generate_key_pair(
                &Mechanism::RsaPkcsKeyPairGen,
                &[Attribute::Token(true), Attribute::ModulusBits(2048.into()), Attribute::PublicExponent(vec![1, 0, 1])],
                &[Attribute::Token(true), Attribute::Private(true), Attribute::Sign(true), Attribute::Label(b"rsa-key".to_vec())],
            )
            .unwrap();
        drop(session);
        let rsa = Pkcs11Uri { object: Some("rsa-key".into()), id: None, ..uri.clone() };
        let err = load(&token, &created.certificate_pem, &rsa).unwrap_err();
        assert!(matches!(&err, Error::Token { reason, .. } if reason.contains("not an EC key")), "{err}");

        // A too-short seal secret is refused.
        let err = Issuer::from_certificate_pem(
            &created.certificate_pem,
            &KeySource::Pkcs11 { token: Arc::clone(&token), uri, seal_secret: Zeroizing::new(vec![1; 8]) },
        )
        .unwrap_err();
        assert!(err.to_string().contains("seal secret"), "{err}");
    }
}

softhsm_test! {
    /// Token trouble is an outage: signing fails with TokenUnavailable while the token is
    /// gone, and works again by itself once it is back.
    fn a_token_outage_is_token_unavailable_and_heals_by_itself(hsm) {
        // One pooled session, so the next sign is sure to use the session that breaks.
        let (_dir, issuer) = token_issuer(hsm, 1);

        // The module is finalized under basalt (every session and login gone).
        hsm.finalize();
        let err = issue(&issuer, "during.vault.test").unwrap_err();
        assert!(matches!(&err, Error::TokenUnavailable(_)), "{err}");
        // The next sign reconnects (C_Initialize, find the token, log in) by itself.
        issue(&issuer, "after.vault.test").unwrap();

        // The token's store goes away, and stays away for a while.
        let tokens = hsm.tokens();
        let gone = hsm.dir.join("tokens-gone");
        std::fs::rename(&tokens, &gone).unwrap();
        hsm.finalize();
        for _ in 0..3 {
            let err = issue(&issuer, "gone.vault.test").unwrap_err();
            assert!(matches!(&err, Error::TokenUnavailable(_)), "{err}");
        }
        let now = OffsetDateTime::now_utc();
        let err = issuer
            .sign_crl(&CrlRequest {
                number: 2,
                this_update: now,
                next_update: now + time::Duration::days(1),
                entries: &[],
                distribution_point: None,
            })
            .unwrap_err();
        assert!(matches!(&err, Error::TokenUnavailable(_)), "{err}");

        // Back: the next sign succeeds without anyone reopening the token.
        std::fs::rename(&gone, &tokens).unwrap();
        issue(&issuer, "back.vault.test").unwrap();
    }
}

softhsm_test! {
    /// The token's store taken away under a running signer, with nothing else touching the
    /// module (no C_Finalize from outside): the module may keep listing the token and even
    /// log in, yet every signature fails. Once the store is back the signer must heal by
    /// itself (restarting the module if reopening its sessions is not enough).
    fn a_store_taken_away_under_a_live_session_heals_once_back(hsm) {
        // Several pooled sessions: most meet the outage before they have looked the key up.
        let (_dir, issuer) = token_issuer(hsm, 4);

        let tokens = hsm.tokens();
        let gone = hsm.dir.join("tokens-gone");
        std::fs::rename(&tokens, &gone).unwrap();
        for _ in 0..8 {
            let err = issue(&issuer, "gone.vault.test").unwrap_err();
            assert!(matches!(&err, Error::TokenUnavailable(_)), "{err}");
        }
        std::fs::rename(&gone, &tokens).unwrap();
        // The first sign after the store is back may still meet a session of the outage;
        // from the second on every one must succeed, whichever pooled session it takes.
        let _ = issue(&issuer, "back.vault.test");
        for i in 0..8 {
            if let Err(e) = issue(&issuer, &format!("again-{i}.vault.test")) {
                panic!("sign {i} after the store came back failed: {e}");
            }
        }
    }
}

softhsm_test! {
    /// Tokens lock a PIN after a few wrong tries, so a PIN the token refused while basalt
    /// reconnects is not offered again: every later attempt fails without C_Login, even once
    /// the token would accept it again, until basalt is restarted (here: the token reopened).
    fn a_pin_the_token_refused_is_not_offered_again(hsm) {
        let (_dir, issuer) = token_issuer(hsm, 1);
        let set_pin = |old: &str, new: &str| {
            let session = hsm.session();
            log_in_with(&session, old);
            session.set_pin(&AuthPin::from(old), &AuthPin::from(new)).unwrap();
        };

        // The user PIN changes under the running signer, then its sessions are lost.
        set_pin(PIN, "87878787");
        hsm.finalize();
        let err = issue(&issuer, "lost.vault.test").unwrap_err();
        assert!(matches!(&err, Error::TokenUnavailable(_)), "{err}");
        // The reconnect offers the configured PIN once; the token refuses it.
        let err = issue(&issuer, "refused.vault.test").unwrap_err();
        assert!(matches!(&err, Error::TokenUnavailable(r) if r.contains("PIN is wrong")), "{err}");
        // From then on basalt does not log in at all, and says why.
        let err = issue(&issuer, "again.vault.test").unwrap_err();
        assert!(matches!(&err, Error::TokenUnavailable(r) if r.contains("does not offer that PIN again")), "{err}");

        // The token would accept basalt's PIN again: still not offered (no C_Login happens,
        // or this sign would succeed).
        set_pin("87878787", PIN);
        let err = issue(&issuer, "restored.vault.test").unwrap_err();
        assert!(matches!(&err, Error::TokenUnavailable(r) if r.contains("does not offer that PIN again")), "{err}");
        // A restart (a newly opened token) logs in with it.
        hsm.open(1);
    }
}
