//! CRLs: the compare-and-set on the CRL number, the revocation counter that marks a CRL
//! stale, and the entries a CRL lists.

use std::time::Duration;

use basalt_storage::{IntermediateStatus, RevokeOutcome, RevokedCertificate};

use crate::support::{DAY, account, at, intermediate, issue, on_every_backend};

const LIFETIME: Duration = Duration::from_secs(24 * 3600);

#[tokio::test]
async fn the_crl_number_only_grows_and_a_stale_writer_loses() {
    on_every_backend!(|db| {
        let s = &db.store;
        let prod = s
            .add_area(&intermediate("prod", "k1"), at(0))
            .await
            .unwrap();
        assert_eq!(s.crl("k1").await.unwrap(), None);
        let state = s.crl_candidates().await.unwrap();
        assert_eq!(state.len(), 1);
        assert_eq!(state[0].intermediate_id, prod.id);
        assert_eq!(state[0].crl_number, 0);
        assert!(state[0].needs_crl(at(0), LIFETIME));

        // Two writers both read number 0; the first stores CRL 1, the second loses.
        assert!(
            s.store_crl(prod.id, 0, 0, b"crl-one", at(10), at(10 + DAY))
                .await
                .unwrap()
        );
        assert!(
            !s.store_crl(prod.id, 0, 0, b"crl-two", at(11), at(11 + DAY))
                .await
                .unwrap()
        );
        let stored = s.crl("k1").await.unwrap().unwrap();
        assert_eq!(stored.number, 1);
        assert_eq!(stored.der, b"crl-one");
        assert_eq!(stored.this_update, at(10));
        assert_eq!(stored.next_update, at(10 + DAY));
        assert_eq!(stored.intermediate_id, prod.id);

        // Also through a second replica's store.
        let other = db.second_store().await;
        assert!(
            other
                .store_crl(prod.id, 1, 0, b"crl-three", at(20), at(20 + DAY))
                .await
                .unwrap()
        );
        assert!(
            !s.store_crl(prod.id, 1, 0, b"stale", at(21), at(21 + DAY))
                .await
                .unwrap()
        );
        assert_eq!(s.crl("k1").await.unwrap().unwrap().number, 2);
        assert_eq!(s.crl("k1").await.unwrap().unwrap().der, b"crl-three");
        assert_eq!(s.crl("unknown").await.unwrap(), None);

        // Fresh: not due until less than half its lifetime is left.
        let state = &s.crl_candidates().await.unwrap()[0];
        assert_eq!(state.crl_number, 2);
        assert!(!state.needs_crl(at(20), LIFETIME));
        assert!(!state.needs_crl(at(20 + DAY / 2), LIFETIME));
        assert!(state.needs_crl(at(20 + DAY / 2 + 1), LIFETIME));
    });
}

#[tokio::test]
async fn a_revocation_marks_the_signing_intermediates_crl_stale() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let prod = s
            .add_area(&intermediate("prod", "k1"), at(0))
            .await
            .unwrap();
        let dev = s.add_area(&intermediate("dev", "k2"), at(0)).await.unwrap();
        let c1 = issue(
            s,
            a.id,
            "prod",
            "01",
            &["a.test"],
            at(30 * DAY),
            Some(prod.id),
        )
        .await;
        let c2 = issue(
            s,
            a.id,
            "prod",
            "02",
            &["b.test"],
            at(60 * DAY),
            Some(prod.id),
        )
        .await;
        issue(
            s,
            a.id,
            "dev",
            "03",
            &["c.test"],
            at(60 * DAY),
            Some(dev.id),
        )
        .await;
        assert!(
            s.store_crl(prod.id, 0, 0, b"empty", at(100), at(100 + DAY))
                .await
                .unwrap()
        );

        // The job reads the counter, then the list, then stores with what it read.
        let outcome = s.revoke_certificate("01", 1, at(200)).await.unwrap();
        assert!(matches!(outcome, RevokeOutcome::Revoked(_)), "{outcome:?}");
        let outcome = s.revoke_certificate("01", 4, at(300)).await.unwrap();
        assert!(
            matches!(outcome, RevokeOutcome::AlreadyRevoked(_)),
            "{outcome:?}"
        );
        let prod_state = s
            .crl_candidates()
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.intermediate_id == prod.id)
            .unwrap();
        assert_eq!((prod_state.revocations, prod_state.crl_revocations), (1, 0));
        assert!(prod_state.needs_crl(at(300), LIFETIME));
        let dev_state = s
            .crl_candidates()
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.intermediate_id == dev.id)
            .unwrap();
        assert_eq!(dev_state.revocations, 0);

        let entries = s.revoked_certificates(prod.id, at(300)).await.unwrap();
        assert_eq!(
            entries,
            vec![RevokedCertificate {
                serial: c1.serial.clone(),
                revoked_at: at(200),
                reason: Some(1),
            }]
        );
        assert!(
            s.store_crl(
                prod.id,
                1,
                prod_state.revocations,
                b"one",
                at(300),
                at(300 + DAY)
            )
            .await
            .unwrap()
        );
        let prod_state = s
            .crl_candidates()
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.intermediate_id == prod.id)
            .unwrap();
        assert!(!prod_state.needs_crl(at(300), LIFETIME));

        // A second revocation: stale again, both listed, in revocation order.
        s.revoke_certificate(&c2.serial, 5, at(400)).await.unwrap();
        let state = s.intermediate_by_key_id("k1").await.unwrap().unwrap();
        assert_eq!((state.revocations, state.crl_revocations), (2, 1));
        let serials: Vec<_> = s
            .revoked_certificates(prod.id, at(400))
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.serial)
            .collect();
        assert_eq!(serials, vec![c1.serial.clone(), c2.serial.clone()]);
        // An expired certificate leaves the CRL (RFC 5280 §3.3).
        let serials: Vec<_> = s
            .revoked_certificates(prod.id, at(30 * DAY))
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.serial)
            .collect();
        assert_eq!(serials, vec![c2.serial]);
        assert_eq!(
            s.revoked_certificates(dev.id, at(400)).await.unwrap(),
            vec![]
        );
    });
}

#[tokio::test]
async fn retired_intermediates_sign_no_crl() {
    on_every_backend!(|db| {
        let s = &db.store;
        s.add_area(&intermediate("prod", "k1"), at(0))
            .await
            .unwrap();
        s.rotate_intermediate(&intermediate("prod", "k2"), at(10))
            .await
            .unwrap();
        let statuses: Vec<_> = s
            .crl_candidates()
            .await
            .unwrap()
            .into_iter()
            .map(|c| (c.key_id, c.status))
            .collect();
        assert_eq!(
            statuses,
            vec![
                ("k1".to_owned(), IntermediateStatus::Retiring),
                ("k2".to_owned(), IntermediateStatus::Active),
            ]
        );
        s.retire_intermediates(at(20), Duration::ZERO)
            .await
            .unwrap();
        let keys: Vec<_> = s
            .crl_candidates()
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.key_id)
            .collect();
        assert_eq!(keys, vec!["k2".to_owned()]);
    });
}
