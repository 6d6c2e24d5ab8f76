//! The serving certificate: issued from the intermediate, stored, and covering the names.

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

/// The serving certificate is renewed after two thirds of its lifetime, once, and the stored
/// one is reused until then.
#[tokio::test]
async fn serving_certificate_is_renewed_after_two_thirds_of_its_lifetime() {
    use std::sync::Arc;
    use std::time::Duration;

    use basalt_server::clock::ManualClock;
    use basalt_server::jobs::serving_certificate::ServingCertificates;

    let ca = crate::support::TestCa::start().await;
    let paths = basalt_signer::PkiPaths::new(ca.data.path());
    let issuer = basalt_signer::Issuer::load(
        &paths.intermediate_cert("default"),
        &paths.intermediate_key("default"),
    )
    .unwrap();
    let clock = ManualClock::new(time::OffsetDateTime::now_utc());
    let week = Duration::from_secs(7 * 24 * 3600);
    let names = ServingCertificates::names_for("127.0.0.1".parse().unwrap(), &[]);
    let serving = ServingCertificates::new(
        ca.store.clone(),
        Arc::new(issuer),
        names,
        week,
        "test".into(),
        Arc::new(clock.clone()),
    );
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
