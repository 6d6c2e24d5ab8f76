//! http-01 (RFC 8555 §8.3) against the loopback responder, names resolved by the test DNS.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use basalt_protocol::{ChallengeType, Identifier, ProblemType};
use basalt_testkit::dns::TestDns;
use basalt_validation::{ValidationConfig, ValidationOutcome, Validator};

use super::responder::{BODY_CAP, Targets, serve_http, serve_https};
use super::{assert_problem, assert_valid, config, key_authorization, request, start_dns};

const V4: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const V6: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);

/// A DNS server, the plain and TLS responders, and the config pointing at them.
struct Setup {
    dns: TestDns,
    port: u16,
    config: ValidationConfig,
}

impl Setup {
    async fn new() -> Self {
        let dns = start_dns().await;
        let https = serve_https().await;
        let targets = Targets {
            https_port: https.port(),
            ..Targets::default()
        };
        let http = serve_http(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), targets)
            .await
            .expect("the responder starts");
        let mut config = config(&dns, http.port());
        config.tlsalpn01_port = https.port();
        config.max_body_bytes = BODY_CAP;
        config.max_redirects = 3;
        Self {
            dns,
            port: http.port(),
            config,
        }
    }

    fn validator(&self) -> Validator {
        Validator::new(self.config.clone()).expect("validator builds")
    }

    /// Validates `name` with `token` through a validator built from the current config.
    async fn validate(&self, name: &str, token: &str) -> ValidationOutcome {
        self.validator()
            .validate(&request(
                Identifier::dns(name).unwrap(),
                ChallengeType::Http01,
                token,
            ))
            .await
    }

    fn url(&self, name: &str, token: &str) -> String {
        format!(
            "http://{name}:{}/.well-known/acme-challenge/{token}",
            self.port
        )
    }
}

#[tokio::test]
async fn the_right_key_authorization_validates_and_is_recorded() {
    let setup = Setup::new().await;
    let token = "good_0123456789abcdefghijk";
    let outcome = setup.validate("a.test", token).await;
    assert_valid(&outcome);

    let [record] = outcome.records.as_slice() else {
        panic!("one record expected: {:?}", outcome.records);
    };
    assert_eq!(
        record.url.as_deref(),
        Some(setup.url("a.test", token).as_str())
    );
    assert_eq!(record.hostname, "a.test");
    assert_eq!(record.port, Some(setup.port));
    // Both families, IPv6 first; the responder only listens on IPv4.
    assert_eq!(record.addresses_resolved, vec![V6, V4]);
    assert_eq!(record.address_used, Some(V4));
    assert_eq!(
        record.resolver_answers.len(),
        2,
        "{:?}",
        record.resolver_answers
    );

    let json = serde_json::to_value(record).unwrap();
    for key in [
        "url",
        "hostname",
        "port",
        "addressesResolved",
        "addressUsed",
        "resolverAnswers",
    ] {
        assert!(json.get(key).is_some(), "{key} missing from {json}");
    }
}

#[tokio::test]
async fn surrounding_whitespace_is_ignored() {
    let setup = Setup::new().await;
    assert_valid(
        &setup
            .validate("a.test", "newline_0123456789abcdefghij")
            .await,
    );
}

#[tokio::test]
async fn the_request_names_basalt_in_its_user_agent() {
    let setup = Setup::new().await;
    assert_valid(
        &setup
            .validate("a.test", "ua_0123456789abcdefghijklmn")
            .await,
    );
}

#[tokio::test]
async fn a_wrong_body_is_an_incorrect_response_quoting_what_came_back() {
    let setup = Setup::new().await;
    let token = "wrong_0123456789abcdefghijk";
    let outcome = setup.validate("a.test", token).await;
    let url = setup.url("a.test", token);
    let expected = key_authorization(token);
    assert_problem(
        &outcome,
        ProblemType::IncorrectResponse,
        &[
            &url,
            expected.as_str(),
            r#"got "this is not the key authorization\n\"quoted\"""#,
        ],
    );
    // The failed attempt is still recorded.
    assert_eq!(outcome.records.len(), 1);
    assert_eq!(outcome.records[0].address_used, Some(V4));
}

