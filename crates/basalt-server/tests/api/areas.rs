//! Areas (issue 14): each ACME directory's name policy, challenge and key types, its
//! intermediate's own name constraints, and replacing the areas while the server runs (a
//! reload: a new area, a rotated intermediate, a narrowed policy).

use axum::http::StatusCode;
use serde_json::{Value, json};

use basalt_protocol::{ChallengeType, IdentifierType};
use basalt_server::{AreaSet, DirectoryConfig, NamePolicy, NameRule};
use basalt_signer::{KeyType, NameConstraints, pem_to_der};

use crate::support::{Client, Options, Reply, TestCa, last_segment};

/// The signer crate's committed RSA-2048 test key (ring cannot generate RSA keys).
const RSA2048_PEM: &str = include_str!("../../../basalt-signer/tests/data/rsa2048.key.pem");

fn rules(entries: &[&str]) -> Vec<NameRule> {
    entries
        .iter()
        .map(|e| NameRule::parse(e).unwrap())
        .collect()
}

/// `.prod.test` only, without `db.prod.test` and below it, no wildcards, no single-label
/// names, IP addresses in 10.0.0.0/8 only.
fn prod_policy(area: DirectoryConfig) -> DirectoryConfig {
    DirectoryConfig {
        names: NamePolicy {
            allow: rules(&[".prod.test"]),
            deny: rules(&["db.prod.test", ".db.prod.test"]),
            wildcards: false,
            single_label: false,
            ip_ranges: vec!["10.0.0.0/8".parse().unwrap()],
            ..NamePolicy::default()
        },
        ..area
    }
}

/// Asserts `rejectedIdentifier` with exactly one subproblem per `(type, value, rule)`, in
/// any order, each naming the area and containing the rule.
#[track_caller]
fn assert_rejected(reply: &Reply, area: &str, cases: &[(&str, &str, &str)]) -> Value {
    let problem = reply.assert_problem("rejectedIdentifier", 400);
    let subproblems = problem["subproblems"]
        .as_array()
        .unwrap_or_else(|| panic!("subproblems: {problem}"));
    assert_eq!(subproblems.len(), cases.len(), "{problem:#}");
    for (kind, value, rule) in cases {
        let sub = subproblems
            .iter()
            .find(|s| s["identifier"] == json!({"type": kind, "value": value}))
            .unwrap_or_else(|| panic!("no subproblem for {value}: {problem:#}"));
        assert_eq!(
            sub["type"], "urn:ietf:params:acme:error:rejectedIdentifier",
            "{sub}"
        );
        let detail = sub["detail"].as_str().unwrap();
        assert!(
            detail.contains(&format!("area {area}")),
            "{value}: the detail names the area: {detail}"
        );
        assert!(
            detail.contains(rule),
            "{value}: the detail names {rule}: {detail}"
        );
    }
    problem
}

/// The status of an order, read through the API.
async fn order_status(ca: &TestCa, client: &Client, order_url: &str) -> Value {
    client.post(ca, order_url, None).await.json()["status"].clone()
}

#[tokio::test]
async fn name_policy_refuses_each_identifier_naming_its_rule_and_stores_nothing() {
    let ca = TestCa::start_with(Options {
        area: prod_policy,
        ..Options::default()
    })
    .await;
    let client = Client::register(&ca).await;
    let reply = client
        .new_order_at(
            &ca,
            "default",
            &[
                ("dns", "web.prod.test"),
                ("dns", "other.test"),
                ("dns", "prod.test"),
                ("dns", "db.prod.test"),
                ("dns", "x.db.prod.test"),
                ("dns", "*.prod.test"),
                ("dns", "db"),
                ("ip", "192.168.1.1"),
                ("ip", "10.1.2.3"),
            ],
        )
        .await;
    assert_rejected(
        &reply,
        "default",
        &[
            ("dns", "other.test", "names.allow"),
            // `.prod.test` is strictly below prod.test.
            ("dns", "prod.test", "names.allow"),
            ("dns", "db.prod.test", "names.deny"),
            ("dns", "x.db.prod.test", "names.deny"),
            ("dns", "*.prod.test", "names.wildcards"),
            ("dns", "db", "names.single_label"),
            ("ip", "192.168.1.1", "names.ip_ranges"),
        ],
    );
    assert_eq!(client.stored_orders(&ca).await, 0, "nothing is stored");
    assert!(ca.store.order(1).await.unwrap().is_none());

    // One refused identifier is enough to refuse the order.
    let reply = client
        .new_order_at(
            &ca,
            "default",
            &[("dns", "web.prod.test"), ("dns", "db.prod.test")],
        )
        .await;
    assert_rejected(&reply, "default", &[("dns", "db.prod.test", "names.deny")]);
    assert_eq!(client.stored_orders(&ca).await, 0);

    let reply = client
        .new_order_at(
            &ca,
            "default",
            &[("dns", "web.prod.test"), ("ip", "10.1.2.3")],
        )
        .await;
    reply.assert_status(StatusCode::CREATED);
    assert_eq!(client.stored_orders(&ca).await, 1);
}

