//! Orders, authorizations, challenges, finalize and download: RFC 8555 §7.4, §7.5, §8.3.

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

use crate::support::{Client, Options, TestCa, csr_der, csr_with_key, http01, last_segment, url};

#[tokio::test]
async fn new_order_is_201_with_location_and_pending_authorizations() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    let (order_url, order) = client.order(&ca, &["A.test", "b.test."]).await;
    assert!(order_url.starts_with(&url("/order/")));
    assert_eq!(order["status"], "pending");
    assert_eq!(
        order["identifiers"],
        json!([{"type": "dns", "value": "a.test"}, {"type": "dns", "value": "b.test"}])
    );
    assert!(order["expires"].as_str().unwrap().ends_with('Z'));
    assert_eq!(order["authorizations"].as_array().unwrap().len(), 2);
    let authz = client
        .post(&ca, order["authorizations"][0].as_str().unwrap(), None)
        .await;
    assert_eq!(authz.status, StatusCode::OK);
    assert!(
        authz.header("retry-after").is_some(),
        "pending authorizations carry Retry-After"
    );
    let authz = authz.json();
    assert_eq!(authz["status"], "pending");
    let types: Vec<_> = authz["challenges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].clone())
        .collect();
    assert!(types.contains(&json!("http-01")));
    assert!(authz.get("wildcard").is_none());
}

#[tokio::test]
async fn wildcard_orders_get_a_dns01_only_base_name_authorization() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    let (_, order) = client.order(&ca, &["*.wild.test"]).await;
    let authz = client
        .post(&ca, order["authorizations"][0].as_str().unwrap(), None)
        .await
        .json();
    assert_eq!(authz["identifier"]["value"], "wild.test");
    assert_eq!(authz["wildcard"], true);
    let types: Vec<_> = authz["challenges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].clone())
        .collect();
    assert_eq!(types, vec![json!("dns-01")]);
}

#[tokio::test]
async fn bad_identifiers_are_each_reported_and_nothing_is_stored() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    let reply = client
        .post(
            &ca,
            &url("/new-order"),
            Some(json!({"identifiers": [
                {"type": "dns", "value": "ok.test"},
                {"type": "dns", "value": "a..test"},
                {"type": "dns", "value": "under_score.test"},
                {"type": "dns", "value": "*.*.a.test"},
                {"type": "dns", "value": "1.2.3.4"},
            ]})),
        )
        .await;
    let problem = reply.assert_problem("rejectedIdentifier", 400);
    let subs = problem["subproblems"].as_array().unwrap();
    assert_eq!(subs.len(), 4);
    assert!(subs.iter().all(|s| s["identifier"]["type"] == "dns"
        && s["type"] == "urn:ietf:params:acme:error:rejectedIdentifier"));
    assert_eq!(client.stored_orders(&ca).await, 0, "nothing stored");

    client
        .post(&ca, &url("/new-order"), Some(json!({"identifiers": []})))
        .await
        .assert_problem("malformed", 400);
    client
        .post(
            &ca,
            &url("/new-order"),
            Some(json!({"identifiers": [{"type": "email", "value": "a@b.test"}]})),
        )
        .await
        .assert_problem("unsupportedIdentifier", 400);
    client
        .post(
            &ca,
            &url("/new-order"),
            Some(json!({"identifiers": "a.test"})),
        )
        .await
        .assert_problem("malformed", 400);
    client
        .post(&ca, &url("/new-order"), Some(json!({"identifiers": [{"type": "dns", "value": "a.test"}], "notAfter": "2999-01-01T00:00:00Z"})))
        .await
        .assert_problem("malformed", 400);
    assert_eq!(client.stored_orders(&ca).await, 0, "nothing stored");
}

