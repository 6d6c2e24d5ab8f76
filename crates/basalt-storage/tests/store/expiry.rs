//! Expiry clean-up: expired orders and authorizations deleted in batches.

use basalt_protocol::{AuthorizationStatus, OrderStatus};

use crate::support::{
    DAY, account, at, certificate, finalize, on_every_backend, order_with_new_authorizations,
    ready_order,
};

#[tokio::test]
async fn expired_orders_and_authorizations_are_deleted_in_batches() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        // Two abandoned orders (pending authorizations expiring with them at 7 days) and
        // one that issued a certificate (its authorization is valid until 30 days).
        let abandoned = [
            order_with_new_authorizations(s, a.id, &["old-1.test"]).await,
            order_with_new_authorizations(s, a.id, &["old-2.test"]).await,
        ];
        let issued = ready_order(s, a.id).await;
        finalize(s, &issued, &certificate("5e1a"), at(100))
            .await
            .unwrap()
            .expect("issued");
        let kept_authz = issued.authorization_ids[0];

        // Nothing has expired yet: nothing goes.
        assert_eq!(s.delete_expired_orders(at(DAY), 10).await.unwrap(), 0);
        assert_eq!(
            s.delete_expired_authorizations(at(DAY), 10).await.unwrap(),
            0
        );

        // Past 7 days: the abandoned orders go, one batch of one at a time; the valid one stays.
        let cutoff = at(7 * DAY + 1);
        assert_eq!(s.delete_expired_orders(cutoff, 1).await.unwrap(), 1);
        assert_eq!(s.delete_expired_orders(cutoff, 1).await.unwrap(), 1);
        assert_eq!(s.delete_expired_orders(cutoff, 1).await.unwrap(), 0);
        for order in &abandoned {
            assert_eq!(s.order(order.id).await.unwrap(), None);
        }
        assert_eq!(
            s.order(issued.id).await.unwrap().unwrap().status,
            OrderStatus::Valid
        );

        // Their pending authorizations and challenges go too; the valid one stays linked.
        assert_eq!(
            s.delete_expired_authorizations(cutoff, 10).await.unwrap(),
            2
        );
        for order in &abandoned {
            let authz = order.authorization_ids[0];
            assert_eq!(s.authorization(authz).await.unwrap(), None);
        }
        let authorization = s.authorization(kept_authz).await.unwrap().unwrap();
        assert_eq!(authorization.status, AuthorizationStatus::Valid);
        let challenge_id = authorization.challenges[0].id;
        assert_eq!(
            s.order(issued.id).await.unwrap().unwrap().authorization_ids,
            vec![kept_authz]
        );

        // Past 30 days the valid authorization goes as well; the order and its certificate,
        // the record of the issuance, stay.
        let later = at(30 * DAY + 1);
        assert_eq!(s.delete_expired_orders(later, 10).await.unwrap(), 0);
        assert_eq!(s.delete_expired_authorizations(later, 10).await.unwrap(), 1);
        assert_eq!(s.authorization(kept_authz).await.unwrap(), None);
        assert_eq!(s.challenge(challenge_id).await.unwrap(), None);
        let order = s.order(issued.id).await.unwrap().unwrap();
        assert_eq!(order.status, OrderStatus::Valid);
        assert!(order.authorization_ids.is_empty());
        assert!(s.certificate_by_serial("5e1a").await.unwrap().is_some());
    });
}
