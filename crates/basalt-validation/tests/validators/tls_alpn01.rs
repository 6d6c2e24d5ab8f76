//! tls-alpn-01 (RFC 8737, RFC 8738 §6) against basalt-testkit's responder, names resolved by
//! the test DNS (every name is 127.0.0.1 and ::1 unless a test says otherwise; the responder
//! listens on IPv4 only, so the IPv6 attempt is refused first).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use basalt_protocol::{ChallengeType, Identifier, ProblemType};
use basalt_testkit::dns::TestDns;
use basalt_testkit::tls_alpn::{TlsAlpnResponder, TlsVersions, Variant};
use basalt_validation::{ValidationOutcome, Validator};
use tokio::net::TcpListener;
use tokio_rustls::rustls::ProtocolVersion;

use super::{assert_problem, assert_valid, config, key_authorization, request, start_dns};

const V4: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const V6: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);
const TOKEN: &str = "tlsalpn_0123456789abcdefghij";

/// A DNS server, a responder, and a validator pointed at both.
struct Setup {
    dns: TestDns,
    responder: TlsAlpnResponder,
    validator: Validator,
}

impl Setup {
    async fn new() -> Self {
        Self::with(
            TlsAlpnResponder::start()
                .await
                .expect("the responder starts"),
        )
        .await
    }

    async fn with_versions(versions: TlsVersions) -> Self {
        let responder = TlsAlpnResponder::bind_with_versions(
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            versions,
        )
        .await
        .expect("the responder starts");
        Self::with(responder).await
    }

    async fn with(responder: TlsAlpnResponder) -> Self {
        let dns = start_dns().await;
        let mut config = config(&dns, 1);
        config.tlsalpn01_port = responder.addr().port();
        let validator = Validator::new(config).expect("validator builds");
        Self {
            dns,
            responder,
            validator,
        }
    }

    fn port(&self) -> u16 {
        self.responder.addr().port()
    }

    /// Serves `variant` for `name`, with this test's key authorization.
    fn serve(&self, name: &str, variant: Variant) {
        self.responder
            .serve_variant(name, key_authorization(TOKEN).as_str(), variant);
    }

    async fn validate(&self, identifier: Identifier) -> ValidationOutcome {
        self.validator
            .validate(&request(identifier, ChallengeType::TlsAlpn01, TOKEN))
            .await
    }
}

#[tokio::test]
async fn the_right_certificate_for_a_dns_name_validates_and_is_recorded() {
    let setup = Setup::new().await;
    setup
        .responder
        .serve_key_authorization("a.test", key_authorization(TOKEN).as_str());
    let outcome = setup.validate(Identifier::dns("a.test").unwrap()).await;
    assert_valid(&outcome);

    let [record] = outcome.records.as_slice() else {
        panic!("one record expected: {:?}", outcome.records);
    };
    assert_eq!(record.url, None);
    assert_eq!(record.hostname, "a.test");
    assert_eq!(record.port, Some(setup.port()));
    // Both families, IPv6 first; the responder only listens on IPv4.
    assert_eq!(record.addresses_resolved, vec![V6, V4]);
    assert_eq!(record.address_used, Some(V4));
    assert_eq!(record.resolver_answers.len(), 2, "{record:?}");

    // RFC 8737 §3: SNI is the name, and acme-tls/1 is the only protocol offered.
    let handshakes = setup.responder.handshakes().await;
    let [handshake] = handshakes.as_slice() else {
        panic!("one handshake expected: {handshakes:?}");
    };
    assert_eq!(handshake.sni.as_deref(), Some("a.test"));
    assert_eq!(handshake.alpn_offered, vec![b"acme-tls/1".to_vec()]);
    assert_eq!(
        handshake.alpn_selected.as_deref(),
        Some(b"acme-tls/1".as_slice())
    );
}

