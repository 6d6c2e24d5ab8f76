//! Issuance in three commits (docs/issuance.md): reserve a serial, store what was signed
//! or give the order back, and the recovery pass that abandons reservations nobody
//! completed.

use basalt_protocol::{Identifier, OrderStatus, Problem, ProblemType};
use basalt_storage::{
    Error, IssuanceRecord, IssuanceStatus, NewCertificate, OrderRecord, ReserveOutcome, Store,
};

use crate::support::{
    DAY, account, at, certificate, finalize, issuance, on_every_backend, ready_order,
};

/// Reserves `serial` for `order`, which must be ready.
async fn reserve(s: &Store, order: &OrderRecord, serial: &str, now: i64) -> IssuanceRecord {
    match s
        .reserve_issuance(order, &issuance(serial), at(now))
        .await
        .unwrap()
    {
        ReserveOutcome::Reserved(reserved) => reserved,
        ReserveOutcome::NotReady(order) => panic!("not ready: {order:?}"),
    }
}

async fn status(s: &Store, order: &OrderRecord) -> OrderStatus {
    s.order(order.id).await.unwrap().unwrap().status
}

async fn issuance_status(s: &Store, serial: &str) -> IssuanceStatus {
    s.issuance_by_serial(serial).await.unwrap().unwrap().status
}

#[tokio::test]
async fn a_reservation_records_the_serial_and_completing_it_issues() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let order = ready_order(s, a.id).await;
        let reserved = reserve(s, &order, "0a1b", 100).await;
        assert_eq!(reserved.serial, "0a1b");
        assert_eq!(reserved.order_id, order.id);
        assert_eq!(reserved.account_id, a.id);
        assert_eq!(reserved.directory, "acme");
        assert_eq!(reserved.intermediate_id, 1);
        assert_eq!(reserved.names, vec![Identifier::dns("a.test").unwrap()]);
        assert_eq!(reserved.spki_der, issuance("0a1b").spki_der);
        assert_eq!(reserved.not_before, at(0));
        assert_eq!(reserved.not_after, at(90 * DAY));
        assert_eq!(reserved.status, IssuanceStatus::Pending);
        assert_eq!(reserved.created_at, at(100));
        assert_eq!(reserved.updated_at, at(100));
        assert_eq!(
            s.issuance_by_serial("0a1b").await.unwrap(),
            Some(reserved.clone())
        );
        assert_eq!(status(s, &order).await, OrderStatus::Processing);
        assert_eq!(s.certificate_by_serial("0a1b").await.unwrap(), None);

        // A second reservation of the same order loses and records nothing.
        let second = s
            .reserve_issuance(&order, &issuance("0c0d"), at(101))
            .await
            .unwrap();
        let ReserveOutcome::NotReady(current) = second else {
            panic!("{second:?}");
        };
        assert_eq!(current.status, OrderStatus::Processing);
        assert_eq!(s.issuance_by_serial("0c0d").await.unwrap(), None);

        let (valid, cert) = s
            .complete_issuance(reserved.id, &certificate("0a1b"), at(102))
            .await
            .unwrap();
        assert_eq!(valid.status, OrderStatus::Valid);
        assert_eq!(valid.certificate_serial.as_deref(), Some("0a1b"));
        assert_eq!(s.order(order.id).await.unwrap(), Some(valid));
        assert_eq!(cert.order_id, order.id);
        assert_eq!(s.certificate_by_serial("0a1b").await.unwrap(), Some(cert));
        let issued = s.issuance_by_serial("0a1b").await.unwrap().unwrap();
        assert_eq!(issued.status, IssuanceStatus::Issued);
        assert_eq!(issued.updated_at, at(102));
        assert_eq!(issued.created_at, at(100));

        // Settled once: completing or failing it again changes nothing.
        assert!(matches!(
            s.complete_issuance(reserved.id, &certificate("0a1b"), at(103)).await,
            Err(Error::WrongState { current, .. }) if current == "issued"
        ));
        assert!(matches!(
            s.fail_issuance(reserved.id, at(103)).await,
            Err(Error::WrongState { current, .. }) if current == "issued"
        ));
        assert_eq!(status(s, &order).await, OrderStatus::Valid);
        assert_eq!(
            s.complete_issuance(9999, &certificate("0e"), at(103)).await,
            Err(Error::NotFound)
        );
        assert_eq!(s.fail_issuance(9999, at(103)).await, Err(Error::NotFound));
    });
}