#[tokio::test]
async fn identifier_types_refuse_ip_identifiers() {
    let ca = TestCa::start_with(Options {
        area: |area| DirectoryConfig {
            names: NamePolicy {
                identifier_types: vec![IdentifierType::Dns],
                ..NamePolicy::default()
            },
            ..area
        },
        ..Options::default()
    })
    .await;
    let client = Client::register(&ca).await;
    let reply = client
        .new_order_at(&ca, "default", &[("dns", "a.test"), ("ip", "10.0.0.1")])
        .await;
    assert_rejected(
        &reply,
        "default",
        &[("ip", "10.0.0.1", "names.identifier_types")],
    );
    assert_eq!(client.stored_orders(&ca).await, 0);
    client
        .new_order_at(&ca, "default", &[("dns", "a.test")])
        .await
        .assert_status(StatusCode::CREATED);
}

#[tokio::test]
async fn challenge_types_limit_the_offered_challenges_and_refuse_what_none_can_validate() {
    let ca = TestCa::start_with(Options {
        area: |area| DirectoryConfig {
            challenge_types: vec![ChallengeType::Dns01],
            ..area
        },
        ..Options::default()
    })
    .await;
    let client = Client::register(&ca).await;
    let (_, order) = client.order(&ca, &["a.test", "*.b.test"]).await;
    for authz_url in order["authorizations"].as_array().unwrap() {
        let authz = client
            .post(&ca, authz_url.as_str().unwrap(), None)
            .await
            .json();
        let types: Vec<&str> = authz["challenges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["type"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["dns-01"], "{authz}");
    }

    // RFC 8738 §7: an IP address cannot use dns-01.
    let reply = client
        .new_order_at(&ca, "default", &[("dns", "c.test"), ("ip", "10.0.0.1")])
        .await;
    assert_rejected(&reply, "default", &[("ip", "10.0.0.1", "challenge_types")]);
    assert_eq!(client.stored_orders(&ca).await, 1, "only the first order");
}

#[tokio::test]
async fn the_intermediates_own_name_constraints_refuse_names_outside_them() {
    let ca = TestCa::start().await;
    // A hand-made intermediate permitting only prod.test, in an area whose policy allows
    // everything.
    let (issuer, new) = ca.new_intermediate(
        "edge",
        Some(NameConstraints {
            permitted_dns: vec!["prod.test".into()],
            ..NameConstraints::default()
        }),
    );
    let record = ca
        .store
        .add_area(&new, time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    ca.areas
        .replace(AreaSet {
            directories: vec![
                ca.default_area.clone(),
                DirectoryConfig {
                    name: "edge".into(),
                    issuer,
                    intermediate_id: record.id,
                    ..ca.default_area.clone()
                },
            ],
            retiring: vec![],
        })
        .unwrap();
    let client = Client::register_at(&ca, "edge").await;
    let reply = client
        .new_order_at(
            &ca,
            "edge",
            &[("dns", "a.other.test"), ("dns", "a.prod.test")],
        )
        .await;
    assert_rejected(
        &reply,
        "edge",
        &[("dns", "a.other.test", "name constraints")],
    );
    assert_eq!(client.stored_orders(&ca).await, 0);
    client
        .new_order_at(&ca, "edge", &[("dns", "a.prod.test")])
        .await
        .assert_status(StatusCode::CREATED);
    // The default area (an unconstrained intermediate) still certifies other names.
    let other = Client::register(&ca).await;
    other.order(&ca, &["a.other.test"]).await;
}

#[tokio::test]
async fn key_types_refuse_other_csr_keys_at_finalize_and_the_order_stays_ready() {
    let ca = TestCa::start_with(Options {
        area: |area| DirectoryConfig {
            key_types: vec![KeyType::EcdsaP256],
            ..area
        },
        ..Options::default()
    })
    .await;
    let client = Client::register(&ca).await;
    let (order_url, order) = client.order(&ca, &["keys.test"]).await;
    client.authorize(&ca, &order_url, &order).await;
    let rsa = rcgen::KeyPair::from_pem(RSA2048_PEM).unwrap();
    let reply = client
        .finalize_with_key(&ca, &order, &["keys.test"], &rsa)
        .await;
    let problem = reply.assert_problem("badCSR", 400);
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("area default"), "{detail}");
    assert!(detail.contains("key_types"), "{detail}");
    assert!(detail.contains("rsa-2048"), "{detail}");
    assert_eq!(order_status(&ca, &client, &order_url).await, "ready");

    client
        .finalize(&ca, &order, &["keys.test"])
        .await
        .assert_status(StatusCode::OK);
    client.poll_until(&ca, &order_url, &["valid"]).await;
}

#[tokio::test]
async fn finalize_rechecks_the_name_policy_after_a_reload() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    let (order_url, order) = client.order(&ca, &["late.test", "ok.test"]).await;
    client.authorize(&ca, &order_url, &order).await;
    ca.areas
        .replace(AreaSet {
            directories: vec![DirectoryConfig {
                names: NamePolicy {
                    deny: rules(&["late.test"]),
                    ..NamePolicy::default()
                },
                ..ca.default_area.clone()
            }],
            retiring: vec![],
        })
        .unwrap();
    let reply = client
        .finalize(&ca, &order, &["late.test", "ok.test"])
        .await;
    assert_rejected(&reply, "default", &[("dns", "late.test", "names.deny")]);
    let order = client.post(&ca, &order_url, None).await.json();
    assert_eq!(order["status"], "ready", "{order}");
    assert!(order.get("certificate").is_none(), "{order}");
}

