//! Certificate profiles (draft-ietf-acme-profiles): `meta.profiles`, `profile` in newOrder
//! and in the order object, `invalidProfile`, each shipped profile's leaf, and
//! notBefore/notAfter within a profile's bounds.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::{FromDer, X509Certificate};

use basalt_protocol::IdentifierType;
use basalt_protocol::objects::format_timestamp;
use basalt_server::{AreaSet, DirectoryConfig, ProfileSet};
use basalt_signer::pem_to_der;

use crate::support::{Client, Options, Reply, TestCa, last_segment, url};

const HOUR: i64 = 3600;

/// What a leaf says about its profile.
#[derive(Debug, PartialEq, Eq)]
struct Leaf {
    server_auth: bool,
    client_auth: bool,
    key_usage: u16,
    /// notAfter − notBefore + 1 s, in seconds (RFC 5280 §4.1.2.5 counts both ends).
    lifetime: i64,
    not_after: i64,
}

fn leaf(chain_pem: &str) -> Leaf {
    let der = pem_to_der(chain_pem).unwrap().remove(0);
    let (_, cert) = X509Certificate::from_der(&der).unwrap();
    let validity = cert.validity();
    let mut leaf = Leaf {
        server_auth: false,
        client_auth: false,
        key_usage: 0,
        lifetime: validity.not_after.timestamp() - validity.not_before.timestamp() + 1,
        not_after: validity.not_after.timestamp(),
    };
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::ExtendedKeyUsage(eku) => {
                leaf.server_auth = eku.server_auth;
                leaf.client_auth = eku.client_auth;
            }
            ParsedExtension::KeyUsage(ku) => leaf.key_usage = ku.flags,
            _ => {}
        }
    }
    leaf
}

/// newOrder for `name` with extra members (`profile`, `notAfter`, ...).
async fn new_order(ca: &TestCa, client: &Client, name: &str, extra: Value) -> Reply {
    let mut body = json!({"identifiers": [{"type": "dns", "value": name}]});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    client.post(ca, &url("/new-order"), Some(body)).await
}

/// Orders `name` with `extra`, validates, finalizes: (order object when valid, PEM chain).
async fn issue_with(ca: &TestCa, client: &Client, name: &str, extra: Value) -> (Value, String) {
    let reply = new_order(ca, client, name, extra).await;
    reply.assert_status(StatusCode::CREATED);
    let order_url = reply.header("location").unwrap();
    let order = reply.json();
    client.authorize(ca, &order_url, &order).await;
    client
        .finalize(ca, &order, &[name])
        .await
        .assert_status(StatusCode::OK);
    let order = client.poll_until(ca, &order_url, &["valid"]).await;
    let cert_url = order["certificate"].as_str().unwrap();
    let chain = String::from_utf8(client.post(ca, cert_url, None).await.body).unwrap();
    (order, chain)
}

#[tokio::test]
async fn the_directory_lists_the_shipped_profiles() {
    let ca = TestCa::start().await;
    let directory = ca.get("/acme/default/directory").await.json();
    let profiles = directory["meta"]["profiles"].as_object().unwrap();
    let names: Vec<&str> = profiles.keys().map(String::as_str).collect();
    assert_eq!(names, ["default", "mtls-client", "short", "tls-server"]);
    assert!(
        profiles
            .values()
            .all(|d| d.as_str().is_some_and(|d| !d.is_empty()))
    );
    assert!(
        profiles["short"].as_str().unwrap().contains("6h"),
        "{profiles:?}"
    );
}

#[tokio::test]
async fn each_shipped_profile_gives_its_usages_and_lifetime() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    // P-256 CSRs: keyEncipherment never appears (bit 0 = digitalSignature only).
    let cases = [
        ("default", (true, true), 24 * HOUR),
        ("tls-server", (true, false), 24 * HOUR),
        ("mtls-client", (false, true), 24 * HOUR),
        ("short", (true, true), 6 * HOUR),
    ];
    for (profile, (server_auth, client_auth), lifetime) in cases {
        let name = format!("{profile}.profiles.test");
        let (order, chain) = issue_with(&ca, &client, &name, json!({"profile": profile})).await;
        assert_eq!(order["profile"], profile, "echoed once valid");
        let got = leaf(&chain);
        assert_eq!(
            (
                got.server_auth,
                got.client_auth,
                got.key_usage,
                got.lifetime
            ),
            (server_auth, client_auth, 1, lifetime),
            "{profile}"
        );
        let serial = last_segment(order["certificate"].as_str().unwrap());
        let stored = ca
            .store
            .certificate_by_serial(serial)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.profile.as_deref(), Some(profile));
    }
}

