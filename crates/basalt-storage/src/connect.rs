//! Connecting, per-connection settings, and migrating at startup.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use basalt_migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::mysql::MySqlConnection;
use sea_orm::sqlx::pool::PoolConnectionMetadata;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::sqlx::{self, Executor};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, Statement,
    TransactionTrait,
};

use crate::config::StorageConfig;
use crate::error::Error;
use crate::inline_connection::InlineReader;
use crate::inline_sqlite::InlineWriter;

/// How long SQLite waits for a lock held by another connection (or process) before failing.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The key of the PostgreSQL advisory lock that serialises migrations across replicas
/// (RFC 8555's number; any constant shared by all replicas works).
const MIGRATION_LOCK_KEY: i64 = 8555;

/// The name of the MySQL/MariaDB named lock (`GET_LOCK`) that serialises migrations. Named
/// locks are server-wide, so the name includes the database (hashed: names are limited to
/// 64 characters), scoping the lock to one database like PostgreSQL's advisory locks.
const MYSQL_MIGRATION_LOCK: &str = "CONCAT('basalt_migrations.', MD5(DATABASE()))";

/// How long a replica waits for another replica's migration on MySQL before giving up
/// (PostgreSQL's advisory lock waits without limit, like any other lock there).
const MYSQL_MIGRATION_LOCK_TIMEOUT_SECS: u32 = 60;

/// The per-connection settings of every MySQL/MariaDB connection (sqlx already sets
/// `utf8mb4`, `time_zone = '+00:00'` and `CLIENT_FOUND_ROWS`, see `Backend::MySql`):
/// * `READ COMMITTED`: the queries were written for PostgreSQL's default isolation, where
///   each statement sees everything committed before it started. InnoDB's default,
///   `REPEATABLE READ`, reads a snapshot taken at the transaction's first read, so a
///   transaction that waited for a row lock (`promote_ready`) would still see the other
///   transaction's authorization as pending and leave the order stuck. It also takes gap
///   locks, which turn concurrent inserts into deadlocks.
/// * Strict mode, so an over-long value is an error instead of being silently truncated
///   (most servers default to it; this makes sure).
const MYSQL_SESSION_SETUP: [&str; 2] = [
    "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
    "SET SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',STRICT_ALL_TABLES')",
];

/// The handle every part of the server shares. Cloning is cheap (pool handles); the store
/// keeps no other state, so any replica can serve any request.
#[derive(Clone, Debug)]
pub struct Store {
    /// Every write and every transaction.
    pub(crate) db: DatabaseConnection,
    /// Plain lookups outside transactions. On SQLite a pool of read-only connections beside
    /// the single writer (WAL lets readers run while the writer writes, and each sees what
    /// was committed before it started), so reads never queue behind writes; on the server
    /// engines the same pool as `db`.
    pub(crate) read: DatabaseConnection,
    /// The hot lookups (an account, an order, an authorization, a certificate by serial):
    /// on a SQLite file a read-only connection run on the calling task
    /// (`inline_connection.rs`), whose rows are decoded by column name only, so a tuple of
    /// several columns never goes here; elsewhere the same pool as `read`.
    pub(crate) lookup: DatabaseConnection,
    /// SQLite only: the database's write-ahead log, fsynced after a commit that must survive
    /// power loss ([`Store::sync_log`]). `None` on the server engines, whose commits are
    /// durable already, and for in-memory databases.
    pub(crate) log: Option<Arc<WriteAheadLog>>,
    /// SQLite on a file only: the hot write transactions' connection (`inline_sqlite.rs`,
    /// through `writes.rs`'s macros). `None` on the server engines and in memory, where those
    /// transactions run through `db` like every other.
    pub(crate) inline: Option<Arc<InlineWriter>>,
}

