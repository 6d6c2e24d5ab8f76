//! The storage API against real databases: a fresh SQLite file per test, and a fresh
//! database per test on each server named by an admin connection URL:
//! * `BASALT_TEST_POSTGRES_URL`, e.g. `postgres://postgres@127.0.0.1:55432/postgres`;
//! * `BASALT_TEST_MYSQL_URL` (MySQL or MariaDB), e.g.
//!   `mysql://basalt:basalt@127.0.0.1:53306/mysql`.
//!
//! `scripts/test-databases start` starts both servers; `scripts/test-databases env` prints
//! the variables. Every scenario runs on every configured backend. A failing test leaves
//! its server database (`basalt_test_*`) behind for inspection.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use basalt_protocol::{
    AccountStatus, AuthorizationStatus, ChallengeStatus, ChallengeType, Identifier, OrderStatus,
    Problem, ProblemType,
};
use basalt_storage::{
    AccountRecord, AuthorizationPlan, AuthorizationRecord, Error, FinalizeOutcome, NewAccount,
    NewAuthorization, NewCertificate, NewChallenge, NewOrder, NewServingCertificate, OrderRecord,
    RevokeOutcome, StorageConfig, Store, ValidationResult,
};
use sea_orm::{ConnectionTrait, Database};
use time::OffsetDateTime;

// ---------------------------------------------------------------------------------------
// Harness

/// A database server the tests create their databases on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Server {
    Postgres,
    MySql,
}

impl Server {
    const ALL: [Self; 2] = [Self::Postgres, Self::MySql];

    fn name(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::MySql => "mysql",
        }
    }

    fn env_var(self) -> &'static str {
        match self {
            Self::Postgres => "BASALT_TEST_POSTGRES_URL",
            Self::MySql => "BASALT_TEST_MYSQL_URL",
        }
    }

    /// The admin URL from the environment, if this server is configured.
    fn admin_url(self) -> Option<String> {
        std::env::var(self.env_var()).ok().filter(|u| !u.is_empty())
    }

    /// The statement dropping a test database even if a store still has it open.
    fn drop_statement(self, name: &str) -> String {
        match self {
            Self::Postgres => format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            // MySQL waits only for connections inside a transaction on it (metadata locks);
            // the stores' idle pooled connections do not block the drop.
            Self::MySql => format!("DROP DATABASE IF EXISTS {name}"),
        }
    }
}

/// A database created on a server for one test, dropped by [`TestDb::finish`].
struct ServerDb {
    server: Server,
    admin: String,
    name: String,
}

/// One fresh database and a store connected to it.
struct TestDb {
    backend: &'static str,
    config: StorageConfig,
    store: Store,
    _dir: Option<tempfile::TempDir>,
    server: Option<ServerDb>,
}

impl TestDb {
    /// The first column (`v`, text or NULL) of every row `sql` selects, through a separate
    /// raw connection.
    async fn raw_strings(&self, sql: &str) -> Vec<Option<String>> {
        let raw = Database::connect(self.config.url.clone()).await.unwrap();
        let rows = raw
            .query_all_raw(sea_orm::Statement::from_string(
                raw.get_database_backend(),
                sql,
            ))
            .await
            .unwrap();
        rows.iter()
            .map(|row| row.try_get::<Option<String>>("", "v").unwrap())
            .collect()
    }

    /// Another, independent store on the same database (as a second replica would have).
    async fn second_store(&self) -> Store {
        Store::connect(&self.config).await.expect("second store")
    }

    /// Drops the server database (SQLite's tempdir goes away on drop).
    async fn finish(self) {
        let Self { store, server, .. } = self;
        drop(store);
        if let Some(ServerDb {
            server,
            admin,
            name,
        }) = server
        {
            let admin = Database::connect(admin).await.expect("admin connection");
            admin
                .execute_unprepared(&server.drop_statement(&name))
                .await
                .expect("drop test database");
        }
    }
}

fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{}_{}_{}",
        std::process::id(),
        nanos,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

fn config(url: String) -> StorageConfig {
    StorageConfig {
        url,
        max_connections: 4,
        acquire_timeout: Duration::from_secs(5),
    }
}

async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("ca.db").display());
    let config = config(url);
    let store = Store::connect(&config).await.expect("connect sqlite");
    TestDb {
        backend: "sqlite",
        config,
        store,
        _dir: Some(dir),
        server: None,
    }
}

/// `admin` with its database name replaced by `database`.
fn with_database(admin: &str, database: &str) -> String {
    let (base, query) = match admin.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (admin, String::new()),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    format!("{base}/{database}{query}")
}

/// Creates an empty database on `server`; returns the URL of it and what drops it.
async fn create_server_database(server: Server, admin: &str) -> (String, ServerDb) {
    let name = format!("basalt_test_{}", unique_suffix());
    let conn = Database::connect(admin.to_owned())
        .await
        .unwrap_or_else(|e| panic!("connect to {}: {e}", server.env_var()));
    conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    let url = with_database(admin, &name);
    let db = ServerDb {
        server,
        admin: admin.to_owned(),
        name,
    };
    (url, db)
}

async fn on_server(server: Server, admin: &str) -> TestDb {
    let (url, db) = create_server_database(server, admin).await;
    let config = config(url);
    let store = Store::connect(&config)
        .await
        .unwrap_or_else(|e| panic!("connect {}: {e}", server.name()));
    TestDb {
        backend: server.name(),
        config,
        store,
        _dir: None,
        server: Some(db),
    }
}

/// The configured servers with their admin URLs.
fn servers() -> Vec<(Server, String)> {
    Server::ALL
        .into_iter()
        .filter_map(|server| server.admin_url().map(|url| (server, url)))
        .collect()
}