#[tokio::test]
async fn an_unknown_profile_is_invalid_profile_and_nothing_is_stored() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    for profile in ["nosuch", "", "Default", &"x".repeat(3000)] {
        let reply = new_order(&ca, &client, "a.test", json!({"profile": profile})).await;
        let problem = reply.assert_problem("invalidProfile", 400);
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.contains("default, mtls-client, short, tls-server"),
            "{detail}"
        );
    }
    // Not a string: malformed, as any mistyped newOrder member.
    for profile in [json!(7), json!(["short"]), json!({"name": "short"})] {
        new_order(&ca, &client, "a.test", json!({"profile": profile}))
            .await
            .assert_problem("malformed", 400);
    }
    assert_eq!(client.stored_orders(&ca).await, 0);
}

#[tokio::test]
async fn without_profile_the_order_gets_the_default_echoed_on_every_fetch() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    let reply = new_order(&ca, &client, "plain.test", json!({})).await;
    reply.assert_status(StatusCode::CREATED);
    assert_eq!(reply.json()["profile"], "default");
    let order_url = reply.header("location").unwrap();
    let fetched = client.post(&ca, &order_url, None).await.json();
    assert_eq!(fetched["profile"], "default");
    let id: i64 = last_segment(&order_url).parse().unwrap();
    let stored = ca.store.order(id).await.unwrap().unwrap();
    assert_eq!(stored.profile.as_deref(), Some("default"));
    // The orders list's entries are URLs; each order still echoes its own profile.
    let reply = new_order(&ca, &client, "other.test", json!({"profile": "short"})).await;
    let order_url = reply.header("location").unwrap();
    assert_eq!(
        client.post(&ca, &order_url, None).await.json()["profile"],
        "short"
    );
}

/// An area whose default profile is `tls-server`, and whose `mtls-client` certifies DNS
/// names only.
fn server_default(area: DirectoryConfig) -> DirectoryConfig {
    let shipped = ProfileSet::shipped(&area.policy);
    let profiles: BTreeMap<_, _> = shipped
        .iter()
        .map(|(name, profile)| {
            let mut profile = profile.clone();
            if name == "mtls-client" {
                profile.identifier_types = vec![IdentifierType::Dns];
            }
            (name.to_owned(), profile)
        })
        .collect();
    DirectoryConfig {
        profiles: ProfileSet::new("tls-server".into(), profiles).unwrap(),
        ..area
    }
}

#[tokio::test]
async fn the_areas_default_profile_applies_when_the_order_names_none() {
    let ca = TestCa::start_with(Options {
        area: server_default,
        ..Options::default()
    })
    .await;
    let client = Client::register(&ca).await;
    let (order, chain) = issue_with(&ca, &client, "srv.test", json!({})).await;
    assert_eq!(order["profile"], "tls-server");
    let got = leaf(&chain);
    assert!(got.server_auth && !got.client_auth, "{got:?}");
}

#[tokio::test]
async fn an_identifier_type_the_profile_does_not_allow_is_rejected_naming_it() {
    let ca = TestCa::start_with(Options {
        area: server_default,
        ..Options::default()
    })
    .await;
    let client = Client::register(&ca).await;
    let reply = client
        .post(
            &ca,
            &url("/new-order"),
            Some(json!({
                "identifiers": [{"type": "dns", "value": "c.test"}, {"type": "ip", "value": "10.1.2.3"}],
                "profile": "mtls-client",
            })),
        )
        .await;
    let problem = reply.assert_problem("rejectedIdentifier", 400);
    let subproblems = problem["subproblems"].as_array().unwrap();
    assert_eq!(subproblems.len(), 1, "{problem:#}");
    assert_eq!(subproblems[0]["identifier"]["value"], "10.1.2.3");
    let detail = subproblems[0]["detail"].as_str().unwrap();
    assert!(detail.contains("profile mtls-client"), "{detail}");
    assert_eq!(client.stored_orders(&ca).await, 0);
    // The same identifiers under a profile that allows IP addresses are accepted.
    client
        .post(
            &ca,
            &url("/new-order"),
            Some(json!({
                "identifiers": [{"type": "dns", "value": "c.test"}, {"type": "ip", "value": "10.1.2.3"}],
                "profile": "tls-server",
            })),
        )
        .await
        .assert_status(StatusCode::CREATED);
}

