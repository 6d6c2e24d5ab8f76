//! Areas and intermediates: adoption at `serve` start, `area add`, rotation, retirement,
//! and the revision every change bumps.

use std::time::Duration;

use basalt_storage::{AREA_EXISTS, Error, INTERMEDIATE_KEY_ID, IntermediateStatus};

use crate::support::{DAY, account, at, intermediate, issue, on_every_backend};

/// How long after a rotation nothing retires, in these tests.
const GRACE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn adoption_is_idempotent_and_backfills_the_areas_certificates() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let old = issue(s, a.id, "acme", "01", &["a.test"], at(90 * DAY), None).await;
        let other = issue(s, a.id, "other", "02", &["a.test"], at(90 * DAY), None).await;
        assert_eq!(old.intermediate_id, None);
        let revision = s.pki_revision().await.unwrap();

        let adopted = s
            .adopt_intermediate(&intermediate("acme", "aa11"), at(200))
            .await
            .unwrap();
        assert_eq!(adopted.len(), 1);
        let first = &adopted[0];
        assert_eq!(first.status, IntermediateStatus::Active);
        assert_eq!(first.area, "acme");
        assert_eq!(first.key_id, "aa11");
        assert_eq!(first.key_ref, "directories/acme/intermediate-key.pem");
        assert_eq!(first.created_at, at(200));
        assert_eq!((first.crl_number, first.revocations), (0, 0));
        assert_eq!(s.pki_revision().await.unwrap(), revision + 1);
        // The area's old certificate now names it; another area's does not.
        let backfilled = s.certificate_by_serial("01").await.unwrap().unwrap();
        assert_eq!(backfilled.intermediate_id, Some(first.id));
        let untouched = s
            .certificate_by_serial(&other.serial)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(untouched.intermediate_id, None);

        // Once adopted, the database decides: another key in the config changes nothing.
        let again = s
            .adopt_intermediate(&intermediate("acme", "bb22"), at(300))
            .await
            .unwrap();
        assert_eq!(again, adopted);
        assert_eq!(s.pki_revision().await.unwrap(), revision + 1);
        assert_eq!(s.intermediate_by_key_id("bb22").await.unwrap(), None);

        // A key id of another area is refused.
        let taken = s
            .adopt_intermediate(&intermediate("other", "aa11"), at(300))
            .await;
        assert!(
            matches!(taken, Err(Error::Duplicate { what, .. }) if what == INTERMEDIATE_KEY_ID),
            "{taken:?}"
        );
        assert_eq!(s.intermediates(Some("other")).await.unwrap(), vec![]);
        assert_eq!(s.pki_revision().await.unwrap(), revision + 1);
    });
}

#[tokio::test]
async fn add_area_refuses_an_existing_area_or_key() {
    on_every_backend!(|db| {
        let s = &db.store;
        let revision = s.pki_revision().await.unwrap();
        let prod = s
            .add_area(&intermediate("prod", "cc33"), at(10))
            .await
            .unwrap();
        assert_eq!(prod.status, IntermediateStatus::Active);
        assert_eq!(s.pki_revision().await.unwrap(), revision + 1);
        assert_eq!(
            s.intermediate_by_key_id("cc33").await.unwrap(),
            Some(prod.clone())
        );

        let second = s.add_area(&intermediate("prod", "dd44"), at(20)).await;
        assert!(
            matches!(&second, Err(Error::Duplicate { what, .. }) if *what == AREA_EXISTS),
            "{second:?}"
        );
        let same_key = s.add_area(&intermediate("staging", "cc33"), at(20)).await;
        assert!(
            matches!(&same_key, Err(Error::Duplicate { what, .. }) if *what == INTERMEDIATE_KEY_ID),
            "{same_key:?}"
        );
        assert_eq!(s.pki_revision().await.unwrap(), revision + 1);
        assert_eq!(s.intermediates(None).await.unwrap(), vec![prod]);
    });
}