#[tokio::test]
async fn dns_names_in_the_certificate_compare_without_regard_to_case() {
    let setup = Setup::new().await;
    // Stored under a.test, with the subjectAltName written as given.
    setup.serve("A.Test", Variant::Correct);
    assert_valid(&setup.validate(Identifier::dns("a.test").unwrap()).await);
}

#[tokio::test]
async fn the_right_certificate_for_an_ipv4_identifier_validates() {
    let setup = Setup::new().await;
    setup.serve("127.0.0.1", Variant::Correct);
    let outcome = setup.validate(Identifier::ip(V4)).await;
    assert_valid(&outcome);

    let [record] = outcome.records.as_slice() else {
        panic!("one record expected: {:?}", outcome.records);
    };
    assert_eq!(record.hostname, "127.0.0.1");
    assert_eq!(record.port, Some(setup.port()));
    // The address itself, not looked up.
    assert_eq!(record.addresses_resolved, vec![V4]);
    assert_eq!(record.address_used, Some(V4));
    assert!(record.resolver_answers.is_empty());

    // RFC 8738 §6: the SNI is the reverse-DNS name.
    let handshakes = setup.responder.handshakes().await;
    assert_eq!(handshakes.len(), 1, "{handshakes:?}");
    assert_eq!(handshakes[0].sni.as_deref(), Some("1.0.0.127.in-addr.arpa"));
}

#[tokio::test]
async fn the_right_certificate_for_an_ipv6_identifier_validates() {
    let Ok(responder) = TlsAlpnResponder::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, 0))).await
    else {
        eprintln!("skipped: no IPv6 loopback on this machine");
        return;
    };
    let setup = Setup::with(responder).await;
    setup.serve("::1", Variant::Correct);
    let outcome = setup.validate(Identifier::ip(V6)).await;
    assert_valid(&outcome);
    assert_eq!(outcome.records[0].address_used, Some(V6));
    let handshakes = setup.responder.handshakes().await;
    assert_eq!(handshakes.len(), 1, "{handshakes:?}");
    assert_eq!(
        handshakes[0].sni.as_deref(),
        Some(format!("1.{}ip6.arpa", "0.".repeat(31)).as_str())
    );

    // The same checks apply: the wrong type of subjectAltName is refused.
    setup.serve("::1", Variant::IpSanAsDns);
    let outcome = setup.validate(Identifier::ip(V6)).await;
    assert_problem(
        &outcome,
        ProblemType::IncorrectResponse,
        &["the dNSName \"::1\", of the wrong type: it must be the iPAddress ::1"],
    );
}

/// Each broken variant, the problem type it must give and what the detail must say.
fn expected_failures(identifier: &Identifier) -> Vec<(Variant, ProblemType, Vec<String>)> {
    let is_ip = identifier.identifier_type() == basalt_protocol::IdentifierType::Ip;
    let wanted = if is_ip {
        "the iPAddress 127.0.0.1".to_owned()
    } else {
        format!("the dNSName \"{}\"", identifier.value())
    };
    let incorrect = ProblemType::IncorrectResponse;
    vec![
        (
            Variant::WrongDigest,
            incorrect,
            vec![
                "the certificate's acmeIdentifier extension does not hold the SHA-256 digest of this challenge's key authorization".to_owned(),
                format!(
                    "expected the DER octet string 0420{}",
                    hex(&key_authorization(TOKEN).sha256())
                ),
            ],
        ),
        (
            Variant::NonCriticalExtension,
            incorrect,
            vec!["the certificate's acmeIdentifier extension is not critical".to_owned()],
        ),
        (
            Variant::MissingExtension,
            incorrect,
            vec!["the certificate has no acmeIdentifier extension (1.3.6.1.5.5.7.1.31)".to_owned()],
        ),
        (
            Variant::ExtraSan,
            incorrect,
            vec![
                "the certificate has 2 subjectAltName entries".to_owned(),
                "the dNSName \"extra-san.invalid\"".to_owned(),
                format!("it must have exactly one, {wanted}"),
            ],
        ),
        (
            Variant::WrongSan,
            incorrect,
            vec![if is_ip {
                format!("the certificate's subjectAltName is the iPAddress 192.0.2.1, not {wanted}")
            } else {
                format!("the certificate's subjectAltName is the dNSName \"wrong-san.invalid\", not {wanted}")
            }],
        ),
        (
            Variant::IpSanAsDns,
            incorrect,
            vec![if is_ip {
                format!("the certificate's subjectAltName is the dNSName \"127.0.0.1\", of the wrong type: it must be {wanted}")
            } else {
                format!("the certificate's subjectAltName is the iPAddress 127.0.0.1, of the wrong type: it must be {wanted}")
            }],
        ),
        (
            Variant::NoAlpn,
            ProblemType::Tls,
            vec!["did not negotiate the \"acme-tls/1\" protocol (ALPN)".to_owned()],
        ),
        (
            Variant::MismatchedKey,
            ProblemType::Tls,
            vec!["TLS handshake with".to_owned(), "BadSignature".to_owned()],
        ),
    ]
}