/// Every backend to test: SQLite always, each server when configured.
async fn databases() -> Vec<TestDb> {
    let mut dbs = vec![sqlite().await];
    for (server, admin) in servers() {
        dbs.push(on_server(server, &admin).await);
    }
    dbs
}

/// Runs `$body` (an async block using `$db: &TestDb`) on every backend.
macro_rules! on_every_backend {
    (|$db:ident| $body:block) => {
        for test_db in databases().await {
            eprintln!("--- backend: {}", test_db.backend);
            {
                let $db = &test_db;
                $body
            }
            test_db.finish().await;
        }
    };
}

// ---------------------------------------------------------------------------------------
// Fixtures

const T0: i64 = 1_800_000_000;

fn at(offset_secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(T0 + offset_secs).unwrap()
}

/// The account URL a client used when asking for validation.
const ACCOUNT_URI: &str = "https://ca.test/acme/default/account/1";
const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;

fn token() -> String {
    format!("token_{}", unique_suffix())
}

fn new_account(thumbprint: &str) -> NewAccount {
    NewAccount {
        directory: "acme".into(),
        key_thumbprint: thumbprint.into(),
        jwk: format!(r#"{{"kty":"EC","x":"{thumbprint}"}}"#),
        contact: vec!["mailto:a@example.test".into()],
        terms_of_service_agreed: true,
        now: at(0),
    }
}

async fn account(store: &Store, thumbprint: &str) -> AccountRecord {
    store
        .insert_account(&new_account(thumbprint))
        .await
        .expect("insert account")
}

fn create_plan(name: &str, wildcard: bool) -> AuthorizationPlan {
    AuthorizationPlan::Create(NewAuthorization {
        identifier: Identifier::dns(name),
        wildcard,
        expires_at: at(7 * DAY),
        challenges: vec![
            NewChallenge {
                challenge_type: ChallengeType::Http01,
                token: token(),
            },
            NewChallenge {
                challenge_type: ChallengeType::Dns01,
                token: token(),
            },
        ],
    })
}

fn new_order(account_id: i64, names: &[&str], plans: Vec<AuthorizationPlan>) -> NewOrder {
    NewOrder {
        account_id,
        directory: "acme".into(),
        identifiers: names.iter().map(|n| Identifier::dns(*n)).collect(),
        not_before: None,
        not_after: Some(at(90 * DAY)),
        expires_at: at(7 * DAY),
        authorizations: plans,
        now: at(0),
    }
}

/// An order with one new authorization per name.
async fn order_with_new_authorizations(
    store: &Store,
    account_id: i64,
    names: &[&str],
) -> OrderRecord {
    let plans = names.iter().map(|n| create_plan(n, false)).collect();
    store
        .create_order(&new_order(account_id, names, plans))
        .await
        .expect("create order")
}

/// Drives an authorization's first challenge through start, claim and record.
async fn validate(store: &Store, authorization_id: i64, result: ValidationResult) {
    let authorization = store
        .authorization(authorization_id)
        .await
        .unwrap()
        .unwrap();
    let challenge = &authorization.challenges[0];
    assert!(
        store
            .start_challenge(challenge.id, ACCOUNT_URI, at(60))
            .await
            .unwrap()
    );
    let job = store
        .claim_validation(challenge.id, "replica-a", at(60), Duration::from_secs(30))
        .await
        .unwrap()
        .expect("claim");
    assert_eq!(job.challenge_id, challenge.id);
    store
        .record_validation(
            challenge.id,
            &result,
            Some(r#"{"addr":"192.0.2.1"}"#),
            at(70),
            at(30 * DAY),
        )
        .await
        .unwrap();
}

/// A pending authorization for `name` (with its challenges), through a new order.
async fn new_authorization(store: &Store, account_id: i64, name: &str) -> AuthorizationRecord {
    let order = order_with_new_authorizations(store, account_id, &[name]).await;
    store
        .authorization(order.authorization_ids[0])
        .await
        .unwrap()
        .unwrap()
}

fn certificate(serial: &str) -> NewCertificate {
    NewCertificate {
        serial: serial.into(),
        der: vec![0x30, 0x82, 0x01, 0x02],
        chain_pem: "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n".into(),
        names: vec![Identifier::dns("a.test")],
        not_before: at(0),
        not_after: at(90 * DAY),
    }
}

/// A ready order for a.test (validated authorization).
async fn ready_order(store: &Store, account_id: i64) -> OrderRecord {
    let order = order_with_new_authorizations(store, account_id, &["a.test"]).await;
    validate(store, order.authorization_ids[0], ValidationResult::Valid).await;
    let order = store.order(order.id).await.unwrap().unwrap();
    assert_eq!(order.status, OrderStatus::Ready);
    order
}

// ---------------------------------------------------------------------------------------
// Connecting

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
        TestDb {
            backend: server.name(),
            store,
            config,
            _dir: None,
            server: Some(db),
        }
        .finish()
        .await;
    }
}

// ---------------------------------------------------------------------------------------
// Accounts

#[tokio::test]
async fn accounts_insert_conflict_lookup_and_contact() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        assert_eq!(a.status, AccountStatus::Valid);
        assert_eq!(a.contact, vec!["mailto:a@example.test".to_owned()]);
        assert_eq!(a.created_at, at(0));
        assert!(a.terms_of_service_agreed);

        let again = s.insert_account(&new_account("thumb-a")).await;
        assert!(matches!(again, Err(Error::Conflict(_))), "{again:?}");
        let other_directory = s
            .insert_account(&NewAccount {
                directory: "other".into(),
                ..new_account("thumb-a")
            })
            .await
            .unwrap();
        assert_ne!(other_directory.id, a.id);

        assert_eq!(s.account(a.id).await.unwrap(), Some(a.clone()));
        assert_eq!(
            s.account_by_thumbprint("acme", "thumb-a").await.unwrap(),
            Some(a.clone())
        );
        assert_eq!(s.account_by_thumbprint("acme", "nope").await.unwrap(), None);
        assert_eq!(s.account(a.id + 100).await.unwrap(), None);

        let contact = vec![
            "mailto:b@example.test".to_owned(),
            "mailto:c@example.test".to_owned(),
        ];
        let updated = s.update_account_contact(a.id, &contact).await.unwrap();
        assert_eq!(updated.contact, contact);
        assert_eq!(s.account(a.id).await.unwrap().unwrap().contact, contact);
        assert_eq!(
            s.update_account_contact(a.id + 100, &contact).await,
            Err(Error::NotFound)
        );
    });
}