/// A SQLite database's `-wal` file, as [`Store::sync_log`] flushes it.
#[derive(Debug)]
pub(crate) struct WriteAheadLog {
    path: std::path::PathBuf,
    /// The directory entry of the file is flushed once, the first time.
    directory_synced: std::sync::atomic::AtomicBool,
    /// Group commit: every caller of [`Store::sync_log`] takes the next number after its
    /// commit; `flushed` is the highest number a finished flush covered, held across the
    /// flush so one flush runs at a time and the callers waiting behind it usually find
    /// themselves covered by it.
    requested: std::sync::atomic::AtomicU64,
    flushed: tokio::sync::Mutex<u64>,
}

impl Store {
    /// Makes every commit so far durable against power loss, for a write that must never be
    /// lost once a client may see it (an issued certificate).
    ///
    /// SQLite runs `synchronous=NORMAL` in WAL mode: a commit is written to the WAL but the
    /// WAL is fsynced only at checkpoints, so a commit survives a crash of the process but not
    /// of the machine. `fdatasync` on the WAL file (through a descriptor of our own: it
    /// flushes the file, whoever wrote it) after the commit makes it durable, with the write
    /// lock already released, so other writers do not wait for the disk and concurrent
    /// finalizations share one flush. A checkpoint meanwhile is no hazard: it syncs the
    /// database file before the WAL is reused. (Switching the connection to
    /// `synchronous=FULL` for the commit did the same inside the write lock and cost a third
    /// of the throughput at 32 clients: BENCHMARKS.md.) PostgreSQL
    /// (`synchronous_commit=on`) and InnoDB (`innodb_flush_log_at_trx_commit=1`) make every
    /// commit durable by default.
    ///
    /// Flushes are grouped: a caller whose commit happened before a flush *started* is
    /// covered by it and returns without flushing again, so under load one `fdatasync`
    /// serves every finalization that committed meanwhile (issuance commits twice per
    /// certificate: docs/issuance.md).
    pub(crate) async fn sync_log(&self) -> Result<(), Error> {
        use std::sync::atomic::Ordering;
        let Some(log) = self.log.clone() else {
            return Ok(());
        };
        // Taken after our commit: any flush that starts after this covers it.
        let ticket = log.requested.fetch_add(1, Ordering::SeqCst) + 1;
        let mut flushed = log.flushed.lock().await;
        if *flushed >= ticket {
            return Ok(());
        }
        // Every commit that has asked so far happened before this flush starts.
        let upto = log.requested.load(Ordering::SeqCst);
        let flushing = log.clone();
        tokio::task::spawn_blocking(move || flushing.sync())
            .await
            .map_err(|e| Error::Internal(format!("flushing the WAL: {e}")))??;
        *flushed = upto;
        Ok(())
    }
}

impl WriteAheadLog {
    fn sync(&self) -> Result<(), Error> {
        use std::sync::atomic::Ordering;
        let failed =
            |e: std::io::Error| Error::Internal(format!("flushing {}: {e}", self.path.display()));
        std::fs::File::open(&self.path)
            .and_then(|file| file.sync_data())
            .map_err(failed)?;
        if !self.directory_synced.load(Ordering::Relaxed)
            && let Some(directory) = self.path.parent()
        {
            std::fs::File::open(directory)
                .and_then(|dir| dir.sync_all())
                .map_err(failed)?;
            self.directory_synced.store(true, Ordering::Relaxed);
        }
        Ok(())
    }
}

/// Read-only SQLite connections beside the writer (at most `storage.max_connections`).
const SQLITE_READERS: u32 = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
    /// MySQL 8 or MariaDB (InnoDB; tested with MariaDB 10.11). Everything engine-specific
    /// about it is in this file and in the migration's table options:
    /// * sessions run `READ COMMITTED` in strict mode ([`MYSQL_SESSION_SETUP`]);
    /// * `rows_affected` counts *matched* rows, as on the other engines, because sqlx
    ///   always sends `CLIENT_FOUND_ROWS`: a compare-and-set that writes the value a row
    ///   already has (a lease renewed within the same second) still counts as done;
    /// * migrations are serialised by a named lock ([`migrate`]);
    /// * tables use `utf8mb4_bin`, so comparisons are byte-wise and case-sensitive as on
    ///   SQLite and PostgreSQL (see `basalt-migration`).
    MySql,
}