async fn every_broken_variant_is_refused(name: &str, identifier: Identifier, sni: &str) {
    let setup = Setup::new().await;
    let at = format!("127.0.0.1:{} (SNI {sni}", setup.port());
    for (variant, problem_type, parts) in expected_failures(&identifier) {
        setup.serve(name, variant);
        let outcome = setup.validate(identifier.clone()).await;
        let mut parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        parts.push(&at);
        assert_problem(&outcome, problem_type, &parts);
        assert_eq!(outcome.records.len(), 1, "{variant:?}: {outcome:?}");
        assert_eq!(outcome.records[0].address_used, Some(V4), "{variant:?}");
    }
    // And the same name passes once the right certificate is served.
    setup.serve(name, Variant::Correct);
    assert_valid(&setup.validate(identifier).await);
}

#[tokio::test]
async fn every_broken_certificate_for_a_dns_name_is_refused_with_its_reason() {
    every_broken_variant_is_refused("a.test", Identifier::dns("a.test").unwrap(), "a.test").await;
}

#[tokio::test]
async fn every_broken_certificate_for_an_ip_identifier_is_refused_with_its_reason() {
    every_broken_variant_is_refused("127.0.0.1", Identifier::ip(V4), "1.0.0.127.in-addr.arpa")
        .await;
}

#[tokio::test]
async fn the_certificate_is_fetched_afresh_for_each_validation() {
    // No session resumption: a second validation must see the certificate served now, not
    // the one of the first handshake. TLS 1.2 is where a session would be resumed (the
    // validator never reads the TLS 1.3 tickets sent after the handshake).
    for versions in [TlsVersions::Tls12Only, TlsVersions::Tls12And13] {
        let setup = Setup::with_versions(versions).await;
        setup.serve("a.test", Variant::Correct);
        assert_valid(&setup.validate(Identifier::dns("a.test").unwrap()).await);
        setup.serve("a.test", Variant::WrongDigest);
        assert_problem(
            &setup.validate(Identifier::dns("a.test").unwrap()).await,
            ProblemType::IncorrectResponse,
            &["acmeIdentifier extension does not hold the SHA-256 digest"],
        );
    }
}

#[tokio::test]
async fn a_tls_1_2_only_responder_validates() {
    let setup = Setup::with_versions(TlsVersions::Tls12Only).await;
    setup.serve("a.test", Variant::Correct);
    assert_valid(&setup.validate(Identifier::dns("a.test").unwrap()).await);
    // The handshake signature is checked on TLS 1.2 too.
    setup.serve("a.test", Variant::MismatchedKey);
    assert_problem(
        &setup.validate(Identifier::dns("a.test").unwrap()).await,
        ProblemType::Tls,
        &["BadSignature"],
    );
    let versions: Vec<_> = setup
        .responder
        .handshakes()
        .await
        .iter()
        .map(|h| h.version)
        .collect();
    assert_eq!(versions, vec![Some(ProtocolVersion::TLSv1_2), None]);
}