#[tokio::test]
async fn account_deactivation_cancels_pending_work() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let other = account(s, "thumb-b").await;
        let ready = ready_order(s, a.id).await;
        let valid_authorization = ready.authorization_ids[0];
        let pending = order_with_new_authorizations(s, a.id, &["b.test"]).await;
        let others_order = order_with_new_authorizations(s, other.id, &["c.test"]).await;

        let deactivated = s.deactivate_account(a.id, at(100)).await.unwrap();
        assert_eq!(deactivated.status, AccountStatus::Deactivated);

        for id in [ready.id, pending.id] {
            let order = s.order(id).await.unwrap().unwrap();
            assert_eq!(order.status, OrderStatus::Invalid);
            assert!(order.error.is_some());
        }
        let pending_authorization = s
            .authorization(pending.authorization_ids[0])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            pending_authorization.status,
            AuthorizationStatus::Deactivated
        );
        let valid = s.authorization(valid_authorization).await.unwrap().unwrap();
        assert_eq!(valid.status, AuthorizationStatus::Valid);
        // Another account's work is untouched.
        assert_eq!(
            s.order(others_order.id).await.unwrap().unwrap().status,
            OrderStatus::Pending
        );
        assert_eq!(
            s.account(other.id).await.unwrap().unwrap().status,
            AccountStatus::Valid
        );

        assert!(matches!(
            s.deactivate_account(a.id, at(200)).await,
            Err(Error::Conflict(_))
        ));
        // A deactivated account cannot order.
        let late = s
            .create_order(&new_order(
                a.id,
                &["d.test"],
                vec![create_plan("d.test", false)],
            ))
            .await;
        assert!(matches!(late, Err(Error::Conflict(_))), "{late:?}");
        assert!(
            s.order(others_order.id + 1).await.unwrap().is_none(),
            "nothing stored"
        );
        // Both cancelled orders are invalid now, so the orders list leaves them out.
        assert!(
            s.order_ids_for_account(a.id, None, 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            s.deactivate_account(9999, at(200)).await,
            Err(Error::NotFound)
        );
    });
}

#[tokio::test]
async fn account_key_change_is_compare_and_set() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "old").await;
        let b = account(s, "taken").await;

        let changed = s
            .change_account_key(a.id, "old", "new", r#"{"new":1}"#)
            .await
            .unwrap();
        assert_eq!(changed.key_thumbprint, "new");
        assert_eq!(changed.jwk, r#"{"new":1}"#);
        assert_eq!(s.account_by_thumbprint("acme", "old").await.unwrap(), None);
        assert_eq!(
            s.account_by_thumbprint("acme", "new")
                .await
                .unwrap()
                .unwrap()
                .id,
            a.id
        );

        // The old key no longer matches: a concurrent rollover lost.
        assert_eq!(
            s.change_account_key(a.id, "old", "newer", "{}").await,
            Err(Error::NotFound)
        );
        // The new key belongs to another account in this directory.
        let taken = s.change_account_key(a.id, "new", "taken", "{}").await;
        assert!(matches!(taken, Err(Error::Conflict(_))), "{taken:?}");
        assert_eq!(
            s.account(a.id).await.unwrap().unwrap().key_thumbprint,
            "new"
        );
        assert_eq!(
            s.account(b.id).await.unwrap().unwrap().key_thumbprint,
            "taken"
        );
    });
}

// ---------------------------------------------------------------------------------------
// Orders and authorizations

