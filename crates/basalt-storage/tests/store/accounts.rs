//! Accounts (RFC 8555 §7.3): insertion, lookup, contact, deactivation and its
//! cascade, key change.

use basalt_protocol::{AccountStatus, AuthorizationStatus, OrderStatus};
use basalt_storage::{ACCOUNT_KEY, Error, NewAccount};

use crate::support::{
    account, at, create_plan, new_account, new_order, on_every_backend,
    order_with_new_authorizations, ready_order,
};

#[tokio::test]
async fn accounts_insert_conflict_lookup_and_contact() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        assert_eq!(a.status, AccountStatus::Valid);
        assert_eq!(a.contact, vec!["mailto:a@example.test".to_owned()]);
        assert_eq!(a.created_at, at(0));
        assert!(a.terms_of_service_agreed);

        let again = s.insert_account(&new_account("thumb-a")).await;
        assert!(
            matches!(
                again,
                Err(Error::Duplicate {
                    what: ACCOUNT_KEY,
                    ..
                })
            ),
            "{again:?}"
        );
        let other_directory = s
            .insert_account(&NewAccount {
                directory: "other".into(),
                ..new_account("thumb-a")
            })
            .await
            .unwrap();
        assert_ne!(other_directory.id, a.id);

        assert_eq!(s.account(a.id).await.unwrap(), Some(a.clone()));
        assert_eq!(
            s.account_by_thumbprint("acme", "thumb-a").await.unwrap(),
            Some(a.clone())
        );
        assert_eq!(s.account_by_thumbprint("acme", "nope").await.unwrap(), None);
        assert_eq!(s.account(a.id + 100).await.unwrap(), None);

        let contact = vec![
            "mailto:b@example.test".to_owned(),
            "mailto:c@example.test".to_owned(),
        ];
        let updated = s.update_account_contact(a.id, &contact).await.unwrap();
        assert_eq!(updated.contact, contact);
        assert_eq!(s.account(a.id).await.unwrap().unwrap().contact, contact);
        assert_eq!(
            s.update_account_contact(a.id + 100, &contact).await,
            Err(Error::NotFound)
        );
    });
}

#[tokio::test]
async fn account_deactivation_cancels_pending_work() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let other = account(s, "thumb-b").await;
        let ready = ready_order(s, a.id).await;
        let valid_authorization = ready.authorization_ids[0];
        let pending = order_with_new_authorizations(s, a.id, &["b.test"]).await;
        let others_order = order_with_new_authorizations(s, other.id, &["c.test"]).await;

        let deactivated = s.deactivate_account(a.id, at(100)).await.unwrap();
        assert_eq!(deactivated.status, AccountStatus::Deactivated);

        for id in [ready.id, pending.id] {
            let order = s.order(id).await.unwrap().unwrap();
            assert_eq!(order.status, OrderStatus::Invalid);
            assert!(order.error.is_some());
        }
        let pending_authorization = s
            .authorization(pending.authorization_ids[0])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            pending_authorization.status,
            AuthorizationStatus::Deactivated
        );
        let valid = s.authorization(valid_authorization).await.unwrap().unwrap();
        assert_eq!(valid.status, AuthorizationStatus::Valid);
        // Another account's work is untouched.
        assert_eq!(
            s.order(others_order.id).await.unwrap().unwrap().status,
            OrderStatus::Pending
        );
        assert_eq!(
            s.account(other.id).await.unwrap().unwrap().status,
            AccountStatus::Valid
        );

        assert!(matches!(
            s.deactivate_account(a.id, at(200)).await,
            Err(Error::WrongState { current, .. }) if current == "deactivated"
        ));
        // A deactivated account cannot order.
        let late = s
            .create_order(&new_order(
                a.id,
                &["d.test"],
                vec![create_plan("d.test", false)],
            ))
            .await;
        assert!(
            matches!(&late, Err(Error::WrongState { current, .. }) if current == "deactivated"),
            "{late:?}"
        );
        assert!(
            s.order(others_order.id + 1).await.unwrap().is_none(),
            "nothing stored"
        );
        // Both cancelled orders are invalid now, so the orders list leaves them out.
        assert!(
            s.order_ids_for_account(a.id, None, 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            s.deactivate_account(9999, at(200)).await,
            Err(Error::NotFound)
        );
    });
}

#[tokio::test]
async fn account_key_change_is_compare_and_set() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "old").await;
        let b = account(s, "taken").await;

        let changed = s
            .change_account_key(a.id, "old", "new", r#"{"new":1}"#)
            .await
            .unwrap();
        assert_eq!(changed.key_thumbprint, "new");
        assert_eq!(changed.jwk, r#"{"new":1}"#);
        assert_eq!(s.account_by_thumbprint("acme", "old").await.unwrap(), None);
        assert_eq!(
            s.account_by_thumbprint("acme", "new")
                .await
                .unwrap()
                .unwrap()
                .id,
            a.id
        );

        // The old key no longer matches: a concurrent rollover lost.
        assert_eq!(
            s.change_account_key(a.id, "old", "newer", "{}").await,
            Err(Error::NotFound)
        );
        // The new key belongs to another account in this directory.
        let taken = s.change_account_key(a.id, "new", "taken", "{}").await;
        assert!(
            matches!(
                taken,
                Err(Error::Duplicate {
                    what: ACCOUNT_KEY,
                    ..
                })
            ),
            "{taken:?}"
        );
        assert_eq!(
            s.account(a.id).await.unwrap().unwrap().key_thumbprint,
            "new"
        );
        assert_eq!(
            s.account(b.id).await.unwrap().unwrap().key_thumbprint,
            "taken"
        );
    });
}