#[tokio::test]
async fn a_serial_is_reserved_once() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let first = ready_order(s, a.id).await;
        let second = ready_order(s, a.id).await;
        reserve(s, &first, "dup", 100).await;
        let duplicate = s.reserve_issuance(&second, &issuance("dup"), at(100)).await;
        assert!(
            matches!(
                duplicate,
                Err(Error::Duplicate {
                    what: "issuance serial",
                    ..
                })
            ),
            "{duplicate:?}"
        );
        // The order's move to processing was rolled back with the insert.
        assert_eq!(s.order(second.id).await.unwrap(), Some(second.clone()));
        // A failed reservation's serial stays taken too: it is never drawn twice.
        let other = ready_order(s, a.id).await;
        let failed = reserve(s, &other, "0f", 100).await;
        s.fail_issuance(failed.id, at(101)).await.unwrap();
        assert!(matches!(
            s.reserve_issuance(&second, &issuance("0f"), at(102)).await,
            Err(Error::Duplicate { .. })
        ));
        reserve(s, &second, "10", 102).await;
    });
}

#[tokio::test]
async fn a_failed_signing_gives_the_order_back() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let order = ready_order(s, a.id).await;
        let reserved = reserve(s, &order, "0a", 100).await;
        s.fail_issuance(reserved.id, at(101)).await.unwrap();
        assert_eq!(s.order(order.id).await.unwrap(), Some(order.clone()));
        let failed = s.issuance_by_serial("0a").await.unwrap().unwrap();
        assert_eq!(failed.status, IssuanceStatus::Failed);
        assert_eq!(failed.updated_at, at(101));
        // Nothing can be stored under a failed reservation.
        assert!(matches!(
            s.complete_issuance(reserved.id, &certificate("0a"), at(102)).await,
            Err(Error::WrongState { current, .. }) if current == "failed"
        ));
        assert_eq!(s.certificate_by_serial("0a").await.unwrap(), None);
        assert_eq!(status(s, &order).await, OrderStatus::Ready);
        // The order is finalized again, under a new serial.
        let (valid, _) = finalize(s, &order, &certificate("0b"), at(103))
            .await
            .unwrap()
            .expect("issued");
        assert_eq!(valid.certificate_serial.as_deref(), Some("0b"));
    });
}

#[tokio::test]
async fn a_completion_that_fails_writes_nothing() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let order = ready_order(s, a.id).await;
        let reserved = reserve(s, &order, "0a", 100).await;
        // Not the reserved serial: refused before anything is stored.
        let wrong = s
            .complete_issuance(reserved.id, &certificate("0b"), at(101))
            .await;
        assert!(matches!(wrong, Err(Error::Internal(_))), "{wrong:?}");
        // Its order failed meanwhile: refused after the issuance moved, which is undone.
        let problem = Problem::new(ProblemType::Malformed, "gone");
        s.fail_order(order.id, &problem).await.unwrap();
        let orphaned = s
            .complete_issuance(reserved.id, &certificate("0a"), at(102))
            .await;
        assert!(
            matches!(&orphaned, Err(Error::WrongState { current, .. }) if current == "invalid"),
            "{orphaned:?}"
        );
        assert_eq!(issuance_status(s, "0a").await, IssuanceStatus::Pending);
        for serial in ["0a", "0b"] {
            assert_eq!(s.certificate_by_serial(serial).await.unwrap(), None);
        }
        assert_eq!(status(s, &order).await, OrderStatus::Invalid);
        // The recovery pass settles it; the invalid order stays invalid.
        let abandoned = s.abandon_stale_issuances(at(200), at(200)).await.unwrap();
        assert_eq!(abandoned.len(), 1);
        assert_eq!(status(s, &order).await, OrderStatus::Invalid);
    });
}