#[tokio::test]
async fn orders_create_new_and_reuse_authorizations() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let plans = vec![create_plan("a.test", false), create_plan("b.test", true)];
        let order = s
            .create_order(&new_order(a.id, &["a.test", "*.b.test"], plans))
            .await
            .unwrap();
        assert_eq!(order.status, OrderStatus::Pending);
        assert_eq!(order.account_id, a.id);
        assert_eq!(
            order.identifiers,
            vec![Identifier::dns("a.test"), Identifier::dns("*.b.test")]
        );
        assert_eq!(order.not_after, Some(at(90 * DAY)));
        assert_eq!(order.not_before, None);
        assert_eq!(order.expires_at, at(7 * DAY));
        assert_eq!(order.authorization_ids.len(), 2);
        assert!(order.authorization_ids.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(s.order(order.id).await.unwrap(), Some(order.clone()));

        let wildcard = s
            .authorization(order.authorization_ids[1])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(wildcard.identifier, Identifier::dns("b.test"));
        assert!(wildcard.wildcard);
        assert_eq!(wildcard.status, AuthorizationStatus::Pending);
        assert_eq!(wildcard.challenges.len(), 2);
        assert_eq!(wildcard.challenges[0].challenge_type, ChallengeType::Http01);
        assert_eq!(wildcard.challenges[1].challenge_type, ChallengeType::Dns01);
        assert!(
            wildcard
                .challenges
                .iter()
                .all(|c| c.status == ChallengeStatus::Pending)
        );

        // Reuse: the pending authorization for a.test is found and linked.
        let reusable = s
            .reusable_authorization(a.id, &Identifier::dns("a.test"), false, at(10), at(8 * DAY))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(reusable.id, order.authorization_ids[0]);
        // The wildcard flag must match.
        assert!(
            s.reusable_authorization(a.id, &Identifier::dns("b.test"), false, at(10), at(8 * DAY))
                .await
                .unwrap()
                .is_none()
        );
        let second = s
            .create_order(&new_order(
                a.id,
                &["a.test"],
                vec![AuthorizationPlan::Reuse(reusable.id)],
            ))
            .await
            .unwrap();
        assert_eq!(second.status, OrderStatus::Pending);
        assert_eq!(second.authorization_ids, vec![reusable.id]);

        // Once valid, an order made only of reused valid authorizations is ready at once.
        validate(s, reusable.id, ValidationResult::Valid).await;
        let valid = s
            .reusable_authorization(
                a.id,
                &Identifier::dns("a.test"),
                false,
                at(100),
                at(8 * DAY),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(valid.status, AuthorizationStatus::Valid);
        // Not valid long enough: falls back to pending ones (none left for a.test).
        assert!(
            s.reusable_authorization(
                a.id,
                &Identifier::dns("a.test"),
                false,
                at(100),
                at(31 * DAY)
            )
            .await
            .unwrap()
            .is_none()
        );
        let third = s
            .create_order(&new_order(
                a.id,
                &["a.test"],
                vec![AuthorizationPlan::Reuse(valid.id)],
            ))
            .await
            .unwrap();
        assert_eq!(third.status, OrderStatus::Ready);

        // A newer pending authorization for the same name: a valid one still comes first
        // while it lasts long enough, the pending one otherwise.
        let fourth = s
            .create_order(&new_order(
                a.id,
                &["a.test"],
                vec![create_plan("a.test", false)],
            ))
            .await
            .unwrap();
        let newer_pending = fourth.authorization_ids[0];
        assert!(newer_pending > valid.id);
        let name = Identifier::dns("a.test");
        let reuse =
            |valid_until| s.reusable_authorization(a.id, &name, false, at(100), valid_until);
        assert_eq!(reuse(at(8 * DAY)).await.unwrap().unwrap().id, valid.id);
        assert_eq!(
            reuse(at(31 * DAY)).await.unwrap().unwrap().id,
            newer_pending
        );

        // An order with its authorizations in one read: by id, each with its challenges.
        let (loaded, authorizations) = s
            .order_with_authorizations(order.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(loaded, s.order(order.id).await.unwrap().unwrap());
        let mut expected = Vec::new();
        for id in &order.authorization_ids {
            expected.push(s.authorization(*id).await.unwrap().unwrap());
        }
        assert_eq!(authorizations, expected);
        assert_eq!(authorizations.len(), 2);
        assert!(authorizations.iter().all(|z| z.challenges.len() >= 2));
        assert_eq!(s.order_with_authorizations(9999).await.unwrap(), None);

        // Reuse of another account's authorization, or of an unknown one, is refused and
        // leaves nothing behind.
        let b = account(s, "thumb-b").await;
        let stolen = s
            .create_order(&new_order(
                b.id,
                &["a.test"],
                vec![AuthorizationPlan::Reuse(valid.id)],
            ))
            .await;
        assert!(matches!(stolen, Err(Error::Conflict(_))), "{stolen:?}");
        assert!(
            s.order_ids_for_account(b.id, None, 10)
                .await
                .unwrap()
                .is_empty()
        );
        // Expired authorizations cannot be reused either.
        let mut late = new_order(a.id, &["a.test"], vec![AuthorizationPlan::Reuse(valid.id)]);
        late.now = at(31 * DAY);
        assert!(matches!(
            s.create_order(&late).await,
            Err(Error::Conflict(_))
        ));
        assert_eq!(
            s.order_ids_for_account(a.id, None, 10).await.unwrap().len(),
            4
        );
    });
}

#[tokio::test]
async fn order_ids_page_in_ascending_order() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let b = account(s, "thumb-b").await;
        let mut ids = Vec::new();
        for i in 0..5 {
            let name = format!("n{i}.test");
            ids.push(
                order_with_new_authorizations(s, a.id, &[name.as_str()])
                    .await
                    .id,
            );
            order_with_new_authorizations(s, b.id, &[name.as_str()]).await;
        }
        assert_eq!(
            s.order_ids_for_account(a.id, None, 2).await.unwrap(),
            ids[..2]
        );
        assert_eq!(
            s.order_ids_for_account(a.id, Some(ids[1]), 2)
                .await
                .unwrap(),
            ids[2..4]
        );
        assert_eq!(
            s.order_ids_for_account(a.id, Some(ids[3]), 2)
                .await
                .unwrap(),
            ids[4..]
        );
        assert!(
            s.order_ids_for_account(a.id, Some(ids[4]), 2)
                .await
                .unwrap()
                .is_empty()
        );
    });
}

#[tokio::test]
async fn valid_results_make_orders_ready_only_when_all_authorizations_are_valid() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let order = order_with_new_authorizations(s, a.id, &["a.test", "b.test"]).await;
        let [first, second] = order.authorization_ids[..] else {
            panic!()
        };

        validate(s, first, ValidationResult::Valid).await;
        let authorization = s.authorization(first).await.unwrap().unwrap();
        assert_eq!(authorization.status, AuthorizationStatus::Valid);
        assert_eq!(authorization.expires_at, at(30 * DAY));
        let challenge = &authorization.challenges[0];
        assert_eq!(challenge.status, ChallengeStatus::Valid);
        assert_eq!(challenge.validated_at, Some(at(70)));
        assert_eq!(
            challenge.validation_record.as_deref(),
            Some(r#"{"addr":"192.0.2.1"}"#)
        );
        assert_eq!(challenge.error, None);
        assert_eq!(authorization.challenges[1].status, ChallengeStatus::Pending);
        assert_eq!(
            s.order(order.id).await.unwrap().unwrap().status,
            OrderStatus::Pending
        );

        validate(s, second, ValidationResult::Valid).await;
        assert_eq!(
            s.order(order.id).await.unwrap().unwrap().status,
            OrderStatus::Ready
        );
    });
}

