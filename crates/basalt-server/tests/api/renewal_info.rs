//! ACME Renewal Information (RFC 9773): the renewalInfo resource, what moves its window
//! into the past (revocation, renew-early notices, a rotated intermediate), and newOrder's
//! `replaces` (§5).

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::{FromDer, X509Certificate};

use basalt_storage::{RenewEarlyOutcome, RenewEarlyScope};

use crate::support::{Client, HOST, ORIGIN, Reply, TestCa, last_segment, url};

/// The leaf's CertID as a client computes it (RFC 9773 §4.1): the AKI keyIdentifier and
/// the serial's DER content octets, each unpadded base64url.
fn cert_id(chain: &str) -> String {
    let der = basalt_signer::pem_to_der(chain).unwrap().remove(0);
    let (_, leaf) = X509Certificate::from_der(&der).unwrap();
    let aki = leaf
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(aki) => aki.key_identifier.clone(),
            _ => None,
        })
        .expect("an AKI keyIdentifier");
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(aki.0),
        URL_SAFE_NO_PAD.encode(leaf.raw_serial())
    )
}

/// The leaf's notBefore and notAfter.
fn validity(chain: &str) -> (OffsetDateTime, OffsetDateTime) {
    let der = basalt_signer::pem_to_der(chain).unwrap().remove(0);
    let (_, leaf) = X509Certificate::from_der(&der).unwrap();
    (
        leaf.validity().not_before.to_datetime(),
        leaf.validity().not_after.to_datetime(),
    )
}

async fn renewal_info(ca: &TestCa, id: &str) -> Reply {
    ca.get(&format!("/acme/default/renewal-info/{id}")).await
}

fn window(body: &Value) -> (OffsetDateTime, OffsetDateTime) {
    let at = |k: &str| {
        OffsetDateTime::parse(body["suggestedWindow"][k].as_str().unwrap(), &Rfc3339).unwrap()
    };
    (at("start"), at("end"))
}

/// A window entirely in the past (Boulder's "renew now"), with an explanationURL that
/// serves `text`; returns the URL.
async fn assert_renew_now(ca: &TestCa, id: &str, text: &str) -> String {
    let reply = renewal_info(ca, id).await;
    reply.assert_status(StatusCode::OK);
    let body = reply.json();
    let (start, end) = window(&body);
    let now = OffsetDateTime::now_utc();
    assert!(start < end && end < now, "a window in the past: {body}");
    let explanation = body["explanationURL"]
        .as_str()
        .unwrap_or_else(|| panic!("an explanationURL: {body}"))
        .to_owned();
    let page = ca
        .get(
            explanation
                .strip_prefix(ORIGIN)
                .expect("a URL of this server"),
        )
        .await;
    page.assert_status(StatusCode::OK);
    assert_eq!(
        page.header("content-type").as_deref(),
        Some("text/plain; charset=utf-8")
    );
    let page = String::from_utf8(page.body).unwrap();
    assert!(page.contains(text), "{page:?} should contain {text:?}");
    explanation
}

#[tokio::test]
async fn every_directory_names_its_renewal_info() {
    let ca = TestCa::start().await;
    let directory = ca.get("/acme/default/directory").await.json();
    assert_eq!(directory["renewalInfo"], url("/renewal-info"));
}

#[tokio::test]
async fn a_fresh_certificate_gets_boulders_window_and_retry_after() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    let (_, _, chain) = client.issue(&ca, &["ari.test"]).await;
    let reply = renewal_info(&ca, &cert_id(&chain)).await;
    reply.assert_status(StatusCode::OK);
    assert_eq!(reply.header("retry-after").as_deref(), Some("21600"));
    assert_eq!(
        reply.header("content-type").as_deref(),
        Some("application/json")
    );
    let body = reply.json();
    assert!(body.get("explanationURL").is_none(), "{body}");
    // A day (plus the backdate) is short-lived: ideal at half the lifetime, ± 1 %.
    let (not_before, not_after) = validity(&chain);
    let lifetime = (not_after - not_before).whole_seconds() + 1;
    let ideal = not_after - time::Duration::seconds(lifetime / 2);
    let margin = time::Duration::seconds((lifetime as f64 / 100.0).round() as i64);
    let (start, end) = window(&body);
    assert!(
        (start - (ideal - margin)).abs() <= time::Duration::SECOND,
        "{body}"
    );
    assert!(
        (end - (ideal + margin)).abs() <= time::Duration::SECOND,
        "{body}"
    );
    assert!(not_before < start && end < not_after);
    // HEAD answers too; other methods are refused.
    let head = ca
        .send(
            Request::builder()
                .method(Method::HEAD)
                .uri(format!("/acme/default/renewal-info/{}", cert_id(&chain)))
                .header("host", HOST)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    head.assert_status(StatusCode::OK);
    let post = client
        .post(
            &ca,
            &url(&format!("/renewal-info/{}", cert_id(&chain))),
            None,
        )
        .await;
    post.assert_problem("malformed", 405);
    assert_eq!(post.header("allow").as_deref(), Some("GET, HEAD"));
}

