//! The admin listings: certificate filters, per-intermediate counts, account filters.

use std::time::Duration;

use basalt_protocol::AccountStatus;
use basalt_storage::{AccountFilter, CertificateCounts, CertificateFilter, CertificateStatus};

use crate::support::{DAY, account, at, intermediate, issue, on_every_backend};

fn serials(list: &[basalt_storage::CertificateRecord]) -> Vec<&str> {
    list.iter().map(|c| c.serial.as_str()).collect()
}

#[tokio::test]
async fn certificate_filters_combine() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let b = account(s, "thumb-b").await;
        let prod = s
            .add_area(&intermediate("prod", "k1"), at(0))
            .await
            .unwrap();
        issue(
            s,
            a.id,
            "prod",
            "01",
            &["a.test"],
            at(10 * DAY),
            Some(prod.id),
        )
        .await;
        issue(
            s,
            a.id,
            "prod",
            "02",
            &["ba.test", "x.test"],
            at(40 * DAY),
            Some(prod.id),
        )
        .await;
        issue(s, b.id, "dev", "03", &["a.test"], at(40 * DAY), None).await;
        issue(
            s,
            b.id,
            "prod",
            "04",
            &["*.w.test"],
            at(2 * DAY),
            Some(prod.id),
        )
        .await;
        s.revoke_certificate("02", 4, at(500)).await.unwrap();
        let now = at(5 * DAY);
        let list =
            |filter: CertificateFilter| async move { s.list_certificates(&filter).await.unwrap() };
        let all = CertificateFilter::all(now);

        assert_eq!(serials(&list(all.clone()).await), ["04", "03", "02", "01"]);
        let limited = list(CertificateFilter {
            limit: Some(2),
            ..all.clone()
        })
        .await;
        assert_eq!(serials(&limited), ["04", "03"]);
        let prod_only = list(CertificateFilter {
            area: Some("prod".into()),
            ..all.clone()
        })
        .await;
        assert_eq!(serials(&prod_only), ["04", "02", "01"]);
        let of_b = list(CertificateFilter {
            account_id: Some(b.id),
            ..all.clone()
        })
        .await;
        assert_eq!(serials(&of_b), ["04", "03"]);
        // Exact names: a.test is not ba.test; wildcards match as stored.
        let named = list(CertificateFilter {
            name: Some("a.test".into()),
            ..all.clone()
        })
        .await;
        assert_eq!(serials(&named), ["03", "01"]);
        let named = list(CertificateFilter {
            name: Some("x.test".into()),
            ..all.clone()
        })
        .await;
        assert_eq!(serials(&named), ["02"]);
        let named = list(CertificateFilter {
            name: Some("*.w.test".into()),
            ..all.clone()
        })
        .await;
        assert_eq!(serials(&named), ["04"]);
        let named = list(CertificateFilter {
            name: Some("%".into()),
            ..all.clone()
        })
        .await;
        assert_eq!(serials(&named), Vec::<&str>::new());
        let named = list(CertificateFilter {
            name: Some("_.test".into()),
            ..all.clone()
        })
        .await;
        assert_eq!(serials(&named), Vec::<&str>::new());

        // Status at `now` (day 5): 04 expired (day 2), 02 revoked, 01 and 03 valid.
        let by_status = |status| CertificateFilter {
            status: Some(status),
            ..all.clone()
        };
        assert_eq!(
            serials(&list(by_status(CertificateStatus::Valid)).await),
            ["03", "01"]
        );
        assert_eq!(
            serials(&list(by_status(CertificateStatus::Revoked)).await),
            ["02"]
        );
        assert_eq!(
            serials(&list(by_status(CertificateStatus::Expired)).await),
            ["04"]
        );
        let expiring = CertificateFilter {
            expiring_within: Some(Duration::from_secs(7 * 24 * 3600)),
            ..all.clone()
        };
        assert_eq!(serials(&list(expiring.clone()).await), ["01"]);
        let expiring = CertificateFilter {
            expiring_within: Some(Duration::from_secs(60 * 24 * 3600)),
            ..expiring
        };
        assert_eq!(serials(&list(expiring.clone()).await), ["03", "01"]);
        let combined = CertificateFilter {
            area: Some("prod".into()),
            account_id: Some(a.id),
            ..expiring
        };
        assert_eq!(serials(&list(combined).await), ["01"]);
        assert_eq!(
            CertificateStatus::at(None, at(2 * DAY), now),
            CertificateStatus::Expired
        );

        let counts = s.certificate_counts(now).await.unwrap();
        assert_eq!(counts.len(), 1);
        assert_eq!(
            counts[&prod.id],
            CertificateCounts {
                valid: 1,
                revoked: 1,
                expired: 1
            }
        );
    });
}

#[tokio::test]
async fn account_filters_combine() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let b = account(s, "thumb-b").await;
        let c = s
            .insert_account(&basalt_storage::NewAccount {
                directory: "prod".into(),
                ..crate::support::new_account("thumb-c")
            })
            .await
            .unwrap();
        s.deactivate_account(b.id, at(10)).await.unwrap();
        let ids = |list: Vec<basalt_storage::AccountRecord>| {
            list.into_iter().map(|a| a.id).collect::<Vec<_>>()
        };

        let all = AccountFilter::default();
        assert_eq!(
            ids(s.list_accounts(&all).await.unwrap()),
            [c.id, b.id, a.id]
        );
        let limited = AccountFilter {
            limit: Some(1),
            ..all.clone()
        };
        assert_eq!(ids(s.list_accounts(&limited).await.unwrap()), [c.id]);
        let acme = AccountFilter {
            area: Some("acme".into()),
            ..all.clone()
        };
        assert_eq!(ids(s.list_accounts(&acme).await.unwrap()), [b.id, a.id]);
        let valid = AccountFilter {
            status: Some(AccountStatus::Valid),
            ..all.clone()
        };
        assert_eq!(ids(s.list_accounts(&valid).await.unwrap()), [c.id, a.id]);
        let gone = AccountFilter {
            status: Some(AccountStatus::Deactivated),
            area: Some("acme".into()),
            ..all
        };
        assert_eq!(ids(s.list_accounts(&gone).await.unwrap()), [b.id]);
    });
}
