//! The serving certificate: issued from the intermediate, stored, and covering the names.

use std::sync::Arc;
use std::time::Duration;

#[tokio::test]
async fn serving_certificate_has_the_loopback_names_and_chains_to_the_root() {
    let ca = crate::support::TestCa::start().await;
    let leaf = ca.resolver.current_leaf().unwrap();
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref()).unwrap();
    let san = cert.subject_alternative_name().unwrap().unwrap();
    let names: Vec<String> = san
        .value
        .general_names
        .iter()
        .map(|n| match n {
            x509_parser::extensions::GeneralName::DNSName(d) => d.to_string(),
            x509_parser::extensions::GeneralName::IPAddress(b) => match b.len() {
                4 => std::net::IpAddr::from(<[u8; 4]>::try_from(*b).unwrap()).to_string(),
                _ => std::net::IpAddr::from(<[u8; 16]>::try_from(*b).unwrap()).to_string(),
            },
            other => format!("{other:?}"),
        })
        .collect();
    for want in ["localhost", "127.0.0.1", "::1"] {
        assert!(
            names.iter().any(|n| n == want),
            "{want} missing from {names:?}"
        );
    }
    let stored = ca
        .store
        .latest_serving_certificate()
        .await
        .unwrap()
        .unwrap();
    assert!(stored.chain_pem.contains(ca.intermediate_pem().trim()));
}

/// The serving certificates of `ca`'s store and intermediate, a week long, on a clock the
/// test moves.
fn week_long_serving_certificates(
    ca: &crate::support::TestCa,
) -> (
    basalt_server::ServingCertificates,
    basalt_server::ManualClock,
) {
    use basalt_server::ServingCertificates;

    let paths = basalt_signer::PkiPaths::new(ca.data.path());
    let issuer = basalt_signer::Issuer::load(
        &paths.intermediate_cert("default"),
        &paths.intermediate_key("default"),
    )
    .unwrap();
    let clock = basalt_server::ManualClock::new(time::OffsetDateTime::now_utc());
    let serving = ServingCertificates::new(
        ca.store.clone(),
        Arc::new(issuer),
        ServingCertificates::names_for("127.0.0.1".parse().unwrap(), &[]),
        Duration::from_secs(7 * 24 * 3600),
        "test".into(),
        Arc::new(clock.clone()),
    );
    (serving, clock)
}

/// The serving certificate is renewed after two thirds of its lifetime, once, and the stored
/// one is reused until then.
#[tokio::test]
async fn serving_certificate_is_renewed_after_two_thirds_of_its_lifetime() {
    let ca = crate::support::TestCa::start().await;
    let (serving, clock) = week_long_serving_certificates(&ca);
    let first = serving.current().await.unwrap();
    clock.advance(Duration::from_secs(4 * 24 * 3600));
    assert_eq!(serving.current().await.unwrap().id, first.id, "not due yet");
    clock.advance(Duration::from_secs(24 * 3600));
    let renewed = serving.current().await.unwrap();
    assert_ne!(renewed.id, first.id, "renewed after two thirds");
    assert!(renewed.not_after > first.not_after);
    assert_eq!(
        serving.current().await.unwrap().id,
        renewed.id,
        "renewed once"
    );
}

/// Every byte of the database files (`basalt.db`, `-wal`, `-shm`), searched for PEM private
/// key labels: the database must never hold a private key in the clear.
fn assert_no_private_key_in_database(data: &std::path::Path) {
    for file in ["basalt.db", "basalt.db-wal", "basalt.db-shm"] {
        let path = data.join(file);
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        assert!(
            !bytes.windows(11).any(|w| w == b"PRIVATE KEY"),
            "{} holds a private key in the clear",
            path.display()
        );
    }
}

/// The serving key is stored sealed, never in the clear: not after the first start, and not
/// after a renewal (the purge of superseded sealed keys is tested in basalt-storage).
#[tokio::test]
async fn no_private_key_is_stored_in_the_database_at_start_or_after_renewal() {
    let ca = crate::support::TestCa::start().await;
    assert_no_private_key_in_database(ca.data.path());
    let first = ca
        .store
        .latest_serving_certificate()
        .await
        .unwrap()
        .unwrap();
    assert!(first.sealed_key.is_some());
    let (serving, clock) = week_long_serving_certificates(&ca);
    clock.advance(Duration::from_secs(5 * 24 * 3600));
    let renewed = serving.current().await.unwrap();
    assert_ne!(renewed.id, first.id, "renewed");
    // The renewed key opens (it is usable by TLS) and the database still holds no key.
    serving.certified_key(&renewed).unwrap();
    assert_no_private_key_in_database(ca.data.path());
    let latest = ca
        .store
        .latest_serving_certificate()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest.id, renewed.id);
}

/// A restart serves the stored certificate again: the sealed key opens from the database and
/// the intermediate key file alone.
#[tokio::test]
async fn a_restart_serves_the_stored_serving_certificate() {
    let ca = crate::support::TestCa::start().await;
    let before = ca.resolver.current_leaf().unwrap();
    let ca = ca.restart().await;
    assert_eq!(ca.resolver.current_leaf().unwrap(), before);
}
