//! Certificate profiles (draft-ietf-acme-profiles): the profile of an order and of its
//! certificate are stored, read back on every fetch, and NULL for rows from before.

use basalt_protocol::OrderStatus;
use basalt_storage::{NewCertificate, NewOrder, ValidationResult};

use crate::support::{
    account, at, certificate, create_plan, finalize, new_order, on_every_backend, validate,
};

fn order_with_profile(account_id: i64, name: &str, profile: Option<&str>) -> NewOrder {
    NewOrder {
        profile: profile.map(str::to_owned),
        ..new_order(account_id, &[name], vec![create_plan(name, false)])
    }
}

#[tokio::test]
async fn order_and_certificate_keep_their_profile() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let order = s
            .create_order(&order_with_profile(a.id, "a.test", Some("mtls-client")))
            .await
            .unwrap();
        assert_eq!(order.profile.as_deref(), Some("mtls-client"));
        let fetched = s.order(order.id).await.unwrap().unwrap();
        assert_eq!(fetched.profile.as_deref(), Some("mtls-client"));
        let listed = db
            .raw_strings(&format!(
                "SELECT profile AS v FROM orders WHERE id = {}",
                order.id
            ))
            .await;
        assert_eq!(listed, vec![Some("mtls-client".to_owned())]);

        validate(s, order.authorization_ids[0], ValidationResult::Valid).await;
        let ready = s.order(order.id).await.unwrap().unwrap();
        assert_eq!(ready.status, OrderStatus::Ready);
        let new = NewCertificate {
            profile: ready.profile.clone(),
            ..certificate("0c0d")
        };
        let (issued, cert) = finalize(s, &ready, &new, at(100))
            .await
            .unwrap()
            .expect("issued");
        assert_eq!(issued.profile.as_deref(), Some("mtls-client"));
        assert_eq!(cert.profile.as_deref(), Some("mtls-client"));
        let stored = s.certificate_by_serial("0c0d").await.unwrap().unwrap();
        assert_eq!(stored.profile.as_deref(), Some("mtls-client"));
        assert_eq!(
            s.order(order.id).await.unwrap().unwrap().profile.as_deref(),
            Some("mtls-client")
        );
    });
}

/// Rows from before profiles hold NULL: they read back as `None` (the area's default).
#[tokio::test]
async fn a_null_profile_reads_as_none() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let order = s
            .create_order(&order_with_profile(a.id, "b.test", None))
            .await
            .unwrap();
        assert_eq!(s.order(order.id).await.unwrap().unwrap().profile, None);
        validate(s, order.authorization_ids[0], ValidationResult::Valid).await;
        let ready = s.order(order.id).await.unwrap().unwrap();
        let new = NewCertificate {
            profile: None,
            ..certificate("0e0f")
        };
        finalize(s, &ready, &new, at(100)).await.unwrap().unwrap();
        let stored = s.certificate_by_serial("0e0f").await.unwrap().unwrap();
        assert_eq!(stored.profile, None);
        let raw = db
            .raw_strings("SELECT profile AS v FROM certificates WHERE serial = '0e0f'")
            .await;
        assert_eq!(raw, vec![None]);
    });
}