#[tokio::test]
async fn a_404_is_unauthorized() {
    let setup = Setup::new().await;
    let token = "missing_0123456789abcdefghi";
    let outcome = setup.validate("a.test", token).await;
    assert_problem(
        &outcome,
        ProblemType::Unauthorized,
        &[&setup.url("a.test", token), "returned HTTP 404"],
    );
}

#[tokio::test]
async fn a_body_over_the_cap_is_refused_with_or_without_a_length() {
    let setup = Setup::new().await;
    for token in [
        "big_0123456789abcdefghijklm",
        "bigstream_0123456789abcdefgh",
    ] {
        let outcome = setup.validate("a.test", token).await;
        assert_problem(
            &outcome,
            ProblemType::Unauthorized,
            &[&setup.url("a.test", token), "larger than 1024 bytes"],
        );
    }
}

#[tokio::test]
async fn a_slow_server_times_out() {
    let mut setup = Setup::new().await;
    setup.config.attempt_timeout = Duration::from_millis(800);
    let started = Instant::now();
    let outcome = setup.validate("a.test", "slow_0123456789abcdefghijk").await;
    assert_problem(&outcome, ProblemType::Connection, &["timed out"]);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_closed_port_is_connection_refused() {
    let dns = start_dns().await;
    // A port that was free a moment ago, with nothing listening now.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let validator = Validator::new(config(&dns, closed)).unwrap();
    let outcome = validator
        .validate(&request(
            Identifier::ip(V4),
            ChallengeType::Http01,
            "refused_0123456789abcdefghi",
        ))
        .await;
    assert_problem(
        &outcome,
        ProblemType::Connection,
        &["connection refused", &format!("127.0.0.1:{closed}")],
    );
}

#[tokio::test]
async fn a_redirect_to_another_port_is_rejected_naming_the_target() {
    let setup = Setup::new().await;
    let outcome = setup
        .validate("a.test", "badport_0123456789abcdefghi")
        .await;
    assert_problem(
        &outcome,
        ProblemType::Connection,
        &[
            "http://a.test:1/.well-known/acme-challenge/x",
            "redirects may only go to ports 80, 443",
            "not 1",
        ],
    );
}

#[tokio::test]
async fn a_redirect_to_another_scheme_is_rejected() {
    let setup = Setup::new().await;
    let outcome = setup
        .validate("a.test", "ftp_0123456789abcdefghijklm")
        .await;
    assert_problem(
        &outcome,
        ProblemType::Connection,
        &["ftp://a.test/file", "only http and https"],
    );
}

#[tokio::test]
async fn a_redirect_loop_stops_after_max_redirects() {
    let setup = Setup::new().await;
    let outcome = setup
        .validate("a.test", "loop_0123456789abcdefghijkl")
        .await;
    assert_problem(
        &outcome,
        ProblemType::Connection,
        &["too many redirects", "at most 3"],
    );
    // The first request and the three redirects that were followed.
    assert_eq!(outcome.records.len(), 4, "{:?}", outcome.records);
}

#[tokio::test]
async fn a_redirect_to_another_path_is_followed_and_recorded() {
    let setup = Setup::new().await;
    let token = "moved_0123456789abcdefghijk";
    let outcome = setup.validate("a.test", token).await;
    assert_valid(&outcome);
    let urls: Vec<_> = outcome
        .records
        .iter()
        .map(|r| r.url.clone().unwrap())
        .collect();
    assert_eq!(
        urls,
        vec![
            setup.url("a.test", token),
            format!("http://a.test:{}/elsewhere/{token}", setup.port)
        ]
    );
    assert_eq!(outcome.records[0].address_used, None);
    assert_eq!(outcome.records[1].address_used, Some(V4));
}

#[tokio::test]
async fn redirect_targets_are_resolved_by_the_configured_resolver() {
    let setup = Setup::new().await;
    let records = setup.dns.records();
    records.set_aaaa("b.test", vec![]);
    records.set_a("b.test", vec![Ipv4Addr::LOCALHOST]);
    let outcome = setup
        .validate("a.test", "othername_0123456789abcdefg")
        .await;
    assert_valid(&outcome);
    let second = &outcome.records[1];
    assert_eq!(second.hostname, "b.test");
    assert_eq!(second.addresses_resolved, vec![V4]);
    assert_eq!(second.address_used, Some(V4));
}

#[tokio::test]
async fn an_https_redirect_target_with_a_self_signed_certificate_is_accepted() {
    let setup = Setup::new().await;
    let token = "tls_0123456789abcdefghijklm";
    let outcome = setup.validate("a.test", token).await;
    assert_valid(&outcome);
    let second = outcome.records[1].url.clone().unwrap();
    assert!(second.starts_with("https://a.test:"), "{second}");
}

#[tokio::test]
async fn an_unknown_name_is_a_dns_problem() {
    let setup = Setup::new().await;
    setup.dns.records().set_nxdomain("gone.test", true);
    let outcome = setup
        .validate("gone.test", "good_0123456789abcdefghijk")
        .await;
    assert_problem(
        &outcome,
        ProblemType::Dns,
        &["no such domain", "NXDOMAIN", "gone.test"],
    );
}

#[tokio::test]
async fn a_name_without_addresses_is_a_dns_problem() {
    let setup = Setup::new().await;
    let records = setup.dns.records();
    records.set_a("empty.test", vec![]);
    records.set_aaaa("empty.test", vec![]);
    let outcome = setup
        .validate("empty.test", "good_0123456789abcdefghijk")
        .await;
    assert_problem(
        &outcome,
        ProblemType::Dns,
        &["no A or AAAA records found for empty.test"],
    );
}

#[tokio::test]
async fn a_failing_or_silent_dns_server_is_a_dns_problem() {
    let setup = Setup::new().await;
    let records = setup.dns.records();
    records.set_servfail("broken.test", true);
    records.set_timeout("silent.test", true);
    let outcome = setup
        .validate("broken.test", "good_0123456789abcdefghijk")
        .await;
    assert_problem(&outcome, ProblemType::Dns, &["SERVFAIL", "broken.test"]);
    let started = Instant::now();
    let outcome = setup
        .validate("silent.test", "good_0123456789abcdefghijk")
        .await;
    assert_problem(
        &outcome,
        ProblemType::Dns,
        &["query timed out looking up", "silent.test"],
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn ip_identifiers_use_the_literal_address() {
    let setup = Setup::new().await;
    let token = "good_0123456789abcdefghijk";
    let outcome = setup
        .validator()
        .validate(&request(Identifier::ip(V4), ChallengeType::Http01, token))
        .await;
    assert_valid(&outcome);
    let record = &outcome.records[0];
    assert_eq!(
        record.url.as_deref(),
        Some(setup.url("127.0.0.1", token).as_str())
    );
    assert_eq!(record.addresses_resolved, vec![V4]);
    assert!(record.resolver_answers.is_empty());
}

#[tokio::test]
async fn ipv6_identifiers_are_bracketed_in_the_url() {
    let dns = start_dns().await;
    let Ok(http) = serve_http(
        SocketAddr::from((Ipv6Addr::LOCALHOST, 0)),
        Targets::default(),
    )
    .await
    else {
        eprintln!("no IPv6 loopback here; skipping");
        return;
    };
    let token = "good_0123456789abcdefghijk";
    let validator = Validator::new(config(&dns, http.port())).unwrap();
    let outcome = validator
        .validate(&request(Identifier::ip(V6), ChallengeType::Http01, token))
        .await;
    assert_valid(&outcome);
    let expected = format!(
        "http://[::1]:{}/.well-known/acme-challenge/{token}",
        http.port()
    );
    assert_eq!(outcome.records[0].url.as_deref(), Some(expected.as_str()));
    assert_eq!(outcome.records[0].address_used, Some(V6));
}

#[tokio::test]
async fn wildcards_cannot_use_http_01() {
    let setup = Setup::new().await;
    let outcome = setup
        .validate("*.a.test", "good_0123456789abcdefghijk")
        .await;
    assert_problem(
        &outcome,
        ProblemType::Malformed,
        &["wildcard", "*.a.test", "dns-01"],
    );
    assert!(outcome.records.is_empty());
}