#[tokio::test]
async fn invalid_results_invalidate_authorization_and_orders() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let order = order_with_new_authorizations(s, a.id, &["a.test", "b.test"]).await;
        let problem = Problem::new(ProblemType::IncorrectResponse, "wrong key authorization");
        validate(
            s,
            order.authorization_ids[0],
            ValidationResult::Invalid(problem.clone()),
        )
        .await;

        let authorization = s
            .authorization(order.authorization_ids[0])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(authorization.status, AuthorizationStatus::Invalid);
        assert_eq!(authorization.expires_at, at(7 * DAY));
        let challenge = &authorization.challenges[0];
        assert_eq!(challenge.status, ChallengeStatus::Invalid);
        assert_eq!(challenge.error, Some(problem.clone()));
        assert_eq!(challenge.validated_at, None);
        let order = s.order(order.id).await.unwrap().unwrap();
        assert_eq!(order.status, OrderStatus::Invalid);
        assert_eq!(order.error, Some(problem));
    });
}

#[tokio::test]
async fn a_second_result_changes_nothing() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let order = order_with_new_authorizations(s, a.id, &["a.test"]).await;
        let authorization_id = order.authorization_ids[0];
        validate(s, authorization_id, ValidationResult::Valid).await;
        let challenge_id = s
            .authorization(authorization_id)
            .await
            .unwrap()
            .unwrap()
            .challenges[0]
            .id;
        s.record_validation(
            challenge_id,
            &ValidationResult::Invalid(Problem::new(ProblemType::Connection, "late")),
            None,
            at(80),
            at(30 * DAY),
        )
        .await
        .unwrap();
        let (challenge, authorization) = s.challenge(challenge_id).await.unwrap().unwrap();
        assert_eq!(challenge.status, ChallengeStatus::Valid);
        assert_eq!(challenge.error, None);
        assert_eq!(authorization.status, AuthorizationStatus::Valid);
        assert_eq!(authorization.challenges[0], challenge);
        assert_eq!(
            s.order(order.id).await.unwrap().unwrap().status,
            OrderStatus::Ready
        );
        assert_eq!(
            s.record_validation(9999, &ValidationResult::Valid, None, at(80), at(DAY))
                .await,
            Err(Error::NotFound)
        );
        assert_eq!(s.challenge(9999).await.unwrap(), None);
    });
}

#[tokio::test]
async fn challenges_start_once_and_only_for_open_authorizations() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let order = order_with_new_authorizations(s, a.id, &["a.test", "b.test", "c.test"]).await;
        let challenge_of = |authorization: i64| async move {
            s.authorization(authorization)
                .await
                .unwrap()
                .unwrap()
                .challenges[0]
                .id
        };
        let first = challenge_of(order.authorization_ids[0]).await;
        assert!(s.start_challenge(first, ACCOUNT_URI, at(10)).await.unwrap());
        assert!(!s.start_challenge(first, ACCOUNT_URI, at(11)).await.unwrap());
        assert_eq!(
            s.challenge(first).await.unwrap().unwrap().0.status,
            ChallengeStatus::Processing
        );

        // Expired authorization.
        let second = challenge_of(order.authorization_ids[1]).await;
        assert!(
            !s.start_challenge(second, ACCOUNT_URI, at(8 * DAY))
                .await
                .unwrap()
        );
        assert_eq!(
            s.challenge(second).await.unwrap().unwrap().0.status,
            ChallengeStatus::Pending
        );

        // Deactivated authorization.
        let third = challenge_of(order.authorization_ids[2]).await;
        s.deactivate_authorization(order.authorization_ids[2])
            .await
            .unwrap();
        assert!(!s.start_challenge(third, ACCOUNT_URI, at(10)).await.unwrap());
        assert!(!s.start_challenge(9999, ACCOUNT_URI, at(10)).await.unwrap());
    });
}

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
        assert!(matches!(again, Err(Error::Conflict(_))), "{again:?}");
        assert_eq!(s.deactivate_authorization(9999).await, Err(Error::NotFound));
    });
}

// ---------------------------------------------------------------------------------------
// Validation leases

#[tokio::test]
async fn claims_are_exclusive_until_the_lease_expires() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let authorization = new_authorization(s, a.id, "a.test").await;
        let challenge = &authorization.challenges[0];
        let lease = Duration::from_secs(30);

        // Not processing yet: nothing to claim.
        assert!(
            s.claim_validation(challenge.id, "a", at(10), lease)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            s.start_challenge(challenge.id, ACCOUNT_URI, at(10))
                .await
                .unwrap()
        );

        let job = s
            .claim_validation(challenge.id, "a", at(10), lease)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(job.authorization_id, authorization.id);
        assert_eq!(job.challenge_type, ChallengeType::Http01);
        assert_eq!(job.token, challenge.token);
        assert_eq!(job.identifier, Identifier::dns("a.test"));
        assert!(!job.wildcard);
        assert_eq!(job.account_id, a.id);
        assert_eq!(job.account_key_thumbprint, "thumb-a");
        assert_eq!(job.account_uri.as_deref(), Some(ACCOUNT_URI));
        assert_eq!(job.directory, "acme");

        assert!(
            s.claim_validation(challenge.id, "b", at(20), lease)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            s.claim_validation(challenge.id, "b", at(40), lease)
                .await
                .unwrap()
                .is_none()
        );
        // The lease ran out at 40: replica b takes over, and a can no longer claim it.
        let taken = s
            .claim_validation(challenge.id, "b", at(41), lease)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(taken, job);
        assert!(
            s.claim_validation(challenge.id, "a", at(42), lease)
                .await
                .unwrap()
                .is_none()
        );
    });
}