#[tokio::test]
async fn rotation_moves_active_to_retiring_and_bumps_the_revision() {
    on_every_backend!(|db| {
        let s = &db.store;
        let first = s
            .add_area(&intermediate("prod", "k1"), at(10))
            .await
            .unwrap();
        s.add_area(&intermediate("dev", "k9"), at(10))
            .await
            .unwrap();
        let revision = s.pki_revision().await.unwrap();

        let (old, new) = s
            .rotate_intermediate(&intermediate("prod", "k2"), at(20))
            .await
            .unwrap();
        assert_eq!(old.id, first.id);
        assert_eq!(old.status, IntermediateStatus::Retiring);
        assert_eq!(new.status, IntermediateStatus::Active);
        assert_eq!(new.key_id, "k2");
        assert_eq!(s.pki_revision().await.unwrap(), revision + 1);
        let prod = s.intermediates(Some("prod")).await.unwrap();
        assert_eq!(prod, vec![old.clone(), new.clone()]);

        // A second rotation retires the second one; still exactly one active.
        let (old2, new2) = s
            .rotate_intermediate(&intermediate("prod", "k3"), at(30))
            .await
            .unwrap();
        assert_eq!(old2.id, new.id);
        let statuses: Vec<_> = s
            .intermediates(Some("prod"))
            .await
            .unwrap()
            .iter()
            .map(|i| (i.key_id.clone(), i.status))
            .collect();
        assert_eq!(
            statuses,
            vec![
                ("k1".to_owned(), IntermediateStatus::Retiring),
                ("k2".to_owned(), IntermediateStatus::Retiring),
                (new2.key_id.clone(), IntermediateStatus::Active),
            ]
        );
        // The other area is untouched; all areas listed by area.
        let all = s.intermediates(None).await.unwrap();
        assert_eq!(all.len(), 4);
        assert_eq!(all[0].area, "dev");

        // An unknown area, or a taken key id, changes nothing.
        let revision = s.pki_revision().await.unwrap();
        assert_eq!(
            s.rotate_intermediate(&intermediate("nope", "k4"), at(40))
                .await,
            Err(Error::NotFound)
        );
        let taken = s
            .rotate_intermediate(&intermediate("prod", "k9"), at(40))
            .await;
        assert!(
            matches!(&taken, Err(Error::Duplicate { what, .. }) if *what == INTERMEDIATE_KEY_ID),
            "{taken:?}"
        );
        assert_eq!(s.pki_revision().await.unwrap(), revision);
        let active: Vec<_> = s
            .intermediates(Some("prod"))
            .await
            .unwrap()
            .into_iter()
            .filter(|i| i.status == IntermediateStatus::Active)
            .collect();
        assert_eq!(active, vec![new2]);
    });
}

#[tokio::test]
async fn retirement_waits_until_every_certificate_has_expired() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let first = s
            .add_area(&intermediate("prod", "k1"), at(10))
            .await
            .unwrap();
        issue(
            s,
            a.id,
            "prod",
            "01",
            &["a.test"],
            at(30 * DAY),
            Some(first.id),
        )
        .await;
        let revoked = issue(
            s,
            a.id,
            "prod",
            "02",
            &["b.test"],
            at(60 * DAY),
            Some(first.id),
        )
        .await;
        s.revoke_certificate(&revoked.serial, 1, at(200))
            .await
            .unwrap();
        // Nothing is retiring yet.
        assert_eq!(
            s.retire_intermediates(at(365 * DAY), GRACE).await.unwrap(),
            vec![]
        );
        let (_, second) = s
            .rotate_intermediate(&intermediate("prod", "k2"), at(300))
            .await
            .unwrap();
        let revision = s.pki_revision().await.unwrap();

        // Within the grace after the rotation nothing retires, even with no certificate left
        // (a replica may not have reloaded yet).
        assert_eq!(
            s.retire_intermediates(at(365 * DAY), Duration::from_secs(400 * DAY as u64))
                .await
                .unwrap(),
            vec![]
        );
        // One certificate still valid, one revoked but unexpired (still on the CRL).
        assert_eq!(
            s.retire_intermediates(at(DAY), GRACE).await.unwrap(),
            vec![]
        );
        assert_eq!(
            s.retire_intermediates(at(30 * DAY), GRACE).await.unwrap(),
            vec![]
        );
        assert_eq!(s.pki_revision().await.unwrap(), revision);

        let retired = s.retire_intermediates(at(60 * DAY), GRACE).await.unwrap();
        assert_eq!(retired.len(), 1);
        assert_eq!(retired[0].id, first.id);
        assert_eq!(retired[0].status, IntermediateStatus::Retired);
        assert_eq!(s.pki_revision().await.unwrap(), revision + 1);
        // The active one never retires; a retired one is not retired twice.
        assert_eq!(
            s.retire_intermediates(at(365 * DAY), GRACE).await.unwrap(),
            vec![]
        );
        assert_eq!(
            s.intermediate_by_key_id("k2")
                .await
                .unwrap()
                .unwrap()
                .status,
            IntermediateStatus::Active
        );
        assert_eq!(second.key_id, "k2");
    });
}
