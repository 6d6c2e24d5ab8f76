//! The metrics listener (issue 17): `/metrics` counts what a client run did, with bounded
//! labels; `/healthz` and `/readyz`; and the request id every ACME response carries.

use axum::http::StatusCode;
use serde_json::Value;

use crate::support::{Auth, Client, TestCa, last_segment, url};

/// The value of the sample whose name and labels start with `series` (the exposition line up
/// to the value), or `None`.
fn sample(exposition: &str, series: &str) -> Option<f64> {
    exposition
        .lines()
        .find(|line| line.starts_with(series) && !line.starts_with('#'))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

/// The exposition in the Prometheus text format (no `Accept`, as curl and promtool send).
async fn scrape(ca: &TestCa) -> String {
    let reply = ca.metrics_get("/metrics").await;
    reply.assert_status(StatusCode::OK);
    assert_eq!(
        reply.header("content-type").as_deref(),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = String::from_utf8(reply.body).unwrap();
    assert!(!text.contains("# EOF"));
    text
}

#[tokio::test]
async fn a_client_run_is_counted_with_bounded_labels() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    let (_, cert_url, _) = client.issue(&ca, &["metrics.test"]).await;
    let (_, _, _) = client.issue(&ca, &["metrics-two.test"]).await;
    let key_id = ca.default_area.issuer.key_id();

    let text = scrape(&ca).await;
    let issued = format!(
        "basalt_certificates_issued_total{{area=\"default\",profile=\"default\",intermediate=\"{key_id}\"}}"
    );
    assert_eq!(sample(&text, &issued), Some(2.0), "{text}");
    assert_eq!(
        sample(
            &text,
            "basalt_orders_total{area=\"default\",status=\"valid\"}"
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &text,
            "basalt_validations_total{challenge_type=\"http-01\",result=\"valid\"}"
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &text,
            "basalt_validation_duration_seconds_count{challenge_type=\"http-01\"}"
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &text,
            "basalt_caa_checks_total{stage=\"validation\",result=\"allowed\"}"
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &text,
            "basalt_signing_duration_seconds_count{key_kind=\"file\"}"
        ),
        Some(2.0)
    );
    // Finalize answered 200 twice on the route template, never on a concrete URL.
    assert_eq!(
        sample(
            &text,
            "basalt_http_requests_total{route=\"/acme/{directory}/order/{id}/finalize\",method=\"POST\",status=\"200\"}"
        ),
        Some(2.0),
        "{text}"
    );
    assert!(
        sample(
            &text,
            "basalt_http_request_duration_seconds_count{route=\"/acme/{directory}/new-order\",method=\"POST\"}"
        )
        .is_some_and(|n| n >= 2.0)
    );
    assert!(sample(&text, "basalt_nonces_issued_total").is_some_and(|n| n > 0.0));
    assert!(
        sample(&text, "basalt_database_query_duration_seconds_count").is_none(),
        "the test server's store has no observer; the binary's has"
    );
    assert_eq!(sample(&text, "basalt_database_up"), Some(1.0));
    assert_eq!(
        sample(&text, "basalt_build_info{version=\""),
        Some(1.0),
        "{text}"
    );
    // The intermediate's time left, to the second of its notAfter.
    let left = sample(
        &text,
        &format!(
            "basalt_ca_certificate_expiry_seconds{{role=\"intermediate\",area=\"default\",key_id=\"{key_id}\",status=\"active\"}}"
        ),
    )
    .expect("the intermediate's expiry gauge");
    let expected =
        (ca.default_area.issuer.not_after() - time::OffsetDateTime::now_utc()).as_seconds_f64();
    assert!((left - expected).abs() < 60.0, "{left} vs {expected}");
    assert!(sample(&text, "basalt_ca_certificate_expiry_seconds{role=\"root\"").is_some());
    assert_eq!(
        sample(
            &text,
            "basalt_certificates_expiring_within_hour{area=\"default\"}"
        ),
        Some(0.0)
    );
    // Bounded labels: no name, serial or account id anywhere in the exposition.
    let serial = last_segment(&cert_url);
    for leaked in [
        "metrics.test",
        serial,
        "127.0.0.1",
        &format!("/{}", client.account_id()),
    ] {
        assert!(!text.contains(leaked), "{leaked:?} appears in the metrics");
    }

    // A revocation is counted by area.
    let cert = client.post(&ca, &cert_url, None).await;
    let der = basalt_signer::pem_to_der(std::str::from_utf8(&cert.body).unwrap()).unwrap();
    use base64::Engine as _;
    let payload = serde_json::json!({
        "certificate": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&der[0])
    });
    client
        .post(&ca, &url("/revoke-cert"), Some(payload))
        .await
        .assert_status(StatusCode::OK);
    let text = scrape(&ca).await;
    assert_eq!(
        sample(&text, "basalt_certificates_revoked_total{area=\"default\"}"),
        Some(1.0)
    );
}

#[tokio::test]
async fn a_bad_nonce_is_counted_and_every_answer_carries_a_request_id() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    let reply = client
        .post(
            &ca,
            &url("/new-order"),
            Some(serde_json::json!({"identifiers": []})),
        )
        .await;
    let id = reply.header("x-request-id").expect("a request id");
    assert!(
        id.len() == 16 && id.chars().all(|c| c.is_ascii_hexdigit()),
        "{id}"
    );
    let other = client.post(&ca, &url("/new-order"), None).await;
    assert_ne!(other.header("x-request-id"), Some(id));

    let stranger = Client::new();
    let body = stranger.sign(&url("/new-account"), b"{}", Some("AAAAAAAA"), Auth::Jwk);
    let refused = ca
        .post_raw(&url("/new-account"), body, "application/jose+json")
        .await;
    refused.assert_problem("badNonce", 400);
    let text = scrape(&ca).await;
    assert_eq!(sample(&text, "basalt_bad_nonce_answers_total"), Some(1.0));
    assert_eq!(sample(&text, "basalt_nonces_rejected_total"), Some(1.0));
}

#[tokio::test]
async fn health_and_readiness() {
    let ca = TestCa::start().await;
    let health = ca.metrics_get("/healthz").await;
    health.assert_status(StatusCode::OK);
    let ready = ca.metrics_get("/readyz").await;
    ready.assert_status(StatusCode::OK);
    let body: Value = ready.json();
    assert_eq!(body["ready"], true);
    let names: Vec<&str> = body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["database", "migrations", "signer:default"]);
    // The metrics listener serves nothing else, and the ACME router has no /metrics.
    ca.metrics_get("/acme/default/directory")
        .await
        .assert_status(StatusCode::NOT_FOUND);
    assert_ne!(ca.get("/metrics").await.status, StatusCode::OK);
}