#[tokio::test]
async fn malformed_certificate_ids_are_malformed() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    let (_, _, chain) = client.issue(&ca, &["bad-id.test"]).await;
    let good = cert_id(&chain);
    let (aki, serial) = good.split_once('.').unwrap();
    let cases = [
        aki.to_owned(),                                             // no dot
        format!("{aki}.{serial}.{serial}"),                         // two dots
        format!(".{serial}"),                                       // empty keyIdentifier
        format!("{aki}."),                                          // empty serial
        format!("{aki}=.{serial}"),                                 // padding
        format!("{aki}.{serial}="),                                 // padding
        format!("{}.{serial}", aki.replace(['-', '_'], "+")) + "+", // another alphabet
        format!("{aki}.{}", "%2F"),                                 // not base64url
        format!("{aki}.gA"),                                        // a negative serial (0x80)
        format!("{aki}.AAE"),                                       // a redundant leading zero
        format!("{}.{serial}", "A".repeat(400)),                    // too long
    ];
    for id in cases {
        renewal_info(&ca, &id)
            .await
            .assert_problem("malformed", 400);
    }
}

#[tokio::test]
async fn an_unknown_serial_or_a_wrong_key_identifier_is_not_found() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    let (_, _, chain) = client.issue(&ca, &["unknown.test"]).await;
    let good = cert_id(&chain);
    let (aki, serial) = good.split_once('.').unwrap();
    renewal_info(&ca, &format!("{aki}.AQID"))
        .await
        .assert_problem("malformed", 404);
    // The right serial under another keyIdentifier (the RFC's example's).
    renewal_info(&ca, &format!("aYhba4dGQEHhs3uEe6CuLN4ByNQ.{serial}"))
        .await
        .assert_problem("malformed", 404);
    // An area that does not exist.
    ca.get(&format!("/acme/nowhere/renewal-info/{good}"))
        .await
        .assert_problem("malformed", 404);
    renewal_info(&ca, &good).await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn a_revoked_certificate_should_be_renewed_now() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    let (_, cert_url, chain) = client.issue(&ca, &["revoked-ari.test"]).await;
    ca.store
        .revoke_certificate(last_segment(&cert_url), 1, OffsetDateTime::now_utc())
        .await
        .unwrap();
    let explanation = assert_renew_now(&ca, &cert_id(&chain), "revoked").await;
    assert_eq!(explanation, url("/renewal-notice/revoked"));
}

#[tokio::test]
async fn renew_early_moves_the_selected_certificates_windows_and_serves_the_note() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    let (_, cert_url, chain) = client.issue(&ca, &["www.incident.test"]).await;
    let (_, _, other) = client.issue(&ca, &["calm.test"]).await;
    let note = "Incident 42: certificates of incident.test must be replaced by Friday.";
    let outcome = ca
        .store
        .renew_early(
            &RenewEarlyScope::NameSuffix("incident.test".into()),
            note,
            OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
    let RenewEarlyOutcome::Marked(notice) = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(notice.certificates, 1);
    let explanation = assert_renew_now(&ca, &cert_id(&chain), note).await;
    assert_eq!(explanation, url(&format!("/renewal-notice/{}", notice.id)));
    // The other certificate keeps its ordinary window.
    let body = renewal_info(&ca, &cert_id(&other)).await.json();
    assert!(body.get("explanationURL").is_none(), "{body}");
    assert!(window(&body).0 > OffsetDateTime::now_utc());
    // A revocation outranks the notice.
    ca.store
        .revoke_certificate(last_segment(&cert_url), 1, OffsetDateTime::now_utc())
        .await
        .unwrap();
    assert_renew_now(&ca, &cert_id(&chain), "revoked").await;
    // Unknown notices are 404.
    for id in ["999", "0", "-1", "01", "x"] {
        ca.get(&format!("/acme/default/renewal-notice/{id}"))
            .await
            .assert_problem("malformed", 404);
    }
}

#[tokio::test]
async fn a_rotated_intermediates_certificates_should_be_renewed_now() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    let (_, _, old) = client.issue(&ca, &["rotated.test"]).await;
    ca.rotate_default().await;
    let explanation = assert_renew_now(&ca, &cert_id(&old), "replaced").await;
    assert_eq!(explanation, url("/renewal-notice/rotated"));
    // A certificate of the new intermediate has its ordinary window.
    let (_, _, new) = client.issue(&ca, &["rotated.test"]).await;
    let body = renewal_info(&ca, &cert_id(&new)).await.json();
    assert!(body.get("explanationURL").is_none(), "{body}");
}