#[tokio::test]
async fn full_flow_issues_a_24_hour_certificate_with_exactly_the_names() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    let (order_url, order) = client.order(&ca, &["a.test", "b.test"]).await;

    let early = client.finalize(&ca, &order, &["a.test", "b.test"]).await;
    early.assert_problem("orderNotReady", 403);

    client.authorize(&ca, &order_url, &order).await;
    let challenge_url = {
        let authz = client
            .post(&ca, order["authorizations"][0].as_str().unwrap(), None)
            .await
            .json();
        assert_eq!(authz["status"], "valid");
        let c = http01(&authz);
        assert_eq!(c["status"], "valid");
        assert!(c["validated"].as_str().is_some());
        c["url"].as_str().unwrap().to_owned()
    };
    let challenge = client.post(&ca, &challenge_url, None).await;
    assert!(
        challenge
            .links()
            .iter()
            .any(|l| l.contains("rel=\"up\"") && l.contains("/authz/"))
    );

    // CSR names must equal the order's identifiers exactly.
    client
        .finalize(&ca, &order, &["a.test"])
        .await
        .assert_problem("badCSR", 400);
    client
        .finalize(&ca, &order, &["a.test", "b.test", "c.test"])
        .await
        .assert_problem("badCSR", 400);
    let bad = client
        .post(
            &ca,
            order["finalize"].as_str().unwrap(),
            Some(json!({"csr": "!!!"})),
        )
        .await;
    bad.assert_problem("badCSR", 400);

    let reply = client.finalize(&ca, &order, &["b.test", "a.test"]).await;
    reply.assert_status(StatusCode::OK);
    let finalized = reply.json();
    assert_eq!(finalized["status"], "valid");
    let cert_url = finalized["certificate"].as_str().unwrap();

    let download = client.post(&ca, cert_url, None).await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(
        download.header("content-type").as_deref(),
        Some("application/pem-certificate-chain")
    );
    let links = download.links();
    assert!(links.iter().any(|l| l.contains("rel=\"up\"")), "{links:?}");
    assert!(
        links.iter().any(|l| l.contains("rel=\"index\"")),
        "{links:?}"
    );
    // rel="up" names the root, by GET and POST-as-GET, so chain-appending clients
    // (acmez/Caddy) complete the path instead of repeating the intermediate.
    let up = links.iter().find(|l| l.contains("rel=\"up\"")).unwrap();
    let up_url = up
        .trim_start_matches('<')
        .split('>')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(up_url, url("/root"));
    let root_by_post = client.post(&ca, &up_url, None).await;
    assert_eq!(root_by_post.status, StatusCode::OK);
    assert_eq!(String::from_utf8(root_by_post.body).unwrap(), ca.root_pem());
    assert_eq!(
        String::from_utf8(ca.get("/acme/default/root").await.body).unwrap(),
        ca.root_pem()
    );
    let pem = String::from_utf8(download.body).unwrap();
    assert_eq!(pem.matches("-----BEGIN CERTIFICATE-----").count(), 2);
    let blocks = basalt_signer::pem_to_der(&pem).unwrap();
    let (_, leaf) = x509_parser::parse_x509_certificate(&blocks[0]).unwrap();
    let lifetime =
        leaf.validity().not_after.timestamp() - leaf.validity().not_before.timestamp() + 1;
    assert_eq!(lifetime, 24 * 3600);
    let san = leaf.subject_alternative_name().unwrap().unwrap();
    let names: Vec<String> = san
        .value
        .general_names
        .iter()
        .map(|n| n.to_string())
        .collect();
    assert_eq!(names, vec!["DNSName(a.test)", "DNSName(b.test)"]);
    assert!(pem.ends_with(&ca.intermediate_pem()) || pem.contains(ca.intermediate_pem().trim()));

    // Committed before it was returned, and plain GET works too.
    let serial = last_segment(cert_url);
    assert!(
        ca.store
            .certificate_by_serial(serial)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        ca.get(&format!("/acme/default/certificate/{serial}"))
            .await
            .status,
        StatusCode::OK
    );
    // Finalizing twice is orderNotReady; the order stays valid.
    client
        .finalize(&ca, &order, &["a.test", "b.test"])
        .await
        .assert_problem("orderNotReady", 403);
}

#[tokio::test]
async fn the_account_key_cannot_be_the_certificate_key() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    let (order_url, order) = client.order(&ca, &["k.test"]).await;
    client.authorize(&ca, &order_url, &order).await;
    let key = rcgen::KeyPair::from_pem(&client.pkcs8_pem).unwrap();
    let csr = csr_with_key(&["k.test"], &key);
    let reply = client
        .post(
            &ca,
            order["finalize"].as_str().unwrap(),
            Some(json!({"csr": URL_SAFE_NO_PAD.encode(csr)})),
        )
        .await;
    reply.assert_problem("badCSR", 400);
}

#[tokio::test]
async fn a_failed_validation_makes_challenge_authorization_and_order_invalid() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    let (order_url, order) = client.order(&ca, &["nobody-home.test"]).await;
    let authz_url = order["authorizations"][0].as_str().unwrap();
    // No key authorization is served for this token: the responder answers 404. The
    // validation takes milliseconds, so the answer already carries its result.
    let (_, reply) = client.answer_http01_unserved(&ca, authz_url).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.header("retry-after").is_none());
    let challenge = reply.json();
    assert_eq!(challenge["status"], "invalid", "{challenge}");
    assert_eq!(
        challenge["error"]["type"],
        "urn:ietf:params:acme:error:unauthorized"
    );
    assert!(
        challenge["error"]["detail"]
            .as_str()
            .unwrap()
            .contains("404"),
        "{challenge}"
    );
    assert_eq!(
        client.post(&ca, authz_url, None).await.json()["status"],
        "invalid"
    );
    let order = client.post(&ca, &order_url, None).await.json();
    assert_eq!(order["status"], "invalid");
    assert!(order["error"].is_object());
}