#[tokio::test]
async fn a_reload_adds_an_area() {
    let ca = TestCa::start().await;
    ca.get("/acme/lab/directory")
        .await
        .assert_status(StatusCode::NOT_FOUND);
    let (issuer, new) = ca.new_intermediate("lab", None);
    let record = ca
        .store
        .add_area(&new, time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    ca.areas
        .replace(AreaSet {
            directories: vec![
                ca.default_area.clone(),
                DirectoryConfig {
                    name: "lab".into(),
                    issuer,
                    intermediate_id: record.id,
                    ..ca.default_area.clone()
                },
            ],
            retiring: vec![],
        })
        .unwrap();
    let reply = ca.get("/acme/lab/directory").await;
    reply.assert_status(StatusCode::OK);
    assert_eq!(
        reply.json()["newOrder"],
        "https://localhost:8443/acme/lab/new-order"
    );
    ca.get("/acme/default/directory")
        .await
        .assert_status(StatusCode::OK);

    // An invalid set is refused and the areas stay as they were.
    assert!(ca.areas.replace(AreaSet::default()).is_err());
    let twice = AreaSet {
        directories: vec![ca.default_area.clone(), ca.default_area.clone()],
        retiring: vec![],
    };
    let error = ca.areas.replace(twice).unwrap_err();
    assert!(error.contains("default"), "{error}");
    ca.get("/acme/lab/directory")
        .await
        .assert_status(StatusCode::OK);
}

/// The second certificate of a PEM chain (the intermediate that signed the leaf).
fn chain_intermediate(chain: &str) -> Vec<u8> {
    let ders = pem_to_der(chain).unwrap();
    assert_eq!(ders.len(), 2, "leaf and intermediate: {chain}");
    ders[1].clone()
}

#[tokio::test]
async fn a_rotation_signs_new_certificates_with_the_new_intermediate_and_keeps_old_chains() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    let old_issuer = ca.default_area.issuer.clone();
    let old_id = ca.default_area.intermediate_id;
    let (_, old_cert_url, old_chain) = client.issue(&ca, &["before.test"]).await;
    assert_eq!(chain_intermediate(&old_chain), old_issuer.certificate_der());
    // An order made ready before the rotation and finalized after it.
    let (ready_url, ready) = client.order(&ca, &["during.test"]).await;
    client.authorize(&ca, &ready_url, &ready).await;

    let (new_issuer, old_record, new_record) = ca.rotate_default().await;
    assert_eq!(old_record.id, old_id);

    let (_, new_cert_url, new_chain) = client.issue(&ca, &["after.test"]).await;
    assert_eq!(chain_intermediate(&new_chain), new_issuer.certificate_der());
    assert_ne!(new_issuer.key_id(), old_issuer.key_id());
    // A rotation fails no order: the ready one is signed by the new intermediate.
    client
        .finalize(&ca, &ready, &["during.test"])
        .await
        .assert_status(StatusCode::OK);
    let during = client.poll_until(&ca, &ready_url, &["valid"]).await;
    let during_url = during["certificate"].as_str().unwrap();
    let during_chain = String::from_utf8(client.post(&ca, during_url, None).await.body).unwrap();
    assert_eq!(
        chain_intermediate(&during_chain),
        new_issuer.certificate_der()
    );

    // RFC 8555 §7.4.2: the earlier certificate still downloads with its original chain.
    let reply = client.post(&ca, &old_cert_url, None).await;
    reply.assert_status(StatusCode::OK);
    assert_eq!(String::from_utf8(reply.body).unwrap(), old_chain);

    let stored = |url: &str| {
        let serial = last_segment(url).to_owned();
        let store = ca.store.clone();
        async move {
            store
                .certificate_by_serial(&serial)
                .await
                .unwrap()
                .unwrap()
                .intermediate_id
        }
    };
    assert_eq!(stored(&old_cert_url).await, Some(old_id));
    assert_eq!(stored(&new_cert_url).await, Some(new_record.id));
    assert_eq!(stored(during_url).await, Some(new_record.id));
}