/// newOrder replacing `replaces` for `names`.
async fn replacing(ca: &TestCa, client: &Client, names: &[&str], replaces: &str) -> Reply {
    let identifiers: Vec<Value> = names
        .iter()
        .map(|n| json!({"type": "dns", "value": n}))
        .collect();
    client
        .post(
            ca,
            &url("/new-order"),
            Some(json!({"identifiers": identifiers, "replaces": replaces})),
        )
        .await
}

#[tokio::test]
async fn a_replacement_order_records_replaces_and_echoes_it_on_every_fetch() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    let (_, _, chain) = client
        .issue(&ca, &["a.replace.test", "b.replace.test"])
        .await;
    let id = cert_id(&chain);
    // One shared identifier is enough.
    let reply = replacing(&ca, &client, &["b.replace.test", "c.replace.test"], &id).await;
    reply.assert_status(StatusCode::CREATED);
    assert_eq!(reply.json()["replaces"], id.as_str());
    let order_url = reply.header("location").unwrap();
    // Boulder #8272: basalt keeps echoing it, through to the valid order.
    for _ in 0..2 {
        assert_eq!(
            client.post(&ca, &order_url, None).await.json()["replaces"],
            id.as_str()
        );
    }
    let order = client.post(&ca, &order_url, None).await.json();
    client.authorize(&ca, &order_url, &order).await;
    client
        .finalize(&ca, &order, &["b.replace.test", "c.replace.test"])
        .await
        .assert_status(StatusCode::OK);
    let order = client.poll_until(&ca, &order_url, &["valid"]).await;
    assert_eq!(order["replaces"], id.as_str());
    // An order without `replaces` has none.
    let (_, plain) = client.order(&ca, &["plain.test"]).await;
    assert!(plain.get("replaces").is_none(), "{plain}");
    // The valid replacement holds the certificate for good.
    let before = client.stored_orders(&ca).await;
    replacing(&ca, &client, &["a.replace.test"], &id)
        .await
        .assert_problem("alreadyReplaced", 409);
    assert_eq!(client.stored_orders(&ca).await, before, "nothing stored");
}

#[tokio::test]
async fn a_second_replacement_is_already_replaced_until_the_first_is_invalid() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    let (_, _, chain) = client.issue(&ca, &["twice.test"]).await;
    let id = cert_id(&chain);
    let first = replacing(&ca, &client, &["twice.test"], &id).await;
    first.assert_status(StatusCode::CREATED);
    let before = client.stored_orders(&ca).await;
    replacing(&ca, &client, &["twice.test"], &id)
        .await
        .assert_problem("alreadyReplaced", 409);
    assert_eq!(client.stored_orders(&ca).await, before, "nothing stored");
    // The first replacement fails (its authorization is deactivated): the certificate may
    // be replaced again.
    let first = first.json();
    let authz = first["authorizations"][0].as_str().unwrap();
    client
        .post(&ca, authz, Some(json!({"status": "deactivated"})))
        .await
        .assert_status(StatusCode::OK);
    let order_url = first["finalize"]
        .as_str()
        .unwrap()
        .trim_end_matches("/finalize");
    assert_eq!(
        client.post(&ca, order_url, None).await.json()["status"],
        "invalid"
    );
    replacing(&ca, &client, &["twice.test"], &id)
        .await
        .assert_status(StatusCode::CREATED);
}

#[tokio::test]
async fn replaces_is_refused_for_another_account_no_shared_name_or_an_unknown_certificate() {
    let ca = TestCa::start().await;
    let owner = Client::register(&ca).await;
    let (_, _, chain) = owner.issue(&ca, &["mine.test"]).await;
    let id = cert_id(&chain);
    let (aki, _) = id.split_once('.').unwrap();

    let stranger = Client::register(&ca).await;
    replacing(&ca, &stranger, &["mine.test"], &id)
        .await
        .assert_problem("unauthorized", 403);
    assert_eq!(stranger.stored_orders(&ca).await, 0);

    let before = owner.stored_orders(&ca).await;
    replacing(&ca, &owner, &["other.test"], &id)
        .await
        .assert_problem("malformed", 400);
    replacing(&ca, &owner, &["mine.test"], &format!("{aki}.AQID"))
        .await
        .assert_problem("malformed", 404);
    for bad in ["", "nodot", "a.b.c", &format!("{id}=")] {
        replacing(&ca, &owner, &["mine.test"], bad)
            .await
            .assert_problem("malformed", 400);
    }
    owner
        .post(
            &ca,
            &url("/new-order"),
            Some(json!({"identifiers": [{"type": "dns", "value": "mine.test"}], "replaces": 7})),
        )
        .await
        .assert_problem("malformed", 400);
    assert_eq!(owner.stored_orders(&ca).await, before, "nothing stored");
    // The refusals claimed nothing: the owner can still replace it.
    replacing(&ca, &owner, &["mine.test"], &id)
        .await
        .assert_status(StatusCode::CREATED);
}