impl Backend {
    fn of(url: &str) -> Result<Self, Error> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else if url.starts_with("mysql://") {
            Ok(Self::MySql)
        } else {
            let scheme = url.split(':').next().unwrap_or_default();
            Err(Error::Internal(format!(
                "unsupported database URL scheme {scheme:?}; use sqlite://, postgres:// or mysql://"
            )))
        }
    }
}

/// How long a pooled connection may sit idle before it is pinged on checkout.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(10);

impl Store {
    /// Connects, applies the per-connection settings and brings the schema up to date.
    ///
    /// SQLite gets WAL (readers never block the writer), foreign keys, a busy timeout and
    /// `synchronous=NORMAL` (a commit survives a process crash at once and a power loss from
    /// the next checkpoint on; safe against corruption in WAL mode; the commit that stores a
    /// certificate is made durable at once, see [`Store::sync_log`]). These are set through the connect options, so every connection the pool
    /// (re)opens has them, not just the first. The writer pool has one connection: SQLite
    /// allows one writer, and a second pooled connection upgrading a read to a write can
    /// fail with SQLITE_BUSY no matter the timeout. Plain lookups go to a separate pool of
    /// read-only connections, which never write and so never meet that failure.
    pub async fn connect(config: &StorageConfig) -> Result<Self, Error> {
        Self::connect_observed(config, None).await
    }

    /// [`Store::connect`], with `observer` told the duration and outcome of every statement
    /// on every pool (the server's metrics).
    pub async fn connect_observed(
        config: &StorageConfig,
        observer: Option<crate::QueryObserver>,
    ) -> Result<Self, Error> {
        let backend = Backend::of(&config.url)?;
        let mut options = ConnectOptions::new(config.url.clone());
        options
            .acquire_timeout(config.acquire_timeout)
            .connect_timeout(config.acquire_timeout)
            // sqlx pings a connection on every checkout by default: a second round trip per
            // statement (a thread hop on SQLite). Only a connection idle long enough to have
            // been dropped by the server or a firewall is tested; a dead one that slips
            // through fails its statement (503, the client retries) and is discarded.
            .test_before_acquire_if_idle_for(IDLE_BEFORE_PING)
            .sqlx_logging(false);
        match backend {
            Backend::Sqlite => {
                options.max_connections(1).map_sqlx_sqlite_opts(|o| {
                    o.journal_mode(SqliteJournalMode::Wal)
                        .foreign_keys(true)
                        .busy_timeout(SQLITE_BUSY_TIMEOUT)
                        .synchronous(SqliteSynchronous::Normal)
                });
            }
            Backend::Postgres => {
                options.max_connections(config.max_connections.max(1));
            }
            Backend::MySql => {
                options
                    .max_connections(config.max_connections.max(1))
                    .map_sqlx_mysql_pool_opts(|o| o.after_connect(mysql_session_setup));
            }
        }
        if backend == Backend::Sqlite
            && let Err(reason) = crate::stable_plans::check_stable_plans()
        {
            tracing::warn!("{reason}");
        }
        let files = match backend {
            Backend::Sqlite => private_sqlite_files(&config.url)?,
            Backend::Postgres | Backend::MySql => None,
        };
        let log = files.as_ref().map(|(_, wal)| {
            Arc::new(WriteAheadLog {
                path: wal.clone(),
                directory_synced: std::sync::atomic::AtomicBool::new(false),
                requested: std::sync::atomic::AtomicU64::new(0),
                flushed: tokio::sync::Mutex::new(0),
            })
        });
        let mut db = Database::connect(options.clone()).await?;
        observe(&mut db, observer.as_ref());
        migrate(&db, backend).await?;
        if backend == Backend::Sqlite {
            // Copy what the migrations wrote into the database file and empty the WAL, so
            // page images a migration purged (key material) do not linger in the WAL.
            db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
                .await?;
        }
        let read = match backend {
            // After migrating: the writer has created the file and switched it to WAL.
            Backend::Sqlite => {
                options
                    .max_connections(SQLITE_READERS.min(config.max_connections.max(1)))
                    .map_sqlx_sqlite_opts(|o| o.read_only(true).busy_timeout(SQLITE_BUSY_TIMEOUT));
                let mut read = Database::connect(options).await?;
                observe(&mut read, observer.as_ref());
                read
            }
            Backend::Postgres | Backend::MySql => db.clone(),
        };
        let inline = match &files {
            Some((database, _)) => Some(Arc::new(InlineWriter::open(
                database,
                SQLITE_BUSY_TIMEOUT,
                db.get_sqlite_connection_pool().clone(),
                observer.clone(),
            )?)),
            None => None,
        };
        let lookup = match &files {
            Some((database, _)) => {
                InlineReader::connect(database, SQLITE_BUSY_TIMEOUT, observer.clone())?
            }
            None => read.clone(),
        };
        Ok(Self {
            db,
            read,
            lookup,
            log,
            inline,
        })
    }

