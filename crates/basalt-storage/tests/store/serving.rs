//! basalt's own serving certificate: the latest is the one that expires last.

use basalt_storage::NewServingCertificate;

use crate::support::{DAY, at, on_every_backend};

#[tokio::test]
async fn the_latest_serving_certificate_expires_last() {
    on_every_backend!(|db| {
        let s = &db.store;
        assert_eq!(s.latest_serving_certificate().await.unwrap(), None);
        let new = |not_after: i64, pem: &str| NewServingCertificate {
            chain_pem: pem.into(),
            key_pem: "-----BEGIN PRIVATE KEY-----\nsecret\n-----END PRIVATE KEY-----\n".into(),
            names: vec!["ca.test".into(), "127.0.0.1".into()],
            not_after: at(not_after),
            now: at(0),
        };
        let long = s
            .insert_serving_certificate(&new(90 * DAY, "long"))
            .await
            .unwrap();
        assert_eq!(
            long.names,
            vec!["ca.test".to_owned(), "127.0.0.1".to_owned()]
        );
        assert!(!format!("{long:?}").contains("secret"));
        let short = s
            .insert_serving_certificate(&new(DAY, "short"))
            .await
            .unwrap();
        assert!(short.id > long.id);
        assert_eq!(
            s.latest_serving_certificate().await.unwrap(),
            Some(long.clone())
        );
        let longer = s
            .insert_serving_certificate(&new(91 * DAY, "longer"))
            .await
            .unwrap();
        assert_eq!(s.latest_serving_certificate().await.unwrap(), Some(longer));
    });
}
