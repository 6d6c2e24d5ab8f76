//! Revocation lists and the plain-HTTP PKI listener (issue 14): the CRL Distribution Point
//! and AIA caIssuers URLs of an area's leaves, the CRL the background job remakes after a
//! revocation, and what the listener serves (and refuses).

use std::time::Duration;

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension};
use x509_parser::num_bigint::BigUint;
use x509_parser::oid_registry::OID_PKIX_ACCESS_DESCRIPTOR_CA_ISSUERS;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::revocation_list::CertificateRevocationList;

use basalt_server::DirectoryConfig;
use basalt_signer::{Issuer, pem_to_der};

use crate::support::{Client, Options, TestCa, url};

const BASE: &str = "http://ca.test:8080";

fn with_pki_base_url(area: DirectoryConfig) -> DirectoryConfig {
    DirectoryConfig {
        pki_base_url: Some(BASE.into()),
        ..area
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The URIs of the leaf's CRL Distribution Points and of its AIA caIssuers entries.
fn pki_uris(leaf_der: &[u8]) -> (Vec<String>, Vec<String>) {
    let (_, leaf) = X509Certificate::from_der(leaf_der).unwrap();
    let mut crl = Vec::new();
    let mut ca_issuers = Vec::new();
    for extension in leaf.extensions() {
        match extension.parsed_extension() {
            ParsedExtension::CRLDistributionPoints(points) => {
                for point in points.iter() {
                    crl.extend(full_name_uris(point.distribution_point.as_ref()));
                }
            }
            ParsedExtension::AuthorityInfoAccess(aia) => {
                for access in &aia.accessdescs {
                    if access.access_method == OID_PKIX_ACCESS_DESCRIPTOR_CA_ISSUERS
                        && let GeneralName::URI(uri) = access.access_location
                    {
                        ca_issuers.push(uri.to_owned());
                    }
                }
            }
            _ => {}
        }
    }
    (crl, ca_issuers)
}

/// The URIs of a distribution point's fullName.
fn full_name_uris(name: Option<&DistributionPointName<'_>>) -> Vec<String> {
    match name {
        Some(DistributionPointName::FullName(names)) => names
            .iter()
            .filter_map(|n| match n {
                GeneralName::URI(uri) => Some((*uri).to_owned()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// What a test reads of a CRL: its number and its entries as (serial hex, reason code).
struct CrlSummary {
    number: BigUint,
    entries: Vec<(String, Option<u8>)>,
    /// The URIs of its IssuingDistributionPoint (RFC 5280 §5.2.5), if it has one.
    distribution_point: Option<Vec<String>>,
}

/// Parses a CRL and checks it is signed by `issuer_der`'s key.
fn summarize(der: &[u8], issuer_der: &[u8]) -> CrlSummary {
    let (rest, crl) = CertificateRevocationList::from_der(der).unwrap();
    assert!(rest.is_empty(), "trailing bytes after the CRL");
    let (_, issuer) = X509Certificate::from_der(issuer_der).unwrap();
    crl.verify_signature(issuer.public_key())
        .expect("the CRL is signed by its intermediate");
    assert_eq!(crl.issuer(), issuer.subject());
    CrlSummary {
        number: crl.crl_number().expect("a CRL number").clone(),
        entries: crl
            .iter_revoked_certificates()
            .map(|r| (hex(r.raw_serial()), r.reason_code().map(|(_, code)| code.0)))
            .collect(),
        distribution_point: crl
            .extensions()
            .iter()
            .find_map(|e| match e.parsed_extension() {
                ParsedExtension::IssuingDistributionPoint(idp) => {
                    Some(full_name_uris(idp.distribution_point.as_ref()))
                }
                _ => None,
            }),
    }
}

/// Polls `GET /crl/<KEYID>.crl` on the PKI listener until `done` accepts the CRL of the
/// intermediate `issuer`; panics after ~10 s.
async fn poll_crl(ca: &TestCa, issuer: &Issuer, done: impl Fn(&CrlSummary) -> bool) -> CrlSummary {
    let path = format!("/crl/{}.crl", issuer.key_id());
    for _ in 0..100 {
        let reply = ca.pki_get(&path).await;
        if reply.status == StatusCode::OK {
            assert_eq!(
                reply.header("content-type").as_deref(),
                Some("application/pkix-crl")
            );
            let summary = summarize(&reply.body, issuer.certificate_der());
            if done(&summary) {
                return summary;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{path} never became what the test waited for");
}

#[tokio::test]
async fn leaves_link_the_crl_which_lists_them_after_revocation() {
    let ca = TestCa::start_with(Options {
        area: with_pki_base_url,
        ..Options::default()
    })
    .await;
    let key_id = ca.default_area.issuer.key_id();
    let client = Client::register(&ca).await;
    let (_, _, chain) = client.issue(&ca, &["crl.test"]).await;
    let leaf = pem_to_der(&chain).unwrap().remove(0);
    let (crl_uris, ca_issuers) = pki_uris(&leaf);
    assert_eq!(crl_uris, [format!("{BASE}/crl/{key_id}.crl")]);
    assert_eq!(ca_issuers, [format!("{BASE}/intermediates/{key_id}.crt")]);
    let serial = {
        let (_, parsed) = X509Certificate::from_der(&leaf).unwrap();
        hex(parsed.raw_serial())
    };

    // The job makes a first CRL on its own (the intermediate had none).
    let issuer = ca.default_area.issuer.clone();
    let before = poll_crl(&ca, &issuer, |_| true).await;
    assert!(
        before.entries.iter().all(|(s, _)| *s != serial),
        "not revoked yet"
    );

    let reply = client
        .post(
            &ca,
            &url("/revoke-cert"),
            Some(json!({"certificate": URL_SAFE_NO_PAD.encode(&leaf), "reason": 4})),
        )
        .await;
    reply.assert_status(StatusCode::OK);

    let after = poll_crl(&ca, &issuer, |crl| {
        crl.entries.iter().any(|(s, _)| *s == serial)
    })
    .await;
    // RFC 5280 §5.3.1: the reason code, superseded (4).
    assert!(
        after.entries.contains(&(serial.clone(), Some(4))),
        "{:?}",
        after.entries
    );
    // RFC 5280 §5.2.3: the CRL number only grows.
    assert!(after.number > before.number);
    // RFC 5280 §5.2.5: the CRL names the URL it is published at, as the leaf's CDP does.
    assert_eq!(after.distribution_point, Some(crl_uris));
}

#[tokio::test]
async fn an_area_without_a_base_url_links_nothing() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    let (_, _, chain) = client.issue(&ca, &["plain.test"]).await;
    let leaf = pem_to_der(&chain).unwrap().remove(0);
    assert_eq!(pki_uris(&leaf), (vec![], vec![]));
}

#[tokio::test]
async fn the_pki_listener_serves_the_root_and_intermediates_and_refuses_other_names() {
    let ca = TestCa::start().await;
    let issuer = &ca.default_area.issuer;
    let key_id = issuer.key_id();
    let root_der = pem_to_der(&ca.root_pem()).unwrap().remove(0);

    let reply = ca.pki_get("/root.crt").await;
    reply.assert_status(StatusCode::OK);
    assert_eq!(
        reply.header("content-type").as_deref(),
        Some("application/pkix-cert")
    );
    assert_eq!(reply.body, root_der);

    let reply = ca.pki_get("/root.pem").await;
    reply.assert_status(StatusCode::OK);
    assert_eq!(
        reply.header("content-type").as_deref(),
        Some("application/x-pem-file")
    );
    assert_eq!(
        pem_to_der(std::str::from_utf8(&reply.body).unwrap()).unwrap(),
        [root_der]
    );

    let reply = ca.pki_get(&format!("/intermediates/{key_id}.crt")).await;
    reply.assert_status(StatusCode::OK);
    assert_eq!(
        reply.header("content-type").as_deref(),
        Some("application/pkix-cert")
    );
    assert_eq!(reply.body, issuer.certificate_der());

    let reply = ca.pki_get(&format!("/intermediates/{key_id}.pem")).await;
    reply.assert_status(StatusCode::OK);
    assert_eq!(
        reply.header("content-type").as_deref(),
        Some("application/x-pem-file")
    );
    assert_eq!(
        pem_to_der(std::str::from_utf8(&reply.body).unwrap()).unwrap(),
        [issuer.certificate_der().to_vec()]
    );

    // The CRL exists once the job has run; then only odd names remain unanswered.
    poll_crl(&ca, issuer, |_| true).await;
    let unknown = "ab".repeat(20);
    for path in [
        format!("/crl/{unknown}.crl"),
        format!("/intermediates/{unknown}.crt"),
        format!("/intermediates/{unknown}.pem"),
        "/crl/../x.crl".to_owned(),
        "/crl/..%2Fx.crl".to_owned(),
        format!("/crl/..%2F{key_id}.crl"),
        format!("/crl/{}.crl", key_id.to_uppercase()),
        "/crl/ABC.crl".to_owned(),
        "/crl/x.txt".to_owned(),
        format!("/crl/{key_id}.txt"),
        format!("/crl/{key_id}.crt"),
        format!("/crl/{key_id}"),
        "/crl/.crl".to_owned(),
        format!("/intermediates/{key_id}.crl"),
        format!("/intermediates/{key_id}.der"),
        "/root.der".to_owned(),
        "/acme/default/directory".to_owned(),
    ] {
        let reply = ca.pki_get(&path).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn a_retiring_intermediate_keeps_listing_its_revoked_certificates() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    let old = ca.default_area.issuer.clone();
    let (_, _, old_chain) = client.issue(&ca, &["old.test"]).await;
    let old_leaf = pem_to_der(&old_chain).unwrap().remove(0);

    let (new_issuer, _, _) = ca.rotate_default().await;
    let (_, _, new_chain) = client.issue(&ca, &["new.test"]).await;
    let new_leaf = pem_to_der(&new_chain).unwrap().remove(0);

    for leaf in [&old_leaf, &new_leaf] {
        client
            .post(
                &ca,
                &url("/revoke-cert"),
                Some(json!({"certificate": URL_SAFE_NO_PAD.encode(leaf), "reason": 5})),
            )
            .await
            .assert_status(StatusCode::OK);
    }
    let serial = |der: &[u8]| hex(X509Certificate::from_der(der).unwrap().1.raw_serial());
    let (old_serial, new_serial) = (serial(&old_leaf), serial(&new_leaf));
    // Each certificate is on the CRL of the intermediate that signed it, and only there.
    let old_crl = poll_crl(&ca, &old, |crl| {
        crl.entries.iter().any(|(s, _)| *s == old_serial)
    })
    .await;
    assert_eq!(old_crl.entries, [(old_serial.clone(), Some(5))]);
    // No base URL: no IssuingDistributionPoint.
    assert_eq!(old_crl.distribution_point, None);
    let new_crl = poll_crl(&ca, &new_issuer, |crl| {
        crl.entries.iter().any(|(s, _)| *s == new_serial)
    })
    .await;
    assert_eq!(new_crl.entries, [(new_serial, Some(5))]);
}

#[tokio::test]
async fn an_area_without_crls_links_no_distribution_point_and_has_no_crl() {
    let ca = TestCa::start_with(Options {
        area: |area| DirectoryConfig {
            crl: None,
            ..with_pki_base_url(area)
        },
        ..Options::default()
    })
    .await;
    let key_id = ca.default_area.issuer.key_id();
    let client = Client::register(&ca).await;
    let (_, _, chain) = client.issue(&ca, &["passive.test"]).await;
    let leaf = pem_to_der(&chain).unwrap().remove(0);
    // Passive revocation: the caIssuers URL stays, the CRL Distribution Point goes.
    assert_eq!(
        pki_uris(&leaf),
        (vec![], vec![format!("{BASE}/intermediates/{key_id}.crt")])
    );
    client
        .post(
            &ca,
            &url("/revoke-cert"),
            Some(json!({"certificate": URL_SAFE_NO_PAD.encode(&leaf)})),
        )
        .await
        .assert_status(StatusCode::OK);
    // Give the job a pass (it runs at once on a revocation, and every 2 s).
    tokio::time::sleep(Duration::from_millis(2500)).await;
    ca.pki_get(&format!("/crl/{key_id}.crl"))
        .await
        .assert_status(StatusCode::NOT_FOUND);
}
