//! ACME Renewal Information (RFC 9773): the renewalInfo lookup, renew-early selections,
//! and claiming a certificate for a replacement order, raced by two replicas.

use basalt_protocol::OrderStatus;
use basalt_storage::{
    ALREADY_REPLACED, Error, NewOrder, NewReplacement, RenewEarlyOutcome, RenewEarlyScope, Store,
};

use crate::support::{
    DAY, account, at, create_plan, intermediate, issue, new_order, on_every_backend,
};

/// A new order of `account_id` for a.test that replaces certificate `certificate_id`.
fn replacing(account_id: i64, certificate_id: i64, cert_id: &str) -> NewOrder {
    NewOrder {
        replaces: Some(NewReplacement {
            certificate_id,
            cert_id: cert_id.into(),
        }),
        ..new_order(account_id, &["a.test"], vec![create_plan("a.test", false)])
    }
}

fn already_replaced(result: Result<impl std::fmt::Debug, Error>) {
    match result {
        Err(Error::Duplicate { what, .. }) => assert_eq!(what, ALREADY_REPLACED),
        other => panic!("expected alreadyReplaced, got {other:?}"),
    }
}

/// The notice each of these serials points at.
async fn notices(store: &Store, serials: &[&str]) -> Vec<Option<i64>> {
    let mut out = Vec::new();
    for serial in serials {
        out.push(
            store
                .renewal_certificate(serial)
                .await
                .unwrap()
                .unwrap()
                .renewal_notice_id,
        );
    }
    out
}

#[tokio::test]
async fn the_renewal_lookup_reads_one_certificate_with_its_intermediates_key_id() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let i = s
            .adopt_intermediate(&intermediate("acme", "aa11"), at(0))
            .await
            .unwrap()[0]
            .id;
        issue(s, a.id, "acme", "0a01", &["x.test"], at(90 * DAY), Some(i)).await;
        issue(s, a.id, "acme", "0a02", &["y.test"], at(90 * DAY), None).await;
        let c = s.renewal_certificate("0a01").await.unwrap().unwrap();
        assert_eq!(c.intermediate_id, Some(i));
        assert_eq!(c.intermediate_key_id.as_deref(), Some("aa11"));
        assert_eq!(c.account_id, a.id);
        assert_eq!(c.directory, "acme");
        assert_eq!(c.not_after, at(90 * DAY));
        assert_eq!(c.names[0].value(), "x.test");
        assert_eq!(c.renewal_notice_id, None);
        let legacy = s.renewal_certificate("0a02").await.unwrap().unwrap();
        assert_eq!(legacy.intermediate_key_id, None);
        assert!(s.renewal_certificate("0a03").await.unwrap().is_none());
    });
}

#[tokio::test]
async fn renew_early_marks_only_unexpired_unrevoked_certificates_in_its_selection() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let i1 = s
            .adopt_intermediate(&intermediate("acme", "aa11"), at(0))
            .await
            .unwrap()[0]
            .id;
        let i2 = s
            .add_area(&intermediate("other", "bb22"), at(0))
            .await
            .unwrap()
            .id;
        let later = at(90 * DAY);
        issue(s, a.id, "acme", "01", &["example.test"], later, Some(i1)).await;
        issue(
            s,
            a.id,
            "acme",
            "02",
            &["www.example.test"],
            later,
            Some(i1),
        )
        .await;
        issue(s, a.id, "acme", "03", &["*.example.test"], later, Some(i1)).await;
        issue(s, a.id, "acme", "04", &["badexample.test"], later, Some(i1)).await;
        issue(
            s,
            a.id,
            "acme",
            "05",
            &["www.example.test"],
            at(50),
            Some(i1),
        )
        .await;
        issue(
            s,
            a.id,
            "acme",
            "06",
            &["www.example.test"],
            later,
            Some(i1),
        )
        .await;
        s.revoke_certificate("06", 1, at(200)).await.unwrap();
        issue(s, a.id, "other", "07", &["zy.test"], later, Some(i2)).await;
        let all = ["01", "02", "03", "04", "05", "06", "07"];
        let now = at(1000);

        // Nothing matches: nothing is stored.
        assert_eq!(
            s.renew_early(
                &RenewEarlyScope::NameSuffix("nowhere.test".into()),
                "n",
                now
            )
            .await
            .unwrap(),
            RenewEarlyOutcome::NoneMatched
        );
        assert_eq!(
            s.renew_early(&RenewEarlyScope::Serial("05".into()), "expired", now)
                .await
                .unwrap(),
            RenewEarlyOutcome::NoneMatched
        );
        assert_eq!(notices(s, &all).await, vec![None; 7]);

        let RenewEarlyOutcome::Marked(by_name) = s
            .renew_early(
                &RenewEarlyScope::NameSuffix("example.test".into()),
                "incident 1",
                now,
            )
            .await
            .unwrap()
        else {
            panic!("a suffix selection")
        };
        assert_eq!(by_name.certificates, 3);
        assert_eq!(by_name.note, "incident 1");
        assert_eq!(by_name.scope, "names ending in example.test");
        let n = Some(by_name.id);
        assert_eq!(
            notices(s, &all).await,
            vec![n, n, n, None, None, None, None]
        );
        assert_eq!(
            s.renewal_notice(by_name.id).await.unwrap().unwrap(),
            by_name
        );

        // A name that is only a suffix of a label does not match.
        let RenewEarlyOutcome::Marked(zy) = s
            .renew_early(&RenewEarlyScope::NameSuffix("zy.test".into()), "u", now)
            .await
            .unwrap()
        else {
            panic!("zy.test")
        };
        assert_eq!(zy.certificates, 1);
        assert_eq!(
            s.renew_early(&RenewEarlyScope::NameSuffix("y.test".into()), "u", now)
                .await
                .unwrap(),
            RenewEarlyOutcome::NoneMatched
        );

        // By intermediate: a later notice replaces an earlier one.
        let RenewEarlyOutcome::Marked(by_key) = s
            .renew_early(&RenewEarlyScope::Intermediate("aa11".into()), "key", now)
            .await
            .unwrap()
        else {
            panic!("an intermediate selection")
        };
        assert_eq!(by_key.certificates, 4);
        let k = Some(by_key.id);
        let u = Some(zy.id);
        assert_eq!(notices(s, &all).await, vec![k, k, k, k, None, None, u]);

        let RenewEarlyOutcome::Marked(by_area) = s
            .renew_early(&RenewEarlyScope::Area("other".into()), "area", now)
            .await
            .unwrap()
        else {
            panic!("an area selection")
        };
        assert_eq!(by_area.certificates, 1);
        let RenewEarlyOutcome::Marked(by_serial) = s
            .renew_early(&RenewEarlyScope::Serial("02".into()), "one", now)
            .await
            .unwrap()
        else {
            panic!("a serial selection")
        };
        assert_eq!(by_serial.certificates, 1);
        let (ar, se) = (Some(by_area.id), Some(by_serial.id));
        assert_eq!(notices(s, &all).await, vec![k, se, k, k, None, None, ar]);
        // Another replica reads the same.
        let replica = db.second_store().await;
        assert_eq!(
            notices(&replica, &all).await,
            vec![k, se, k, k, None, None, ar]
        );
    });
}

