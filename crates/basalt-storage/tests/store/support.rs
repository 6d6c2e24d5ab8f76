//! The harness every topic module shares: a fresh database per test on every configured
//! backend ([`on_every_backend!`]), a second store on the same database (another replica),
//! and fixtures built through the public API, at fixed times ([`at`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use basalt_protocol::{ChallengeType, Identifier, OrderStatus};
use basalt_storage::{
    AccountRecord, AuthorizationPlan, AuthorizationRecord, CertificateRecord, Error, NewAccount,
    NewAuthorization, NewCertificate, NewChallenge, NewIntermediate, NewIssuance, NewOrder,
    OrderRecord, ReserveOutcome, StorageConfig, Store, ValidationJob, ValidationResult,
};
use sea_orm::{ConnectionTrait, Database};
use time::OffsetDateTime;

/// A database server the tests create their databases on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Server {
    Postgres,
    MySql,
}

impl Server {
    const ALL: [Self; 2] = [Self::Postgres, Self::MySql];

    pub(crate) fn name(self) -> &'static str {
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
pub(crate) struct ServerDb {
    server: Server,
    admin: String,
    /// The database's name on the server.
    pub(crate) name: String,
}

/// One fresh database and a store connected to it.
pub(crate) struct TestDb {
    pub(crate) backend: &'static str,
    pub(crate) config: StorageConfig,
    pub(crate) store: Store,
    /// SQLite's directory (the database file is `ca.db` in it).
    pub(crate) _dir: Option<tempfile::TempDir>,
    pub(crate) server: Option<ServerDb>,
}

impl TestDb {
    /// `store`, connected through `config` to the database `db` that
    /// [`create_server_database`] made.
    pub(crate) fn on_server_database(db: ServerDb, config: StorageConfig, store: Store) -> Self {
        Self {
            backend: db.server.name(),
            config,
            store,
            _dir: None,
            server: Some(db),
        }
    }