#[tokio::test]
async fn valid_authorizations_are_reused_for_the_next_order() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    let (first_url, first) = client.order(&ca, &["reuse.test"]).await;
    client.authorize(&ca, &first_url, &first).await;
    let (_, second) = client.order(&ca, &["reuse.test"]).await;
    assert_eq!(second["status"], "ready");
    assert_eq!(second["authorizations"], first["authorizations"]);
}

#[tokio::test]
async fn deactivating_an_authorization_invalidates_its_order() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    let (order_url, order) = client.order(&ca, &["deact.test"]).await;
    let authz_url = order["authorizations"][0].as_str().unwrap();
    let reply = client
        .post(&ca, authz_url, Some(json!({"status": "deactivated"})))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["status"], "deactivated");
    assert_eq!(
        client.post(&ca, &order_url, None).await.json()["status"],
        "invalid"
    );
    client
        .post(&ca, authz_url, Some(json!({"status": "deactivated"})))
        .await
        .assert_problem("malformed", 400);
    client
        .post(&ca, authz_url, Some(json!({"status": "valid"})))
        .await
        .assert_problem("malformed", 400);
}

#[tokio::test]
async fn other_accounts_cannot_see_orders_or_authorizations() {
    let ca = TestCa::start().await;
    let owner = Client::register(&ca).await;
    let other = Client::register(&ca).await;
    let (order_url, order) = owner.order(&ca, &["mine.test"]).await;
    other
        .post(&ca, &order_url, None)
        .await
        .assert_problem("malformed", 404);
    other
        .post(&ca, order["authorizations"][0].as_str().unwrap(), None)
        .await
        .assert_problem("malformed", 404);
}

#[tokio::test]
async fn orders_list_is_paginated_with_link_next() {
    let ca = TestCa::start_with(Options {
        orders_per_page: 2,
        ..Options::default()
    })
    .await;
    let client = Client::register(&ca).await;
    let mut created = Vec::new();
    for name in ["o1.test", "o2.test", "o3.test"] {
        created.push(client.order(&ca, &[name]).await.0);
    }
    let account = client
        .post(&ca, client.kid.as_ref().unwrap(), None)
        .await
        .json();
    let list_url = account["orders"].as_str().unwrap();
    let first = client.post(&ca, list_url, None).await;
    assert_eq!(first.json()["orders"], json!(created[..2]));
    let next = first
        .links()
        .into_iter()
        .find(|l| l.contains("rel=\"next\""))
        .expect("a next link");
    let next_url = next
        .trim_start_matches('<')
        .split('>')
        .next()
        .unwrap()
        .to_owned();
    let second = client.post(&ca, &next_url, None).await;
    assert_eq!(second.json()["orders"], json!(created[2..]));
    assert!(!second.links().iter().any(|l| l.contains("rel=\"next\"")));

    // RFC 8555 §7.1.2.1: invalid orders are left out.
    let first_order = client.post(&ca, &created[0], None).await.json();
    let authz = first_order["authorizations"][0].as_str().unwrap();
    client
        .post(&ca, authz, Some(json!({"status": "deactivated"})))
        .await;
    let relisted = client.post(&ca, list_url, None).await;
    assert_eq!(relisted.json()["orders"], json!(created[1..]));
    let _ = csr_der;
}

/// A requested notAfter that passes before finalize makes the order invalid, never a 500.
#[tokio::test]
async fn a_passed_not_after_invalidates_the_order_at_finalize() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    let soon = time::OffsetDateTime::now_utc() + std::time::Duration::from_secs(2);
    let reply = client
        .post(
            &ca,
            &url("/new-order"),
            Some(json!({
                "identifiers": [{"type": "dns", "value": "brief.test"}],
                "notAfter": basalt_protocol::objects::format_timestamp(soon),
            })),
        )
        .await;
    reply.assert_status(StatusCode::CREATED);
    let order_url = reply.header("location").unwrap();
    let order = reply.json();
    client.authorize(&ca, &order_url, &order).await;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    client
        .finalize(&ca, &order, &["brief.test"])
        .await
        .assert_problem("malformed", 400);
    assert_eq!(
        client.post(&ca, &order_url, None).await.json()["status"],
        "invalid"
    );
}

#[tokio::test]
async fn a_slow_validation_is_answered_processing_and_polled() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    // The name's DNS never answers, so the validation outlasts the challenge POST's wait.
    ca.dns.records().set_timeout("slow.test", true);
    let (_, order) = client.order(&ca, &["slow.test"]).await;
    let authz_url = order["authorizations"][0].as_str().unwrap();
    let (challenge, reply) = client.answer_http01_unserved(&ca, authz_url).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["status"], "processing");
    assert!(reply.header("retry-after").is_some());
    let challenge = client
        .poll_until(&ca, challenge["url"].as_str().unwrap(), &["invalid"])
        .await;
    assert_eq!(challenge["error"]["type"], "urn:ietf:params:acme:error:dns");
}
