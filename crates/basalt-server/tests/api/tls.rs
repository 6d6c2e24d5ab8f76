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