#[tokio::test]
async fn a_tls_1_3_only_responder_validates() {
    let setup = Setup::with_versions(TlsVersions::Tls13Only).await;
    setup.serve("a.test", Variant::Correct);
    assert_valid(&setup.validate(Identifier::dns("a.test").unwrap()).await);
    let handshakes = setup.responder.handshakes().await;
    assert_eq!(handshakes.len(), 1, "{handshakes:?}");
    assert_eq!(handshakes[0].version, Some(ProtocolVersion::TLSv1_3));
}

#[tokio::test]
async fn a_name_the_server_has_no_certificate_for_fails_the_handshake() {
    let setup = Setup::new().await;
    setup.serve("a.test", Variant::Correct);
    let outcome = setup.validate(Identifier::dns("other.test").unwrap()).await;
    assert_problem(
        &outcome,
        ProblemType::Tls,
        &[&format!(
            "TLS handshake with 127.0.0.1:{} (SNI other.test, ALPN acme-tls/1) failed",
            setup.port()
        )],
    );
}

#[tokio::test]
async fn a_refused_connection_is_a_connection_problem_naming_each_address() {
    let setup = Setup::new().await;
    // A port nothing listens on.
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut config = setup.validator.config().clone();
    config.tlsalpn01_port = closed;
    let validator = Validator::new(config).unwrap();
    let outcome = validator
        .validate(&request(
            Identifier::dns("a.test").unwrap(),
            ChallengeType::TlsAlpn01,
            TOKEN,
        ))
        .await;
    assert_problem(
        &outcome,
        ProblemType::Connection,
        &[
            &format!("tls-alpn-01 could not connect to a.test on port {closed}"),
            &format!("[::1]:{closed}"),
            &format!("connection refused: nothing accepted a connection to 127.0.0.1:{closed}"),
        ],
    );
    let [record] = outcome.records.as_slice() else {
        panic!("one record expected: {:?}", outcome.records);
    };
    assert_eq!(record.addresses_resolved, vec![V6, V4]);
    assert_eq!(record.address_used, None);
    assert_eq!(record.port, Some(closed));
}

#[tokio::test]
async fn a_server_that_never_answers_the_handshake_times_out() {
    let dns = start_dns().await;
    // Accepts connections and keeps them open without a word.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = listener.accept().await {
            held.push(tcp);
        }
    });
    let mut config = config(&dns, 1);
    config.tlsalpn01_port = port;
    let validator = Validator::new(config).unwrap();
    let outcome = validator
        .validate(&request(
            Identifier::dns("a.test").unwrap(),
            ChallengeType::TlsAlpn01,
            TOKEN,
        ))
        .await;
    assert_problem(
        &outcome,
        ProblemType::Connection,
        &[&format!(
            "timed out during the TLS handshake with 127.0.0.1:{port} (SNI a.test)"
        )],
    );
    assert_eq!(outcome.records[0].address_used, Some(V4));
}

#[tokio::test]
async fn dns_failures_are_dns_problems() {
    let setup = Setup::new().await;
    setup.dns.records().set_nxdomain("gone.test", true);
    let outcome = setup.validate(Identifier::dns("gone.test").unwrap()).await;
    assert_problem(
        &outcome,
        ProblemType::Dns,
        &["DNS problem", "NXDOMAIN", "gone.test"],
    );
    assert_eq!(outcome.records.len(), 1);
    assert!(setup.responder.handshakes().await.is_empty());
}

#[tokio::test]
async fn wildcards_are_refused_before_any_lookup() {
    let setup = Setup::new().await;
    setup.serve("a.test", Variant::Correct);
    let outcome = setup.validate(Identifier::dns("*.a.test").unwrap()).await;
    assert_problem(
        &outcome,
        ProblemType::Malformed,
        &[
            "tls-alpn-01 cannot validate the wildcard name *.a.test",
            "use dns-01",
        ],
    );
    assert!(outcome.records.is_empty());
    assert!(setup.responder.handshakes().await.is_empty());
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
