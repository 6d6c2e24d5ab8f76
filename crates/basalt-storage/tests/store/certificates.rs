//! Finalization (RFC 8555 §7.4) and certificates: issuing once, refusing orders not ready,
//! revocation (§7.6) and the authorizations that allow it.

use basalt_protocol::{Identifier, OrderStatus, Problem, ProblemType};
use basalt_storage::{Error, OrderRecord, ReserveOutcome, RevokeOutcome, ValidationResult};

use crate::support::{
    DAY, account, at, certificate, finalize, issuance, on_every_backend,
    order_with_new_authorizations, ready_order, validate,
};

#[tokio::test]
async fn finalize_issues_once() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let order = ready_order(s, a.id).await;
        let (issued, cert) = finalize(s, &order, &certificate("0a1b"), at(100))
            .await
            .unwrap()
            .expect("issued");
        assert_eq!(issued.status, OrderStatus::Valid);
        assert_eq!(issued.certificate_serial.as_deref(), Some("0a1b"));
        assert_eq!(cert.serial, "0a1b");
        assert_eq!(cert.order_id, order.id);
        assert_eq!(cert.account_id, a.id);
        assert_eq!(cert.directory, "acme");
        assert_eq!(cert.der, certificate("0a1b").der);
        assert_eq!(cert.names, vec![Identifier::dns("a.test").unwrap()]);
        assert_eq!(cert.not_after, at(90 * DAY));
        assert_eq!(cert.created_at, at(100));
        assert_eq!(cert.revoked_at, None);
        assert_eq!(s.order(order.id).await.unwrap(), Some(issued.clone()));
        assert_eq!(s.certificate_by_serial("0a1b").await.unwrap(), Some(cert));

        // A valid order reserves nothing.
        let again = s
            .reserve_issuance(&order, &issuance("ffff"), at(200))
            .await
            .unwrap();
        assert_eq!(again, ReserveOutcome::NotReady(issued));
        assert_eq!(s.issuance_by_serial("ffff").await.unwrap(), None);
        let missing = s
            .reserve_issuance(
                &OrderRecord {
                    id: 9999,
                    ..order.clone()
                },
                &issuance("x"),
                at(200),
            )
            .await;
        assert_eq!(missing, Err(Error::NotFound));
    });
}

#[tokio::test]
async fn finalize_refuses_pending_and_expired_orders() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let pending = order_with_new_authorizations(s, a.id, &["p.test"]).await;
        let outcome = s
            .reserve_issuance(&pending, &issuance("01"), at(100))
            .await
            .unwrap();
        assert_eq!(outcome, ReserveOutcome::NotReady(pending.clone()));

        let ready = ready_order(s, a.id).await;
        let outcome = s
            .reserve_issuance(&ready, &issuance("02"), at(7 * DAY))
            .await
            .unwrap();
        assert_eq!(outcome, ReserveOutcome::NotReady(ready.clone()));
        assert_eq!(
            s.order(ready.id).await.unwrap().unwrap().status,
            OrderStatus::Ready
        );
        for serial in ["01", "02"] {
            assert_eq!(s.issuance_by_serial(serial).await.unwrap(), None);
        }
    });
}

#[tokio::test]
async fn a_failed_order_cannot_be_failed_again() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let order = ready_order(s, a.id).await;
        finalize(s, &order, &certificate("0c"), at(100))
            .await
            .unwrap()
            .expect("issued");
        let problem = Problem::new(ProblemType::BadCsr, "no");
        assert!(matches!(
            s.fail_order(order.id, &problem).await,
            Err(Error::WrongState { current, .. }) if current == "valid"
        ));
        let third = ready_order(s, a.id).await;
        s.fail_order(third.id, &problem).await.unwrap();
        let failed = s.order(third.id).await.unwrap().unwrap();
        assert_eq!(failed.status, OrderStatus::Invalid);
        assert_eq!(failed.error, Some(problem.clone()));
        assert_eq!(s.fail_order(9999, &problem).await, Err(Error::NotFound));
    });
}

#[tokio::test]
async fn revocation_happens_once() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let order = ready_order(s, a.id).await;
        finalize(s, &order, &certificate("0a"), at(100))
            .await
            .unwrap()
            .expect("issued");
        let RevokeOutcome::Revoked(revoked) = s.revoke_certificate("0a", 1, at(200)).await.unwrap()
        else {
            panic!("first revocation");
        };
        assert_eq!(revoked.revoked_at, Some(at(200)));
        assert_eq!(revoked.revocation_reason, Some(1));
        let again = s.revoke_certificate("0a", 4, at(300)).await.unwrap();
        assert_eq!(again, RevokeOutcome::AlreadyRevoked(revoked));
        assert_eq!(
            s.revoke_certificate("nope", 0, at(300)).await,
            Err(Error::NotFound)
        );
    });
}

#[tokio::test]
async fn revocation_authority_needs_valid_authorizations_for_every_name() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let b = account(s, "thumb-b").await;
        let order = order_with_new_authorizations(s, a.id, &["a.test", "b.test"]).await;
        validate(s, order.authorization_ids[0], ValidationResult::Valid).await;
        let names = |ns: &[&str]| {
            ns.iter()
                .map(|n| Identifier::dns(n).unwrap())
                .collect::<Vec<_>>()
        };

        assert!(
            s.account_holds_valid_authorizations(a.id, &names(&["a.test"]), at(100))
                .await
                .unwrap()
        );
        assert!(
            s.account_holds_valid_authorizations(a.id, &names(&["*.a.test", "a.test"]), at(100))
                .await
                .unwrap()
        );
        // b.test is only pending.
        assert!(
            !s.account_holds_valid_authorizations(a.id, &names(&["a.test", "b.test"]), at(100))
                .await
                .unwrap()
        );
        assert!(
            !s.account_holds_valid_authorizations(b.id, &names(&["a.test"]), at(100))
                .await
                .unwrap()
        );
        // Expired (valid until 30 days).
        assert!(
            !s.account_holds_valid_authorizations(a.id, &names(&["a.test"]), at(31 * DAY))
                .await
                .unwrap()
        );
        assert!(
            !s.account_holds_valid_authorizations(a.id, &[], at(100))
                .await
                .unwrap()
        );
    });
}