    /// The first column (`v`, text or NULL) of every row `sql` selects, through a separate
    /// raw connection.
    pub(crate) async fn raw_strings(&self, sql: &str) -> Vec<Option<String>> {
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
    pub(crate) async fn second_store(&self) -> Store {
        Store::connect(&self.config).await.expect("second store")
    }

    /// Drops the server database (SQLite's tempdir goes away on drop).
    pub(crate) async fn finish(self) {
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

pub(crate) fn config(url: String) -> StorageConfig {
    StorageConfig {
        url,
        max_connections: 4,
        acquire_timeout: Duration::from_secs(5),
    }
}

pub(crate) async fn sqlite() -> TestDb {
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
pub(crate) async fn create_server_database(server: Server, admin: &str) -> (String, ServerDb) {
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
    TestDb::on_server_database(db, config, store)
}

/// The configured servers with their admin URLs.
pub(crate) fn servers() -> Vec<(Server, String)> {
    Server::ALL
        .into_iter()
        .filter_map(|server| server.admin_url().map(|url| (server, url)))
        .collect()
}

/// Every backend to test: SQLite always, each server when configured.
pub(crate) async fn databases() -> Vec<TestDb> {
    let mut dbs = vec![sqlite().await];
    for (server, admin) in servers() {
        dbs.push(on_server(server, &admin).await);
    }
    dbs
}

/// Runs `$body` (an async block using `$db: &TestDb`) on every backend.
macro_rules! on_every_backend {
    (|$db:ident| $body:block) => {
        for test_db in $crate::support::databases().await {
            eprintln!("--- backend: {}", test_db.backend);
            {
                let $db = &test_db;
                $body
            }
            test_db.finish().await;
        }
    };
}
pub(crate) use on_every_backend;

// Fixtures: one account, order, authorization or certificate in a known state.

pub(crate) const T0: i64 = 1_800_000_000;

pub(crate) fn at(offset_secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(T0 + offset_secs).unwrap()
}

/// The account URL a client used when asking for validation.
pub(crate) const ACCOUNT_URI: &str = "https://ca.test/acme/default/account/1";
const HOUR: i64 = 3600;
pub(crate) const DAY: i64 = 24 * HOUR;

fn token() -> String {
    format!("token_{}", unique_suffix())
}

pub(crate) fn new_account(thumbprint: &str) -> NewAccount {
    NewAccount {
        directory: "acme".into(),
        key_thumbprint: thumbprint.into(),
        jwk: format!(r#"{{"kty":"EC","x":"{thumbprint}"}}"#),
        contact: vec!["mailto:a@example.test".into()],
        terms_of_service_agreed: true,
        now: at(0),
    }
}

pub(crate) async fn account(store: &Store, thumbprint: &str) -> AccountRecord {
    store
        .insert_account(&new_account(thumbprint))
        .await
        .expect("insert account")
}

pub(crate) fn create_plan(name: &str, wildcard: bool) -> AuthorizationPlan {
    AuthorizationPlan::Create(NewAuthorization {
        identifier: Identifier::dns(name).unwrap(),
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

pub(crate) fn new_order(
    account_id: i64,
    names: &[&str],
    plans: Vec<AuthorizationPlan>,
) -> NewOrder {
    NewOrder {
        account_id,
        directory: "acme".into(),
        identifiers: names.iter().map(|n| Identifier::dns(n).unwrap()).collect(),
        not_before: None,
        not_after: Some(at(90 * DAY)),
        expires_at: at(7 * DAY),
        authorizations: plans,
        replaces: None,
        now: at(0),
        profile: Some("default".into()),
    }
}

/// An order with one new authorization per name.
pub(crate) async fn order_with_new_authorizations(
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

/// Drives an authorization's first challenge through start, claim and record; returns what
/// recording changed.
pub(crate) async fn validate(
    store: &Store,
    authorization_id: i64,
    result: ValidationResult,
) -> basalt_storage::RecordedValidation {
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
            &job,
            &result,
            Some(r#"{"addr":"192.0.2.1"}"#),
            at(70),
            at(30 * DAY),
        )
        .await
        .unwrap()
        .expect("recorded")
}

/// A pending authorization for `name` (with its challenges), through a new order.
pub(crate) async fn new_authorization(
    store: &Store,
    account_id: i64,
    name: &str,
) -> AuthorizationRecord {
    let order = order_with_new_authorizations(store, account_id, &[name]).await;
    store
        .authorization(order.authorization_ids[0])
        .await
        .unwrap()
        .unwrap()
}

pub(crate) fn certificate(serial: &str) -> NewCertificate {
    NewCertificate {
        serial: serial.into(),
        der: vec![0x30, 0x82, 0x01, 0x02],
        chain_pem: "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n".into(),
        names: vec![Identifier::dns("a.test").unwrap()],
        not_before: at(0),
        not_after: at(90 * DAY),
        intermediate_id: None,
        profile: Some("default".into()),
    }
}

/// A ready order for a.test (validated authorization).
pub(crate) async fn ready_order(store: &Store, account_id: i64) -> OrderRecord {
    let order = order_with_new_authorizations(store, account_id, &["a.test"]).await;
    validate(store, order.authorization_ids[0], ValidationResult::Valid).await;
    let order = store.order(order.id).await.unwrap().unwrap();
    assert_eq!(order.status, OrderStatus::Ready);
    order
}

/// The validation job of challenge `challenge_id`, built from what is stored (as a worker
/// would hold it), for tests that record results without claiming the job first.
pub(crate) async fn job_for(store: &Store, challenge_id: i64) -> ValidationJob {
    let (challenge, authorization) = store.challenge(challenge_id).await.unwrap().unwrap();
    let account = store
        .account(authorization.account_id)
        .await
        .unwrap()
        .unwrap();
    ValidationJob::new(
        &challenge,
        &authorization,
        &account.key_thumbprint,
        &account.directory,
        challenge.account_uri.clone(),
    )
}

/// An intermediate for `area` with key id `key_id`, valid from T0 for five years.
pub(crate) fn intermediate(area: &str, key_id: &str) -> NewIntermediate {
    NewIntermediate {
        area: area.into(),
        key_id: key_id.into(),
        subject: format!("CN=basalt {area} intermediate"),
        certificate_pem: format!(
            "-----BEGIN CERTIFICATE-----\n{key_id}\n-----END CERTIFICATE-----\n"
        ),
        key_ref: format!("directories/{area}/intermediate-key.pem"),
        not_before: at(0),
        not_after: at(5 * 365 * DAY),
    }
}

/// A certificate issued through a ready order of `account_id` in `directory`, with this
/// serial, names, expiry and signing intermediate.
pub(crate) async fn issue(
    store: &Store,
    account_id: i64,
    directory: &str,
    serial: &str,
    names: &[&str],
    not_after: OffsetDateTime,
    intermediate_id: Option<i64>,
) -> CertificateRecord {
    let order = store
        .create_order(&NewOrder {
            directory: directory.into(),
            ..new_order(account_id, &["a.test"], vec![create_plan("a.test", false)])
        })
        .await
        .expect("create order");
    validate(store, order.authorization_ids[0], ValidationResult::Valid).await;
    let order = store.order(order.id).await.unwrap().unwrap();
    let new = NewCertificate {
        names: names.iter().map(|n| Identifier::dns(n).unwrap()).collect(),
        not_after,
        intermediate_id,
        ..certificate(serial)
    };
    finalize(store, &order, &new, at(100))
        .await
        .unwrap()
        .expect("a ready order")
        .1
}

/// The reservation finalize makes before signing `serial` (intermediate 1, a dummy key).
pub(crate) fn issuance(serial: &str) -> NewIssuance {
    NewIssuance {
        serial: serial.into(),
        intermediate_id: 1,
        spki_der: vec![0x30, 0x59, 0x30, 0x13],
        not_before: at(0),
        not_after: at(90 * DAY),
    }
}

/// Finalizes `order` as the server does: reserve `new`'s serial, then store `new`.
/// `Ok(Err(order))` when the order was not ready (nothing changed).
pub(crate) async fn finalize(
    store: &Store,
    order: &OrderRecord,
    new: &NewCertificate,
    now: OffsetDateTime,
) -> Result<Result<(OrderRecord, CertificateRecord), OrderRecord>, Error> {
    let reserved = match store
        .reserve_issuance(order, &issuance(&new.serial), now)
        .await?
    {
        ReserveOutcome::Reserved(reserved) => reserved,
        ReserveOutcome::NotReady(order) => return Ok(Err(order)),
    };
    store.complete_issuance(reserved.id, new, now).await.map(Ok)
}
