//! SQLite's issuance transactions without sqlx's thread hand-offs (the storage decision:
//! "the SQLite hot path may leave sqlx's thread-per-connection driver, as long as each query
//! and transaction is still defined once for all three engines").
//!
//! sqlx drives each SQLite connection from a thread of its own: every statement, `BEGIN`,
//! `COMMIT`, and the ping sqlx sends each time a connection goes back to its pool, is a
//! message to that thread and back. On a two-vCPU VM such a hand-off costs far more than the
//! statement (BENCHMARKS.md, "What the profile says"), and on SQLite's single writer they
//! queue. Finalize's reservation and completion (docs/issuance.md) took eleven of them per
//! certificate, against six when signing ran inside one transaction.
//!
//! [`InlineWriter`] runs those transactions on a second connection to the same file, opened
//! with rusqlite, on the calling task: the statements are microseconds of work on a
//! database that nothing else in the process is writing, because the transaction first
//! takes sqlx's only writer connection out of its pool ([`InlineWriter::begin`]) and holds
//! it, unused, until it ends. So one process still has one writer, and other processes (the
//! admin commands) meet SQLite's own lock and busy timeout as before.
//!
//! The statements are the same sea-orm builders the other engines run: [`InlineTx`]
//! implements [`WriteTx`], as sea-orm's transactions do, so the transaction bodies in
//! `issuances.rs` are written once, generic over the writer. Those bodies only write; what
//! a lost compare-and-set needs to read is read after the rollback.

use std::borrow::Cow;
use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use sea_orm::sqlx::pool::PoolConnection;
use sea_orm::sqlx::{self, Sqlite, SqlitePool};
use sea_orm::{
    ActiveModelTrait, DbBackend, DbErr, EntityTrait, Insert, PrimaryKeyTrait, QueryTrait,
    RuntimeErr, Statement, UpdateMany, Value,
};

use crate::error::Error;
use crate::health::QueryObserver;
use crate::writes::{RowId, WriteTx};

/// The second connection to a SQLite file, for the issuance transactions.
pub(crate) struct InlineWriter {
    connection: Mutex<rusqlite::Connection>,
    /// sqlx's writer pool (one connection): a transaction here holds that connection, so
    /// nothing else in this process writes meanwhile.
    gate: SqlitePool,
    observer: Option<QueryObserver>,
}

impl std::fmt::Debug for InlineWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InlineWriter").finish_non_exhaustive()
    }
}

impl InlineWriter {
    /// Opens `database` (migrated, in WAL mode, already) with the writer's settings.
    pub(crate) fn open(
        database: &Path,
        busy_timeout: Duration,
        gate: SqlitePool,
        observer: Option<QueryObserver>,
    ) -> Result<Self, Error> {
        let failed =
            |e: rusqlite::Error| Error::Internal(format!("opening {}: {e}", database.display()));
        let connection = rusqlite::Connection::open_with_flags(
            database,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(failed)?;
        connection.busy_timeout(busy_timeout).map_err(failed)?;
        // The settings of sqlx's writer (connect.rs). Checkpoints are left to that writer,
        // which runs them on its own thread: on this connection a checkpoint would write
        // and sync the database file on the calling task.
        connection
            .execute_batch(
                "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0;",
            )
            .map_err(failed)?;
        Ok(Self {
            connection: Mutex::new(connection),
            gate,
            observer,
        })
    }

    /// Starts a transaction (`BEGIN IMMEDIATE`: the write lock at once), after taking sqlx's
    /// writer out of its pool. Dropping the transaction without [`InlineTx::commit`] rolls
    /// it back.
    pub(crate) async fn begin(&self) -> Result<InlineTx<'_>, Error> {
        let gate = self
            .gate
            .acquire()
            .await
            .map_err(|e| Error::Unavailable(format!("the SQLite writer: {e}")))?;
        let tx = InlineTx {
            writer: self,
            _gate: Mutex::new(gate),
            open: std::sync::atomic::AtomicBool::new(false),
        };
        tx.run("BEGIN IMMEDIATE", Vec::new())
            .map_err(|e| Error::from(DbErr::Exec(e)))?;
        tx.open.store(true, std::sync::atomic::Ordering::Relaxed);
        Ok(tx)
    }
}

/// A transaction of [`InlineWriter`]; a sea-orm connection for the statements in it.
pub(crate) struct InlineTx<'w> {
    writer: &'w InlineWriter,
    /// Held, never used: see [`InlineWriter::begin`].
    _gate: Mutex<PoolConnection<Sqlite>>,
    open: std::sync::atomic::AtomicBool,
}

impl InlineTx<'_> {
    /// Commits. On an error the transaction is rolled back when dropped.
    pub(crate) fn commit(self) -> Result<(), Error> {
        self.run("COMMIT", Vec::new())
            .map_err(|e| Error::from(DbErr::Exec(e)))?;
        self.open.store(false, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    /// Runs one statement; returns the rows it changed and the last inserted rowid.
    fn run(
        &self,
        sql: &str,
        values: Vec<rusqlite::types::Value>,
    ) -> Result<(u64, i64), RuntimeErr> {
        let connection = self
            .writer
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let started = Instant::now();
        let outcome = connection
            .prepare_cached(sql)
            .and_then(|mut statement| statement.execute(rusqlite::params_from_iter(values)))
            .map(|changed| (changed as u64, connection.last_insert_rowid()));
        if let Some(observer) = &self.writer.observer {
            observer(started.elapsed(), outcome.is_err());
        }
        outcome.map_err(|e| {
            let error = sqlx::Error::Database(Box::new(InlineSqliteError::from(e)));
            RuntimeErr::SqlxError(std::sync::Arc::new(error))
        })
    }
}

impl Drop for InlineTx<'_> {
    fn drop(&mut self) {
        if self.open.load(std::sync::atomic::Ordering::Relaxed)
            && let Err(e) = self.run("ROLLBACK", Vec::new())
        {
            tracing::warn!(error = %e, "rolling back a SQLite issuance transaction failed");
        }
    }
}