#[tokio::test]
async fn the_policy_sees_names_as_normalised_so_case_and_wildcards_cannot_slip_past_deny() {
    let ca = TestCa::start_with(Options {
        area: |area| DirectoryConfig {
            names: NamePolicy {
                wildcards: true,
                ..prod_policy(area.clone()).names
            },
            ..area
        },
        ..Options::default()
    })
    .await;
    let client = Client::register(&ca).await;
    for (value, rule) in [
        ("DB.Prod.Test", "names.deny"),
        ("x.DB.prod.test", "names.deny"),
        // `*.prod.test` would be good for db.prod.test.
        ("*.prod.test", "names.deny"),
        ("*.PROD.test", "names.deny"),
        ("Other.Test", "names.allow"),
    ] {
        let reply = client.new_order_at(&ca, "default", &[("dns", value)]).await;
        let problem = reply.assert_problem("rejectedIdentifier", 400);
        let detail = problem["subproblems"][0]["detail"]
            .as_str()
            .unwrap_or_default();
        assert!(detail.contains(rule), "{value}: {problem}");
    }
    assert_eq!(client.stored_orders(&ca).await, 0);
    client
        .new_order_at(&ca, "default", &[("dns", "*.Web.Prod.Test")])
        .await
        .assert_status(StatusCode::CREATED);
}

#[tokio::test]
async fn an_http01_only_area_refuses_wildcards_but_takes_ip_addresses() {
    let ca = TestCa::start_with(Options {
        area: |area| DirectoryConfig {
            challenge_types: vec![ChallengeType::Http01],
            ..area
        },
        ..Options::default()
    })
    .await;
    let client = Client::register(&ca).await;
    let reply = client
        .new_order_at(&ca, "default", &[("dns", "*.w.test"), ("dns", "w.test")])
        .await;
    assert_rejected(&reply, "default", &[("dns", "*.w.test", "challenge_types")]);
    let reply = client
        .new_order_at(&ca, "default", &[("ip", "10.0.0.1")])
        .await;
    reply.assert_status(StatusCode::CREATED);
    let authz_url = reply.json()["authorizations"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let authz = client.post(&ca, &authz_url, None).await.json();
    let types: Vec<&str> = authz["challenges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["http-01"], "{authz}");
}