/// RFC 8555 §7.4 notAfter, bounded by the profile: `short` allows 6 hours, `default` a day.
#[tokio::test]
async fn not_after_is_honoured_within_the_profiles_maximum_only() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let at = |secs: u64| format_timestamp(now + Duration::from_secs(secs));

    let seven_hours = json!({"profile": "short", "notAfter": at(7 * 3600)});
    new_order(&ca, &client, "long.test", seven_hours)
        .await
        .assert_problem("malformed", 400);
    assert_eq!(client.stored_orders(&ca).await, 0);

    let five_hours = now + Duration::from_secs(5 * 3600);
    let (order, chain) = issue_with(
        &ca,
        &client,
        "within.test",
        json!({"profile": "short", "notAfter": format_timestamp(five_hours)}),
    )
    .await;
    assert_eq!(order["notAfter"], format_timestamp(five_hours));
    assert_eq!(leaf(&chain).not_after, five_hours.unix_timestamp());

    // The same notAfter is within the default profile's day.
    let reply = new_order(&ca, &client, "day.test", json!({"notAfter": at(7 * 3600)})).await;
    reply.assert_status(StatusCode::CREATED);
    assert_eq!(reply.json()["profile"], "default");
}

/// The default area with only `keep` of the shipped profiles (as its default), as a reload
/// that removed the others would leave it.
fn only_profile(ca: &TestCa, keep: &str) -> AreaSet {
    let area = ca.default_area.clone();
    let shipped = ProfileSet::shipped(&area.policy);
    let (name, profile) = shipped.get(keep).unwrap();
    let profiles = BTreeMap::from([(name.to_owned(), profile.clone())]);
    AreaSet {
        directories: vec![DirectoryConfig {
            profiles: ProfileSet::new(name.to_owned(), profiles).unwrap(),
            ..area
        }],
        retiring: vec![],
    }
}

/// A reload removed the order's profile: finalize is `invalidProfile` and the order stays
/// ready; once the profile is back, the same order finalizes.
#[tokio::test]
async fn a_profile_removed_by_a_reload_is_invalid_profile_at_finalize() {
    let ca = TestCa::start().await;
    let client = Client::register(&ca).await;
    let reply = new_order(&ca, &client, "gone.test", json!({"profile": "short"})).await;
    reply.assert_status(StatusCode::CREATED);
    let order_url = reply.header("location").unwrap();
    let order = reply.json();
    client.authorize(&ca, &order_url, &order).await;
    ca.areas.replace(only_profile(&ca, "tls-server")).unwrap();
    let directory = ca.get("/acme/default/directory").await.json();
    assert_eq!(directory["meta"]["profiles"].as_object().unwrap().len(), 1);
    let problem = client
        .finalize(&ca, &order, &["gone.test"])
        .await
        .assert_problem("invalidProfile", 400);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("no longer offered"),
        "{problem}"
    );
    let fetched = client.post(&ca, &order_url, None).await.json();
    assert_eq!(fetched["status"], "ready", "{fetched}");
    assert_eq!(fetched["profile"], "short");
    // New orders see the reloaded set.
    new_order(&ca, &client, "gone.test", json!({"profile": "short"}))
        .await
        .assert_problem("invalidProfile", 400);

    ca.areas.replace(only_profile(&ca, "short")).unwrap();
    client
        .finalize(&ca, &order, &["gone.test"])
        .await
        .assert_status(StatusCode::OK);
    let valid = client.poll_until(&ca, &order_url, &["valid"]).await;
    let chain = String::from_utf8(
        client
            .post(&ca, valid["certificate"].as_str().unwrap(), None)
            .await
            .body,
    )
    .unwrap();
    assert_eq!(leaf(&chain).lifetime, 6 * HOUR);
}