#[async_trait::async_trait]
impl WriteTx for InlineTx<'_> {
    async fn update<E>(&self, update: UpdateMany<E>) -> Result<u64, DbErr>
    where
        E: EntityTrait,
        UpdateMany<E>: Send,
    {
        let statement = update.build(DbBackend::Sqlite);
        let (rows, _) = self
            .run(&statement.sql, bind(&statement)?)
            .map_err(DbErr::Exec)?;
        Ok(rows)
    }

    async fn insert<A>(&self, insert: Insert<A>) -> Result<RowId, DbErr>
    where
        A: ActiveModelTrait + Send,
        Insert<A>: Send,
        <<A::Entity as EntityTrait>::PrimaryKey as PrimaryKeyTrait>::ValueType: Into<RowId>,
    {
        let statement = insert.build(DbBackend::Sqlite);
        let (_, id) = self
            .run(&statement.sql, bind(&statement)?)
            .map_err(DbErr::Exec)?;
        Ok(id)
    }
}

/// A statement's values as rusqlite binds them (SQLite's storage classes; booleans are
/// integers, as sqlx stores them).
fn bind(statement: &Statement) -> Result<Vec<rusqlite::types::Value>, DbErr> {
    use rusqlite::types::Value as Sql;
    let Some(values) = &statement.values else {
        return Ok(Vec::new());
    };
    values
        .0
        .iter()
        .map(|value| {
            Ok(match value {
                Value::Bool(v) => v.map_or(Sql::Null, |v| Sql::Integer(v.into())),
                Value::TinyInt(v) => v.map_or(Sql::Null, |v| Sql::Integer(v.into())),
                Value::SmallInt(v) => v.map_or(Sql::Null, |v| Sql::Integer(v.into())),
                Value::Int(v) => v.map_or(Sql::Null, |v| Sql::Integer(v.into())),
                Value::BigInt(v) => v.map_or(Sql::Null, Sql::Integer),
                Value::TinyUnsigned(v) => v.map_or(Sql::Null, |v| Sql::Integer(v.into())),
                Value::SmallUnsigned(v) => v.map_or(Sql::Null, |v| Sql::Integer(v.into())),
                Value::Unsigned(v) => v.map_or(Sql::Null, |v| Sql::Integer(v.into())),
                Value::BigUnsigned(v) => match v {
                    None => Sql::Null,
                    Some(v) => Sql::Integer(i64::try_from(*v).map_err(|_| {
                        DbErr::Custom(format!("{v} does not fit SQLite's integer"))
                    })?),
                },
                Value::Float(v) => v.map_or(Sql::Null, |v| Sql::Real(v.into())),
                Value::Double(v) => v.map_or(Sql::Null, Sql::Real),
                Value::String(v) => v.clone().map_or(Sql::Null, Sql::Text),
                Value::Char(v) => v.map_or(Sql::Null, |v| Sql::Text(v.to_string())),
                Value::Bytes(v) => v.clone().map_or(Sql::Null, Sql::Blob),
                other => {
                    return Err(DbErr::Custom(format!(
                        "the inline SQLite writer cannot bind {other:?}"
                    )));
                }
            })
        })
        .collect()
}

/// A rusqlite error as a driver error, so that [`Error::from`] classifies it in the one
/// place database errors are classified (a uniqueness violation, a busy file).
#[derive(Debug)]
pub(crate) struct InlineSqliteError {
    /// SQLite's extended result code, as sqlx reports it for its own connections.
    code: Option<i32>,
    message: String,
}

impl InlineSqliteError {
    /// The extended result code, for [`crate::error`]'s classification.
    pub(crate) fn code(&self) -> Option<i32> {
        self.code
    }
}

impl From<rusqlite::Error> for InlineSqliteError {
    fn from(e: rusqlite::Error) -> Self {
        let code = match &e {
            rusqlite::Error::SqliteFailure(failure, _) => Some(failure.extended_code),
            _ => None,
        };
        Self {
            code,
            message: e.to_string(),
        }
    }
}

impl std::fmt::Display for InlineSqliteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for InlineSqliteError {}

impl sqlx::error::DatabaseError for InlineSqliteError {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        self.code.map(|code| Cow::Owned(code.to_string()))
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> sqlx::error::ErrorKind {
        match self.code {
            // SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE
            Some(1555 | 2067) => sqlx::error::ErrorKind::UniqueViolation,
            // SQLITE_CONSTRAINT_FOREIGNKEY
            Some(787) => sqlx::error::ErrorKind::ForeignKeyViolation,
            // SQLITE_CONSTRAINT_NOTNULL
            Some(1299) => sqlx::error::ErrorKind::NotNullViolation,
            _ => sqlx::error::ErrorKind::Other,
        }
    }
}

#[cfg(test)]
mod tests;
