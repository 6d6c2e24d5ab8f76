//! Connecting, per-connection settings, and migrating at startup.

use std::time::Duration;

use basalt_migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, TransactionTrait};

use crate::config::StorageConfig;
use crate::error::Error;

/// How long SQLite waits for a lock held by another connection (or process) before failing.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The key of the PostgreSQL advisory lock that serialises migrations across replicas
/// (RFC 8555's number; any constant shared by all replicas works).
const MIGRATION_LOCK_KEY: i64 = 8555;

/// The handle every part of the server shares. Cloning is cheap (a pool handle); the store
/// keeps no other state, so any replica can serve any request.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) db: DatabaseConnection,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn of(url: &str) -> Result<Self, Error> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            let scheme = url.split(':').next().unwrap_or_default();
            Err(Error::Internal(format!(
                "unsupported database URL scheme {scheme:?}; use sqlite:// or postgres://"
            )))
        }
    }
}

impl Store {
    /// Connects, applies the per-connection settings and brings the schema up to date.
    ///
    /// SQLite gets WAL (readers never block the writer), foreign keys, a busy timeout and
    /// `synchronous=NORMAL` (durable at each checkpoint, safe against corruption in WAL
    /// mode). These are set through the connect options, so every connection the pool
    /// (re)opens has them, not just the first. The pool has one connection: SQLite allows
    /// one writer, and a second pooled connection upgrading a read to a write can fail
    /// with SQLITE_BUSY no matter the timeout.
    pub async fn connect(config: &StorageConfig) -> Result<Self, Error> {
        let backend = Backend::of(&config.url)?;
        let mut options = ConnectOptions::new(config.url.clone());
        options
            .acquire_timeout(config.acquire_timeout)
            .connect_timeout(config.acquire_timeout)
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
        }
        let db = Database::connect(options).await?;
        migrate(&db, backend).await?;
        Ok(Self { db })
    }

    /// Checks that the database answers (for readiness probes).
    pub async fn ping(&self) -> Result<(), Error> {
        self.db.ping().await.map_err(Error::from)
    }
}

/// Applies pending migrations in one transaction, so a failed migration leaves nothing
/// half-done. sea-orm-migration takes no lock of its own: on PostgreSQL the transaction
/// first takes a transaction-scoped advisory lock, so replicas starting together migrate
/// one after another (the later ones then find nothing to do). Two processes migrating
/// one SQLite file at the same moment are not supported (SQLite is single-node).
async fn migrate(db: &DatabaseConnection, backend: Backend) -> Result<(), Error> {
    let tx = db.begin().await?;
    if backend == Backend::Postgres {
        tx.execute_unprepared(&format!(
            "SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})"
        ))
        .await?;
    }
    Migrator::up(&tx, None).await?;
    tx.commit().await?;
    Ok(())
}