#[tokio::test]
async fn stale_reservations_are_abandoned_and_their_orders_given_back() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let crashed = ready_order(s, a.id).await;
        let recent = ready_order(s, a.id).await;
        let done = ready_order(s, a.id).await;
        let lost = reserve(s, &crashed, "0a", 100).await;
        let young = reserve(s, &recent, "0b", 400).await;
        finalize(s, &done, &certificate("0c"), at(100))
            .await
            .unwrap()
            .expect("issued");

        let abandoned = s.abandon_stale_issuances(at(300), at(500)).await.unwrap();
        assert_eq!(
            abandoned,
            vec![IssuanceRecord {
                status: IssuanceStatus::Abandoned,
                updated_at: at(500),
                ..lost.clone()
            }]
        );
        assert_eq!(status(s, &crashed).await, OrderStatus::Ready);
        assert_eq!(status(s, &recent).await, OrderStatus::Processing);
        assert_eq!(issuance_status(s, "0b").await, IssuanceStatus::Pending);
        assert_eq!(issuance_status(s, "0c").await, IssuanceStatus::Issued);
        assert_eq!(status(s, &done).await, OrderStatus::Valid);
        // A second pass finds nothing more.
        assert_eq!(
            s.abandon_stale_issuances(at(300), at(600)).await.unwrap(),
            vec![]
        );

        // The process that reserved it comes back too late: its certificate is refused.
        assert!(matches!(
            s.complete_issuance(lost.id, &certificate("0a"), at(700)).await,
            Err(Error::WrongState { current, .. }) if current == "abandoned"
        ));
        assert_eq!(s.certificate_by_serial("0a").await.unwrap(), None);
        // The order is finalized again; both serials stay known.
        let (valid, _) = finalize(s, &crashed, &certificate("0d"), at(800))
            .await
            .unwrap()
            .expect("issued");
        assert_eq!(valid.status, OrderStatus::Valid);
        assert_eq!(issuance_status(s, "0a").await, IssuanceStatus::Abandoned);
        assert_eq!(issuance_status(s, "0d").await, IssuanceStatus::Issued);

        // The young one completes normally.
        s.complete_issuance(young.id, &certificate("0b"), at(900))
            .await
            .unwrap();
        assert_eq!(status(s, &recent).await, OrderStatus::Valid);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_completion_and_an_abandonment_racing_settle_once() {
    on_every_backend!(|db| {
        let s = &db.store;
        let replica = db.second_store().await;
        let a = account(s, "thumb-a").await;
        for round in 0..4 {
            let order = ready_order(s, a.id).await;
            let serial = format!("7ace{round}");
            let reserved = reserve(s, &order, &serial, 100).await;
            let new: NewCertificate = certificate(&serial);
            let completing = {
                let s = s.clone();
                tokio::spawn(async move { s.complete_issuance(reserved.id, &new, at(400)).await })
            };
            let abandoning = {
                let replica = replica.clone();
                tokio::spawn(async move { replica.abandon_stale_issuances(at(300), at(400)).await })
            };
            let completed = completing.await.unwrap();
            let abandoned = abandoning.await.unwrap().unwrap();
            match (completed, abandoned.len()) {
                (Ok((order, _)), 0) => {
                    assert_eq!(order.status, OrderStatus::Valid);
                    assert_eq!(issuance_status(s, &serial).await, IssuanceStatus::Issued);
                }
                (Err(Error::WrongState { .. }), 1) => {
                    assert_eq!(status(s, &order).await, OrderStatus::Ready);
                    assert_eq!(s.certificate_by_serial(&serial).await.unwrap(), None);
                }
                other => panic!("round {round}: {other:?}"),
            }
        }
    });
}