#[tokio::test]
async fn starting_a_validation_claims_it_in_the_same_step() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let authorization = new_authorization(s, a.id, "a.test").await;
        let challenge = &authorization.challenges[0];
        let lease = Duration::from_secs(30);

        assert!(
            s.start_validation(challenge.id, ACCOUNT_URI, "a", at(10), lease)
                .await
                .unwrap()
        );
        // Once only, like start_challenge.
        assert!(
            !s.start_validation(challenge.id, ACCOUNT_URI, "b", at(11), lease)
                .await
                .unwrap()
        );
        let (started, _) = s.challenge(challenge.id).await.unwrap().unwrap();
        assert_eq!(started.status, ChallengeStatus::Processing);
        assert_eq!(started.account_uri.as_deref(), Some(ACCOUNT_URI));
        // Held by a until its lease runs out: neither a claim nor a sweep takes it.
        assert!(
            s.claim_validation(challenge.id, "b", at(20), lease)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            s.claim_validation_jobs("b", at(40), lease, 10)
                .await
                .unwrap()
                .is_empty()
        );
        let orphan = s
            .claim_validation_jobs("b", at(41), lease, 10)
            .await
            .unwrap();
        assert_eq!(orphan.len(), 1);
        assert_eq!(orphan[0].challenge_id, challenge.id);
        assert_eq!(orphan[0].account_uri.as_deref(), Some(ACCOUNT_URI));
    });
}

#[tokio::test]
async fn sweeping_claims_orphaned_and_unclaimed_validations() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let order =
            order_with_new_authorizations(s, a.id, &["a.test", "b.test", "c.test", "d.test"]).await;
        let mut challenges = Vec::new();
        for id in &order.authorization_ids {
            challenges.push(s.authorization(*id).await.unwrap().unwrap().challenges[0].id);
        }
        let lease = Duration::from_secs(30);
        for c in &challenges[..3] {
            assert!(s.start_challenge(*c, ACCOUNT_URI, at(0)).await.unwrap());
        }
        // challenges[0]: held by a; [1], [2]: never claimed; [3]: still pending.
        s.claim_validation(challenges[0], "a", at(0), lease)
            .await
            .unwrap()
            .unwrap();

        let jobs = s
            .claim_validation_jobs("sweeper", at(5), lease, 1)
            .await
            .unwrap();
        assert_eq!(
            jobs.iter().map(|j| j.challenge_id).collect::<Vec<_>>(),
            vec![challenges[1]]
        );
        let jobs = s
            .claim_validation_jobs("sweeper", at(5), lease, 10)
            .await
            .unwrap();
        assert_eq!(
            jobs.iter().map(|j| j.challenge_id).collect::<Vec<_>>(),
            vec![challenges[2]]
        );
        assert!(
            s.claim_validation_jobs("other", at(6), lease, 10)
                .await
                .unwrap()
                .is_empty()
        );

        // After every lease ran out (a's at 30, the sweeper's at 35), all three are orphaned.
        let jobs = s
            .claim_validation_jobs("other", at(36), lease, 10)
            .await
            .unwrap();
        assert_eq!(
            jobs.iter().map(|j| j.challenge_id).collect::<Vec<_>>(),
            challenges[..3].to_vec()
        );
        // Recorded results leave the pool.
        s.record_validation(
            challenges[0],
            &ValidationResult::Valid,
            None,
            at(40),
            at(DAY),
        )
        .await
        .unwrap();
        let jobs = s
            .claim_validation_jobs("third", at(100), lease, 10)
            .await
            .unwrap();
        assert_eq!(jobs.len(), 2);
    });
}

// ---------------------------------------------------------------------------------------
// Finalization and certificates

#[tokio::test]
async fn finalize_issues_once() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let order = ready_order(s, a.id).await;
        let outcome = s
            .finalize_order(&order, at(100), |o: &OrderRecord| {
                assert_eq!(o.status, OrderStatus::Processing);
                Ok::<_, String>(certificate("0a1b"))
            })
            .await
            .unwrap();
        let FinalizeOutcome::Issued {
            order: issued,
            certificate: cert,
        } = outcome
        else {
            panic!("{outcome:?}");
        };
        assert_eq!(issued.status, OrderStatus::Valid);
        assert_eq!(issued.certificate_serial.as_deref(), Some("0a1b"));
        assert_eq!(cert.serial, "0a1b");
        assert_eq!(cert.order_id, order.id);
        assert_eq!(cert.account_id, a.id);
        assert_eq!(cert.directory, "acme");
        assert_eq!(cert.der, certificate("0a1b").der);
        assert_eq!(cert.names, vec![Identifier::dns("a.test")]);
        assert_eq!(cert.not_after, at(90 * DAY));
        assert_eq!(cert.created_at, at(100));
        assert_eq!(cert.revoked_at, None);
        assert_eq!(s.order(order.id).await.unwrap(), Some(issued.clone()));
        assert_eq!(s.certificate_by_serial("0a1b").await.unwrap(), Some(cert));

        let mut signed_again = false;
        let outcome = s
            .finalize_order(&order, at(200), |_: &OrderRecord| {
                signed_again = true;
                Ok::<_, String>(certificate("ffff"))
            })
            .await
            .unwrap();
        assert_eq!(outcome, FinalizeOutcome::NotReady(issued));
        assert!(!signed_again);
        assert_eq!(s.certificate_by_serial("ffff").await.unwrap(), None);
        let missing = s
            .finalize_order(
                &OrderRecord {
                    id: 9999,
                    ..order.clone()
                },
                at(200),
                |_: &OrderRecord| Ok::<_, String>(certificate("x")),
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
            .finalize_order(
                &pending,
                at(100),
                |_: &OrderRecord| -> Result<NewCertificate, String> {
                    panic!("must not sign a pending order")
                },
            )
            .await
            .unwrap();
        assert_eq!(outcome, FinalizeOutcome::NotReady(pending.clone()));

        let ready = ready_order(s, a.id).await;
        let outcome = s
            .finalize_order(
                &ready,
                at(7 * DAY),
                |_: &OrderRecord| -> Result<NewCertificate, String> {
                    panic!("must not sign an expired order")
                },
            )
            .await
            .unwrap();
        assert_eq!(outcome, FinalizeOutcome::NotReady(ready.clone()));
        assert_eq!(
            s.order(ready.id).await.unwrap().unwrap().status,
            OrderStatus::Ready
        );
    });
}

