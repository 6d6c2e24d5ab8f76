//! Connecting and migrating, and what every engine must do alike: errors classified,
//! foreign keys enforced, compare-and-set row counts, byte-wise text comparison.

use std::time::Duration;

use basalt_storage::{Error, StorageConfig, Store};
use sea_orm::{ConnectionTrait, Database};

use crate::support::{
    Server, TestDb, account, at, config, create_plan, create_server_database, new_order,
    on_every_backend, servers, sqlite,
};

#[tokio::test]
async fn unreachable_databases_are_unavailable() {
    let refused = Store::connect(&StorageConfig {
        url: "postgres://nobody@127.0.0.1:1/none".into(),
        max_connections: 1,
        acquire_timeout: Duration::from_secs(2),
    })
    .await;
    assert!(matches!(refused, Err(Error::Unavailable(_))), "{refused:?}");

    let dir = tempfile::tempdir().unwrap();
    let missing_dir = Store::connect(&config(format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("no/such/dir/ca.db").display()
    )))
    .await;
    assert!(
        matches!(missing_dir, Err(Error::Unavailable(_))),
        "{missing_dir:?}"
    );

    let refused = Store::connect(&StorageConfig {
        url: "mysql://nobody@127.0.0.1:1/none".into(),
        max_connections: 1,
        acquire_timeout: Duration::from_secs(2),
    })
    .await;
    assert!(matches!(refused, Err(Error::Unavailable(_))), "{refused:?}");

    let unsupported = Store::connect(&config("mssql://x@y/z".into())).await;
    assert!(
        matches!(unsupported, Err(Error::Internal(_))),
        "{unsupported:?}"
    );
}

#[tokio::test]
async fn sqlite_uses_wal_and_reconnects_without_migrating_twice() {
    let db = sqlite().await;
    account(&db.store, "k1").await;
    let wal = db._dir.as_ref().unwrap().path().join("ca.db-wal");
    assert!(wal.exists(), "WAL file missing: journal_mode is not WAL");
    let again = db.second_store().await;
    assert!(
        again
            .account_by_thumbprint("acme", "k1")
            .await
            .unwrap()
            .is_some()
    );
    again.ping().await.unwrap();
    db.finish().await;
}

#[tokio::test]
async fn foreign_keys_are_enforced() {
    on_every_backend!(|db| {
        let result = db
            .store
            .create_order(&new_order(
                4242,
                &["a.test"],
                vec![create_plan("a.test", false)],
            ))
            .await;
        assert!(matches!(result, Err(Error::Internal(_))), "{result:?}");
        assert!(db.store.order(1).await.unwrap().is_none());
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_replicas_migrate_one_after_another() {
    let servers = servers();
    if servers.is_empty() {
        eprintln!("no database server configured; skipped");
    }
    for (server, admin) in servers {
        eprintln!("--- backend: {}", server.name());
        let (url, db) = create_server_database(server, &admin).await;
        let config = config(url);
        let replicas = (0..4).map(|_| {
            let config = config.clone();
            tokio::spawn(async move { Store::connect(&config).await })
        });
        for replica in replicas.collect::<Vec<_>>() {
            let store = replica
                .await
                .unwrap()
                .expect("replica connects and migrates");
            store.ping().await.unwrap();
        }
        let store = Store::connect(&config).await.unwrap();
        account(&store, "k1").await;
        if server == Server::MySql {
            // The named lock is session-level: it must not stay with a pooled connection.
            let admin_conn = Database::connect(admin.clone()).await.unwrap();
            let free = admin_conn
                .query_one_raw(sea_orm::Statement::from_string(
                    admin_conn.get_database_backend(),
                    format!(
                        "SELECT IS_FREE_LOCK(CONCAT('basalt_migrations.', MD5('{}'))) AS free",
                        db.name
                    ),
                ))
                .await
                .unwrap()
                .unwrap()
                .try_get::<i64>("", "free")
                .unwrap();
            assert_eq!(free, 1, "the migration lock is still held");
        }
        TestDb::on_server_database(db, config, store).finish().await;
    }
}

/// MySQL reports changed rows, not matched ones, unless the client asks otherwise (sqlx
/// does): a compare-and-set that writes the values a row already has must still count.
#[tokio::test]
async fn compare_and_set_counts_rows_that_already_had_the_values() {
    on_every_backend!(|db| {
        let s = &db.store;
        let ttl = Duration::from_secs(30);
        assert!(s.try_lease("sweep", "a", at(0), ttl).await.unwrap());
        // Renewed within the same second: the same holder and expiry are written again.
        assert!(s.try_lease("sweep", "a", at(0), ttl).await.unwrap());
        assert!(!s.try_lease("sweep", "b", at(0), ttl).await.unwrap());

        let a = account(s, "thumb-a").await;
        let same = s.update_account_contact(a.id, &a.contact).await.unwrap();
        assert_eq!(same.contact, a.contact);
    });
}

/// Text compares byte-wise on every engine (on MySQL thanks to the tables' binary
/// collation): base64url values that differ only in case are different values.
#[tokio::test]
async fn text_comparisons_are_case_sensitive() {
    on_every_backend!(|db| {
        let s = &db.store;
        let expires = at(60);
        assert!(s.consume_nonce("nonceAbc", expires).await.unwrap());
        assert!(s.consume_nonce("nonceABC", expires).await.unwrap());
        assert!(!s.consume_nonce("nonceAbc", expires).await.unwrap());

        let lower = account(s, "thumb-x").await;
        let upper = account(s, "THUMB-X").await;
        assert_ne!(lower.id, upper.id);
        let found = s.account_by_thumbprint("acme", "Thumb-X").await.unwrap();
        assert_eq!(found, None);
    });
}

/// The database, its `-wal` and its `-shm` are the server user's alone: created 0600, and an
/// existing 0644 set (from an older version) is tightened on connect.
#[tokio::test]
async fn sqlite_files_are_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let db = sqlite().await;
    account(&db.store, "k1").await;
    let dir = db._dir.as_ref().unwrap().path().to_path_buf();
    let files = ["ca.db", "ca.db-wal", "ca.db-shm"].map(|f| dir.join(f));
    for file in &files {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
    for file in &files {
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let again = db.second_store().await;
    account(&again, "k2").await;
    for file in &files {
        assert_eq!(mode(file), 0o600, "{} after reconnecting", file.display());
    }
    drop(again);
    db.finish().await;
}