    /// Checks that the database answers (for readiness probes).
    pub async fn ping(&self) -> Result<(), Error> {
        self.db.ping().await.map_err(Error::from)
    }
}

/// Hands every statement's timing on `db` to `observer`.
fn observe(db: &mut DatabaseConnection, observer: Option<&crate::QueryObserver>) {
    if let Some(observer) = observer {
        let observer = observer.clone();
        db.set_metric_callback(move |info| (observer)(info.elapsed, info.failed));
    }
}

/// Owner-only modes for a SQLite database: the file holds every account, order and the nonce
/// key, so only the server's user may read it. SQLite creates a new database file 0644 (less
/// the umask) and gives its `-wal` and `-shm` files the database file's own mode, so:
/// * a database that does not exist yet (and that the URL allows creating, `mode=rwc`) is
///   created here, empty and 0600, for SQLite to open; its `-wal`/`-shm` follow as 0600;
/// * an existing database (say from a version that left it 0644) and its `-wal`/`-shm`
///   lose any group or other permission bits, with a warning.
///
/// In-memory databases have no files. Best effort: what cannot be changed is logged, and
/// SQLite reports a file it cannot open.
///
/// Returns the paths of the database file and its `-wal` file (`None` in memory).
fn private_sqlite_files(
    url: &str,
) -> Result<Option<(std::path::PathBuf, std::path::PathBuf)>, Error> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    use std::str::FromStr as _;

    use sea_orm::sqlx::ConnectOptions as _;
    use sea_orm::sqlx::sqlite::SqliteConnectOptions;

    let io = |path: &std::path::Path, e: std::io::Error| {
        Error::Internal(format!("securing {}: {e}", path.display()))
    };
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| Error::Internal(format!("the SQLite URL: {e}")))?;
    let mode = options
        .to_url_lossy()
        .query_pairs()
        .find(|(k, _)| k == "mode")
        .map(|(_, v)| v.into_owned());
    if mode.as_deref() == Some("memory") {
        return Ok(None);
    }
    let database = options.get_filename().to_path_buf();
    if !database.exists() && mode.as_deref() == Some("rwc") {
        // If this fails, another process created the file meanwhile (tightened below like
        // any existing file), or something SQLite will report (a missing directory, say).
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&database);
    }
    let mut wal = database.clone().into_os_string();
    wal.push("-wal");
    let mut shm = database.clone().into_os_string();
    shm.push("-shm");
    let wal: std::path::PathBuf = wal.into();
    for path in [database.clone(), wal.clone(), shm.into()] {
        let current = match std::fs::metadata(&path) {
            Ok(metadata) => metadata.permissions().mode() & 0o777,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io(&path, e)),
        };
        if current & 0o077 != 0 {
            // A file of another user cannot be changed: say so, and go on as before.
            if let Err(e) =
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(current & 0o700))
            {
                tracing::warn!(
                    path = %path.display(),
                    mode = format_args!("{current:o}"),
                    error = %e,
                    "the database file is readable by group or others and its mode cannot be changed"
                );
                continue;
            }
            tracing::warn!(
                path = %path.display(),
                was = format_args!("{current:o}"),
                "the database file was readable by group or others; its mode is now owner-only"
            );
        }
    }
    Ok(Some((database, wal)))
}