#[tokio::test]
async fn rejected_signing_leaves_the_order_ready_and_stores_nothing() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let order = ready_order(s, a.id).await;
        let outcome = s
            .finalize_order(&order, at(100), |_: &OrderRecord| {
                Err::<NewCertificate, _>("bad CSR")
            })
            .await
            .unwrap();
        assert_eq!(outcome, FinalizeOutcome::Rejected("bad CSR"));
        assert_eq!(s.order(order.id).await.unwrap(), Some(order.clone()));

        // A duplicate serial rolls everything back too.
        let other = ready_order(s, a.id).await;
        s.finalize_order(&other, at(100), |_: &OrderRecord| {
            Ok::<_, String>(certificate("dup"))
        })
        .await
        .unwrap();
        let duplicate = s
            .finalize_order(&order, at(100), |_: &OrderRecord| {
                Ok::<_, String>(certificate("dup"))
            })
            .await;
        assert!(
            matches!(duplicate, Err(Error::Conflict(_))),
            "{duplicate:?}"
        );
        assert_eq!(s.order(order.id).await.unwrap(), Some(order.clone()));

        // It can still be finalized, or failed.
        let outcome = s
            .finalize_order(&order, at(100), |_: &OrderRecord| {
                Ok::<_, String>(certificate("0c"))
            })
            .await
            .unwrap();
        assert!(
            matches!(outcome, FinalizeOutcome::Issued { .. }),
            "{outcome:?}"
        );
        let problem = Problem::new(ProblemType::BadCsr, "no");
        assert!(matches!(
            s.fail_order(order.id, &problem).await,
            Err(Error::Conflict(_))
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
        s.finalize_order(&order, at(100), |_: &OrderRecord| {
            Ok::<_, String>(certificate("0a"))
        })
        .await
        .unwrap();
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
        let names = |ns: &[&str]| ns.iter().map(|n| Identifier::dns(*n)).collect::<Vec<_>>();

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

// ---------------------------------------------------------------------------------------
// Nonces, secrets, leases, serving certificates

#[tokio::test]
async fn nonces_are_used_once_and_expire_in_bounded_batches() {
    on_every_backend!(|db| {
        let s = &db.store;
        assert!(s.consume_nonce("n-1", at(60)).await.unwrap());
        assert!(!s.consume_nonce("n-1", at(60)).await.unwrap());
        let replica = db.second_store().await;
        assert!(!replica.consume_nonce("n-1", at(60)).await.unwrap());

        for i in 0..5 {
            assert!(
                s.consume_nonce(&format!("old-{i}"), at(10 + i))
                    .await
                    .unwrap()
            );
        }
        // n-1 (60) and the old ones (10..=14) exist; at 30 only the old ones are expired.
        assert_eq!(s.delete_expired_nonces(at(30), 3).await.unwrap(), 3);
        assert_eq!(s.delete_expired_nonces(at(30), 3).await.unwrap(), 2);
        assert_eq!(s.delete_expired_nonces(at(30), 3).await.unwrap(), 0);
        assert!(!s.consume_nonce("n-1", at(60)).await.unwrap());
        // Expiring in second 60 means usable through second 60.
        assert_eq!(s.delete_expired_nonces(at(60), 3).await.unwrap(), 0);
        assert_eq!(s.delete_expired_nonces(at(61), 3).await.unwrap(), 1);
        assert!(s.consume_nonce("old-0", at(10)).await.unwrap());
    });
}

#[tokio::test]
async fn nonces_are_consumed_in_batches() {
    on_every_backend!(|db| {
        let s = &db.store;
        let batch = |names: &[&str]| {
            names
                .iter()
                .map(|n| ((*n).to_owned(), at(60)))
                .collect::<Vec<_>>()
        };
        assert_eq!(s.consume_nonces(&[]).await.unwrap(), Vec::<bool>::new());
        // Fresh nonces: one multi-row insert, every one a first use.
        assert_eq!(
            s.consume_nonces(&batch(&["b-1", "b-2", "b-3"]))
                .await
                .unwrap(),
            [true, true, true]
        );
        // Another replica used b-4; the batch repeats b-1 (stored), b-5 (within the batch).
        let replica = db.second_store().await;
        assert!(replica.consume_nonce("b-4", at(60)).await.unwrap());
        assert_eq!(
            s.consume_nonces(&batch(&["b-5", "b-1", "b-6", "b-5", "b-4", "b-7"]))
                .await
                .unwrap(),
            [true, false, true, false, false, true]
        );
        // The fresh ones of that batch were stored: now they are replays, on any replica.
        for nonce in ["b-5", "b-6", "b-7"] {
            assert!(
                !replica.consume_nonce(nonce, at(60)).await.unwrap(),
                "{nonce}"
            );
        }
        // Duplicates alone (no stored nonce) still leave exactly one first use.
        assert_eq!(
            s.consume_nonces(&batch(&["b-8", "b-8", "b-8"]))
                .await
                .unwrap(),
            [true, false, false]
        );
        // Larger than one statement carries, with a replay in the second statement.
        let mut many: Vec<String> = (0..300).map(|i| format!("m-{i:03}")).collect();
        many.push("b-2".to_owned());
        let many: Vec<_> = many.into_iter().map(|n| (n, at(60))).collect();
        let used = s.consume_nonces(&many).await.unwrap();
        assert_eq!(used.iter().filter(|u| **u).count(), 300);
        assert!(!used[300]);
    });
}

#[tokio::test]
async fn every_replica_gets_the_first_secret() {
    on_every_backend!(|db| {
        let s = &db.store;
        let replica = db.second_store().await;
        assert_eq!(
            s.secret("nonce-key", b"first", at(0)).await.unwrap(),
            b"first"
        );
        assert_eq!(
            replica.secret("nonce-key", b"second", at(1)).await.unwrap(),
            b"first"
        );
        assert_eq!(
            s.secret("nonce-key", b"third", at(2)).await.unwrap(),
            b"first"
        );
        assert_eq!(replica.secret("other", b"x", at(2)).await.unwrap(), b"x");

        // Racing replicas agree too.
        let stores = [s.clone(), replica.clone(), s.clone(), replica];
        let racers = stores.into_iter().enumerate().map(|(i, store)| {
            tokio::spawn(async move {
                store
                    .secret("raced", format!("candidate-{i}").as_bytes(), at(3))
                    .await
            })
        });
        let mut values = Vec::new();
        for racer in racers.collect::<Vec<_>>() {
            values.push(racer.await.unwrap().unwrap());
        }
        assert!(values.windows(2).all(|w| w[0] == w[1]), "{values:?}");
    });
}

#[tokio::test]
async fn leases_are_exclusive_until_expiry_or_release() {
    on_every_backend!(|db| {
        let s = &db.store;
        let ttl = Duration::from_secs(30);
        assert!(s.try_lease("sweep", "a", at(0), ttl).await.unwrap());
        assert!(!s.try_lease("sweep", "b", at(10), ttl).await.unwrap());
        assert!(s.try_lease("sweep", "a", at(20), ttl).await.unwrap()); // renewed to 50
        assert!(!s.try_lease("sweep", "b", at(40), ttl).await.unwrap());
        assert!(!s.try_lease("sweep", "b", at(50), ttl).await.unwrap());
        assert!(s.try_lease("sweep", "b", at(51), ttl).await.unwrap()); // expired: taken over
        assert!(!s.try_lease("sweep", "a", at(52), ttl).await.unwrap());
        // Other names are independent.
        assert!(s.try_lease("renew", "a", at(52), ttl).await.unwrap());

        s.release_lease("sweep", "a").await.unwrap(); // not a's: no effect
        assert!(!s.try_lease("sweep", "a", at(53), ttl).await.unwrap());
        s.release_lease("sweep", "b").await.unwrap();
        assert!(s.try_lease("sweep", "a", at(54), ttl).await.unwrap());
    });
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

// ---------------------------------------------------------------------------------------
// Races between replicas

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_validations_of_one_order_leave_it_ready() {
    on_every_backend!(|db| {
        let s = &db.store;
        let replica = db.second_store().await;
        let a = account(s, "thumb-a").await;
        let mut orders = Vec::new();
        for i in 0..30 {
            let (x, y) = (format!("x{i}.test"), format!("y{i}.test"));
            orders.push(order_with_new_authorizations(s, a.id, &[x.as_str(), y.as_str()]).await);
        }
        let mut challenge_ids = Vec::new();
        for order in &orders {
            for authorization_id in &order.authorization_ids {
                let challenge = s
                    .authorization(*authorization_id)
                    .await
                    .unwrap()
                    .unwrap()
                    .challenges[0]
                    .id;
                assert!(
                    s.start_challenge(challenge, ACCOUNT_URI, at(10))
                        .await
                        .unwrap()
                );
                challenge_ids.push(challenge);
            }
        }
        // Both authorizations of each order are recorded at the same time, by two replicas.
        let tasks = challenge_ids.chunks(2).flat_map(|pair| {
            [(s.clone(), pair[0]), (replica.clone(), pair[1])].map(|(store, challenge)| {
                tokio::spawn(async move {
                    store
                        .record_validation(
                            challenge,
                            &ValidationResult::Valid,
                            None,
                            at(20),
                            at(30 * DAY),
                        )
                        .await
                })
            })
        });
        for task in tasks.collect::<Vec<_>>() {
            task.await.unwrap().unwrap();
        }
        for order in &orders {
            assert_eq!(
                s.order(order.id).await.unwrap().unwrap().status,
                OrderStatus::Ready,
                "order {}",
                order.id
            );
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_finalizations_issue_exactly_once() {
    on_every_backend!(|db| {
        let s = &db.store;
        let replica = db.second_store().await;
        let a = account(s, "thumb-a").await;
        let order = ready_order(s, a.id).await;
        let tasks = [s.clone(), replica.clone(), s.clone(), replica]
            .into_iter()
            .enumerate()
            .map(|(i, store)| {
                let order = order.clone();
                tokio::spawn(async move {
                    store
                        .finalize_order(&order, at(100), move |_: &OrderRecord| {
                            Ok::<_, String>(certificate(&format!("serial{i}")))
                        })
                        .await
                })
            });
        let mut issued = 0;
        for task in tasks.collect::<Vec<_>>() {
            match task.await.unwrap().unwrap() {
                FinalizeOutcome::Issued { .. } => issued += 1,
                FinalizeOutcome::NotReady(o) => assert_eq!(o.status, OrderStatus::Valid),
                FinalizeOutcome::Rejected(e) => panic!("{e}"),
            }
        }
        assert_eq!(issued, 1);
    });
}

// ---------------------------------------------------------------------------------------
// Expiry clean-up

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
        let outcome = s
            .finalize_order(&issued, at(100), |_: &OrderRecord| {
                Ok::<_, String>(certificate("5e1a"))
            })
            .await
            .unwrap();
        assert!(
            matches!(outcome, FinalizeOutcome::Issued { .. }),
            "{outcome:?}"
        );
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
