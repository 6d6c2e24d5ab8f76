//! SQLite's write transactions without sqlx's thread hand-offs (the storage decision: "the
//! SQLite hot path may leave sqlx's thread-per-connection driver, as long as each query and
//! transaction is still defined once for all three engines").
//!
//! sqlx drives each SQLite connection from a thread of its own: every statement, `BEGIN`,
//! `COMMIT`, and the ping sqlx sends each time a connection goes back to its pool, is a
//! message to that thread and back. On a two-vCPU VM such a hand-off costs far more than the
//! statement (BENCHMARKS.md, "What the profile says"), and SQLite has one writer, so every
//! hand-off made while a transaction is open is time nobody else can write: under load the
//! writer was busy all the time (BENCHMARKS.md, "Inline statements").
//!
//! [`InlineWriter`] runs the write transactions on a second connection to the same file,
//! opened with rusqlite, on the calling task: the statements are microseconds of work on a
//! database that nothing else in the process is writing, because the transaction first
//! takes sqlx's only writer connection out of its pool ([`InlineWriter::begin`]) and holds
//! it, unused, until it ends. So one process still has one writer, and other processes (the
//! admin commands) meet SQLite's own lock and busy timeout as before.
//!
//! The statements are the same sea-orm builders the other engines run: inside a
//! transaction, [`InlineTx::connection`] is this connection as a sea-orm connection
//! (`inline_connection.rs`), and `writes.rs`'s `write_transaction!` runs a body written
//! once against `ConnectionTrait` either here or in a sea-orm transaction. `BEGIN
//! IMMEDIATE`, `COMMIT` and `ROLLBACK` are run here, not by sea-orm, so that a failed
//! commit is reported.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sea_orm::sqlx::pool::PoolConnection;
use sea_orm::sqlx::{Sqlite, SqlitePool};
use sea_orm::{DatabaseConnection, DbErr, RuntimeErr};

use crate::error::Error;
use crate::health::QueryObserver;
use crate::inline_connection::{self, InlineConnection};

/// The second connection to a SQLite file, for the write transactions.
pub(crate) struct InlineWriter {
    /// The connection, for `BEGIN IMMEDIATE`, `COMMIT` and `ROLLBACK`.
    control: InlineConnection,
    /// The same connection as a sea-orm connection, for the statements of a transaction
    /// ([`InlineTx::connection`]).
    statements: DatabaseConnection,
    /// sqlx's writer pool (one connection): a transaction here holds that connection, so
    /// nothing else in this process writes meanwhile.
    gate: SqlitePool,
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
        let connection = inline_connection::open(
            database,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE,
            busy_timeout,
        )?;
        let failed =
            |e: rusqlite::Error| Error::Internal(format!("opening {}: {e}", database.display()));
        // The settings of sqlx's writer (connect.rs). Checkpoints are left to that writer,
        // which runs them on its own thread: on this connection a checkpoint would write
        // and sync the database file on the calling task.
        connection
            .execute_batch(
                "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0;",
            )
            .map_err(failed)?;
        let control = InlineConnection::new(Arc::new(Mutex::new(connection)), true, observer);
        let statements = control.clone().into_sea_orm();
        Ok(Self {
            control,
            statements,
            gate,
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
        tx.run("BEGIN IMMEDIATE")
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
    /// This transaction's connection for sea-orm's statements (queries and writes), valid
    /// until the transaction ends: never keep it beyond (it would write without the gate).
    pub(crate) fn connection(&self) -> &DatabaseConnection {
        &self.writer.statements
    }

    /// Commits. On an error the transaction is rolled back when dropped.
    pub(crate) fn commit(self) -> Result<(), Error> {
        self.run("COMMIT")
            .map_err(|e| Error::from(DbErr::Exec(e)))?;
        self.open.store(false, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    /// Runs `BEGIN IMMEDIATE`, `COMMIT` or `ROLLBACK`.
    fn run(&self, sql: &str) -> Result<(u64, i64), RuntimeErr> {
        self.writer.control.run(sql, Vec::new())
    }
}

impl Drop for InlineTx<'_> {
    fn drop(&mut self) {
        if self.open.load(std::sync::atomic::Ordering::Relaxed)
            && let Err(e) = self.run("ROLLBACK")
        {
            tracing::warn!(error = %e, "rolling back a SQLite write transaction failed");
        }
    }
}

#[cfg(test)]
mod tests;
