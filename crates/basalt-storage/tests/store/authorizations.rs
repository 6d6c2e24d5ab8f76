//! Authorization deactivation (RFC 8555 §7.5.2) and its cascade to linked orders.

use basalt_protocol::{AuthorizationStatus, OrderStatus};
use basalt_storage::Error;

use crate::support::{account, on_every_backend, order_with_new_authorizations, ready_order};

#[tokio::test]
async fn authorization_deactivation_invalidates_linked_orders() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let order = order_with_new_authorizations(s, a.id, &["a.test", "b.test"]).await;
        let ready = ready_order(s, a.id).await;

        let deactivated = s
            .deactivate_authorization(order.authorization_ids[0])
            .await
            .unwrap();
        assert_eq!(deactivated.status, AuthorizationStatus::Deactivated);
        let order = s.order(order.id).await.unwrap().unwrap();
        assert_eq!(order.status, OrderStatus::Invalid);
        assert!(order.error.is_some());
        // The other authorization of that order is untouched.
        assert_eq!(
            s.authorization(order.authorization_ids[1])
                .await
                .unwrap()
                .unwrap()
                .status,
            AuthorizationStatus::Pending
        );

        // Valid authorizations can be deactivated too; their ready orders become invalid.
        s.deactivate_authorization(ready.authorization_ids[0])
            .await
            .unwrap();
        assert_eq!(
            s.order(ready.id).await.unwrap().unwrap().status,
            OrderStatus::Invalid
        );

        let again = s.deactivate_authorization(order.authorization_ids[0]).await;
        assert!(
            matches!(&again, Err(Error::WrongState { current, .. }) if current == "deactivated"),
            "{again:?}"
        );
        assert_eq!(s.deactivate_authorization(9999).await, Err(Error::NotFound));
    });
}