/// Runs [`MYSQL_SESSION_SETUP`] on each new MySQL connection (sea-orm's own
/// `after_connect` runs once per pool, not per connection).
fn mysql_session_setup<'c>(
    conn: &'c mut MySqlConnection,
    _: PoolConnectionMetadata,
) -> Pin<Box<dyn Future<Output = Result<(), sqlx::Error>> + Send + 'c>> {
    Box::pin(async move {
        for statement in MYSQL_SESSION_SETUP {
            conn.execute(statement).await?;
        }
        Ok(())
    })
}

/// Applies pending migrations. sea-orm-migration takes no lock of its own, so replicas
/// starting together serialise here (the later ones then find nothing to do):
/// * PostgreSQL: everything runs in one transaction (DDL is transactional there, so a
///   failed migration leaves nothing half-done) that first takes a transaction-scoped
///   advisory lock.
/// * MySQL: DDL is not transactional (each statement commits implicitly), so the lock is
///   a session-level named lock (`GET_LOCK`), held around `Migrator::up` on one connection.
///   The transaction here only pins that connection: after the first DDL statement it has
///   been committed implicitly, and the statements run one by one. The lock is released
///   explicitly, also when migrating fails (otherwise it would stay with the pooled
///   connection); if the connection dies, the server releases it.
/// * SQLite: one transaction; two processes migrating one SQLite file at the same moment
///   are not supported (SQLite is single-node).
async fn migrate(db: &DatabaseConnection, backend: Backend) -> Result<(), Error> {
    let tx = db.begin().await?;
    match backend {
        Backend::Sqlite => {}
        Backend::Postgres => {
            tx.execute_unprepared(&format!(
                "SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})"
            ))
            .await?;
        }
        Backend::MySql => {
            mysql_lock(&tx).await?;
            let migrated = Migrator::up(&tx, None).await;
            let released = tx
                .execute_unprepared(&format!("DO RELEASE_LOCK({MYSQL_MIGRATION_LOCK})"))
                .await;
            migrated?;
            released?;
            tx.commit().await?;
            return Ok(());
        }
    }
    Migrator::up(&tx, None).await?;
    tx.commit().await?;
    Ok(())
}

/// Takes the MySQL migration lock on `tx`'s connection, waiting for another replica's
/// migration to finish. `GET_LOCK` answers 1 (taken), 0 (timed out) or NULL (error).
async fn mysql_lock(tx: &DatabaseTransaction) -> Result<(), Error> {
    let row = tx
        .query_one_raw(Statement::from_string(
            tx.get_database_backend(),
            format!(
                "SELECT GET_LOCK({MYSQL_MIGRATION_LOCK}, {MYSQL_MIGRATION_LOCK_TIMEOUT_SECS}) AS taken"
            ),
        ))
        .await?;
    let taken: Option<i64> = match row {
        Some(row) => row.try_get("", "taken")?,
        None => None,
    };
    if taken == Some(1) {
        Ok(())
    } else {
        Err(Error::Unavailable(format!(
            "another replica has been migrating the database for over \
             {MYSQL_MIGRATION_LOCK_TIMEOUT_SECS}s (GET_LOCK answered {taken:?})"
        )))
    }
}
