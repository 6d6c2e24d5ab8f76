//! basalt's own serving certificate: the latest is the one that expires last, its key is
//! stored only sealed, and superseded keys are purged.

use basalt_storage::NewServingCertificate;

use basalt_storage::Store;
use sea_orm::{ConnectionTrait as _, Database};

use crate::support::{
    DAY, ServerDb, T0, TestDb, at, config, create_server_database, on_every_backend, servers,
};

#[tokio::test]
async fn the_latest_serving_certificate_expires_last() {
    on_every_backend!(|db| {
        let s = &db.store;
        assert_eq!(s.latest_serving_certificate().await.unwrap(), None);
        let new = |not_after: i64, pem: &str| NewServingCertificate {
            chain_pem: pem.into(),
            sealed_key: format!("v1.sealed-{pem}"),
            names: vec!["ca.test".into(), "127.0.0.1".into()],
            not_after: at(not_after),
            now: at(0),
        };
        let long = s
            .insert_serving_certificate(&new(90 * DAY, "long"))
            .await
            .unwrap();
        assert_eq!(
            long.names,
            vec!["ca.test".to_owned(), "127.0.0.1".to_owned()]
        );
        assert!(!format!("{long:?}").contains("sealed-long"));
        let short = s
            .insert_serving_certificate(&new(DAY, "short"))
            .await
            .unwrap();
        assert!(short.id > long.id);
        assert_eq!(
            s.latest_serving_certificate().await.unwrap(),
            Some(long.clone())
        );
        let longer = s
            .insert_serving_certificate(&new(91 * DAY, "longer"))
            .await
            .unwrap();
        assert_eq!(s.latest_serving_certificate().await.unwrap(), Some(longer));
    });
}

/// A renewal purges the sealed keys of the certificates it supersedes (and of expired ones),
/// keeping the key of one that is still the latest.
#[tokio::test]
async fn storing_a_serving_certificate_purges_superseded_keys() {
    on_every_backend!(|db| {
        let s = &db.store;
        let new = |not_after: i64, now: i64, pem: &str| NewServingCertificate {
            chain_pem: pem.into(),
            sealed_key: format!("v1.sealed-{pem}"),
            names: vec!["ca.test".into()],
            not_after: at(not_after),
            now: at(now),
        };
        let first = s
            .insert_serving_certificate(&new(10 * DAY, 0, "first"))
            .await
            .unwrap();
        assert_eq!(first.sealed_key.as_deref(), Some("v1.sealed-first"));
        // Expires before `first`: `first` stays the latest and keeps its key.
        let short = s
            .insert_serving_certificate(&new(DAY, 0, "short"))
            .await
            .unwrap();
        let latest = s.latest_serving_certificate().await.unwrap().unwrap();
        assert_eq!(latest.id, first.id);
        assert_eq!(latest.sealed_key.as_deref(), Some("v1.sealed-first"));
        // The renewal supersedes both.
        let renewed = s
            .insert_serving_certificate(&new(17 * DAY, 7 * DAY, "renewed"))
            .await
            .unwrap();
        let latest = s.latest_serving_certificate().await.unwrap().unwrap();
        assert_eq!(latest, renewed);
        assert_eq!(latest.sealed_key.as_deref(), Some("v1.sealed-renewed"));
        let keys = db
            .raw_strings("SELECT sealed_key AS v FROM serving_certificates ORDER BY id")
            .await;
        assert_eq!(keys, vec![None, None, Some("v1.sealed-renewed".to_owned())]);
        let _ = short;
    });
}

/// The migration that took serving keys out of the clear blanks and drops `key_pem`, on every
/// engine; the old key is found nowhere afterwards (on SQLite: not in any byte of the files).
#[tokio::test]
async fn the_migration_purges_serving_keys_stored_in_the_clear() {
    use basalt_migration::{Migrator, MigratorTrait as _};
    const OLD_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n";

    let mut targets: Vec<(String, Option<tempfile::TempDir>, Option<ServerDb>)> = Vec::new();
    let dir = tempfile::tempdir().unwrap();
    targets.push((
        format!("sqlite://{}?mode=rwc", dir.path().join("ca.db").display()),
        Some(dir),
        None,
    ));
    for (server, admin) in servers() {
        let (url, db) = create_server_database(server, &admin).await;
        targets.push((url, None, Some(db)));
    }
    for (url, dir, server) in targets {
        eprintln!("--- {url}");
        // A database as the previous release left it, with a key stored in the clear.
        let old = Database::connect(url.clone()).await.unwrap();
        Migrator::up(&old, Some(2)).await.unwrap();
        old.execute_unprepared(&format!(
            "INSERT INTO serving_certificates (chain_pem, key_pem, names, not_after, created_at) \
             VALUES ('chain', '{OLD_KEY}', '[\"ca.test\"]', {}, {T0})",
            T0 + 30 * DAY
        ))
        .await
        .unwrap();
        old.close().await.unwrap();

        let store = Store::connect(&config(url.clone())).await.unwrap();
        let record = store.latest_serving_certificate().await.unwrap().unwrap();
        assert_eq!(record.chain_pem, "chain");
        assert_eq!(record.sealed_key, None, "no usable key survives");
        let db = TestDb {
            backend: "migrated",
            config: config(url),
            store,
            _dir: dir,
            server,
        };
        let raw = Database::connect(db.config.url.clone()).await.unwrap();
        assert!(
            raw.execute_unprepared("SELECT key_pem FROM serving_certificates")
                .await
                .is_err(),
            "key_pem is dropped"
        );
        drop(raw);
        for column in ["chain_pem", "names", "sealed_key"] {
            for value in db
                .raw_strings(&format!("SELECT {column} AS v FROM serving_certificates"))
                .await
                .into_iter()
                .flatten()
            {
                assert!(!value.contains("PRIVATE KEY"), "{column}: {value}");
            }
        }
        if let Some(dir) = &db._dir {
            for entry in std::fs::read_dir(dir.path()).unwrap() {
                let path = entry.unwrap().path();
                let bytes = std::fs::read(&path).unwrap();
                assert!(
                    !bytes.windows(11).any(|w| w == b"PRIVATE KEY"),
                    "{} still holds the old key",
                    path.display()
                );
            }
        }
        db.finish().await;
    }
}