#[tokio::test]
async fn a_replacement_is_recorded_and_holds_the_certificate_while_its_order_lives() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let cert = issue(s, a.id, "acme", "0b01", &["a.test"], at(90 * DAY), None).await;
        let first = s
            .create_order(&replacing(a.id, cert.id, "AA.Cw"))
            .await
            .unwrap();
        assert_eq!(first.replaces.as_deref(), Some("AA.Cw"));
        let read = s.order(first.id).await.unwrap().unwrap();
        assert_eq!(read.replaces.as_deref(), Some("AA.Cw"));
        // A pending replacement holds it; nothing of the refused order is stored.
        let before = s.order_ids_for_account(a.id, None, 100).await.unwrap();
        already_replaced(s.create_order(&replacing(a.id, cert.id, "AA.Cw")).await);
        assert_eq!(
            s.order_ids_for_account(a.id, None, 100).await.unwrap(),
            before
        );
        // Once the first order has expired unfinished, another may replace it.
        let late = NewOrder {
            now: at(8 * DAY),
            expires_at: at(15 * DAY),
            ..replacing(a.id, cert.id, "AA.Cw")
        };
        let second = s.create_order(&late).await.unwrap();
        assert_eq!(second.replaces.as_deref(), Some("AA.Cw"));
        // An invalid replacement frees it too.
        let b = account(s, "thumb-b").await;
        let other = issue(s, b.id, "acme", "0b02", &["a.test"], at(90 * DAY), None).await;
        let third = s
            .create_order(&replacing(b.id, other.id, "AA.Cg"))
            .await
            .unwrap();
        assert_eq!(third.status, OrderStatus::Pending);
        already_replaced(s.create_order(&replacing(b.id, other.id, "AA.Cg")).await);
        s.deactivate_authorization(third.authorization_ids[0])
            .await
            .unwrap();
        assert_eq!(
            s.order(third.id).await.unwrap().unwrap().status,
            OrderStatus::Invalid
        );
        s.create_order(&replacing(b.id, other.id, "AA.Cg"))
            .await
            .unwrap();
        // An unknown certificate is NotFound, and nothing is stored.
        assert_eq!(
            s.create_order(&replacing(b.id, 9999, "AA.Cg")).await,
            Err(Error::NotFound)
        );
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_replacements_of_one_certificate_claim_it_exactly_once() {
    on_every_backend!(|db| {
        let s = &db.store;
        let replica = db.second_store().await;
        let a = account(s, "thumb-a").await;
        for round in 0..5 {
            let serial = format!("0c{round:02}");
            let cert = issue(s, a.id, "acme", &serial, &["a.test"], at(90 * DAY), None).await;
            let tasks: Vec<_> = (0..8)
                .map(|i| {
                    let store = if i % 2 == 0 {
                        s.clone()
                    } else {
                        replica.clone()
                    };
                    let new = replacing(a.id, cert.id, "AA.Cw");
                    tokio::spawn(async move { store.create_order(&new).await })
                })
                .collect();
            let mut won = Vec::new();
            for task in tasks {
                match task.await.unwrap() {
                    Ok(order) => won.push(order.id),
                    // MySQL/PostgreSQL may roll one back as a deadlock victim: Unavailable.
                    Err(Error::Duplicate { what, .. }) => assert_eq!(what, ALREADY_REPLACED),
                    Err(Error::Unavailable(_)) => {}
                    Err(e) => panic!("unexpected {e:?}"),
                }
            }
            assert_eq!(won.len(), 1, "round {round} on {}: {won:?}", db.backend);
        }
        // Exactly one stored order per round replaces something: the losers left nothing.
        let mut replacing_orders = 0;
        for id in s.order_ids_for_account(a.id, None, 1000).await.unwrap() {
            if s.order(id).await.unwrap().unwrap().replaces.is_some() {
                replacing_orders += 1;
            }
        }
        assert_eq!(replacing_orders, 5);
    });
}
