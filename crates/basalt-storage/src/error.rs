//! The storage error type, and the one place database errors are classified.
//!
//! Callers are expected to map them roughly as: `NotFound` → 404, `Duplicate` and
//! `WrongState` → 409 or a more precise ACME problem (phrased by the caller: the driver's
//! text in `Duplicate::detail` is for logs only), `Unavailable` → 503 with `Retry-After`,
//! `Internal` → 500.
//! So only errors that a retry a moment later could fix are classified as `Unavailable`.

use sea_orm::{DbErr, RuntimeErr, SqlErr, sqlx};

use crate::inline_connection::InlineSqliteError;

/// What went wrong in a storage call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The row the call is about does not exist (or no longer matches, for compare-and-set
    /// calls documented to say so).
    #[error("not found")]
    NotFound,
    /// A uniqueness rule refused the write. `what` names the rule in the caller's terms
    /// ("account key", "certificate serial"), or is [`UNEXPECTED_DUPLICATE`] when the
    /// database reported one no method expected; `detail` is the driver's message, for logs
    /// only (it may quote SQL).
    #[error("duplicate {what}: {detail}")]
    Duplicate { what: &'static str, detail: String },
    /// A status compare-and-set found the row in another state: `what` names the row
    /// (`"order 7"`), `current` the state it is in.
    #[error("{what} is {current}")]
    WrongState { what: String, current: String },
    /// The database cannot be reached: connection refused, pool timeout, connection lost,
    /// (SQLite) the file stayed locked past the busy timeout, or (MySQL) a deadlock or lock
    /// wait timeout rolled the statement back.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else, including stored data that does not decode (a bug or corruption).
    #[error("internal storage error: {0}")]
    Internal(String),
}

impl From<DbErr> for Error {
    fn from(err: DbErr) -> Self {
        if let Some(inline) = inline_sqlite_error(&err) {
            return inline;
        }
        if let Some(SqlErr::UniqueConstraintViolation(detail)) = err.sql_err() {
            return Self::Duplicate {
                what: UNEXPECTED_DUPLICATE,
                detail,
            };
        }
        match &err {
            DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => Self::Unavailable(err.to_string()),
            DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e))
                if is_connection_error(e) =>
            {
                Self::Unavailable(err.to_string())
            }
            _ => Self::Internal(err.to_string()),
        }
    }
}

/// Whether `err` is a uniqueness violation, on any engine or connection (sea-orm's own
/// `sql_err` does not know the inline SQLite connections' errors).
pub(crate) fn is_unique_violation(err: &DbErr) -> bool {
    match inline_sqlite_error(err) {
        Some(inline) => matches!(inline, Error::Duplicate { .. }),
        None => matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))),
    }
}

/// An error of the inline SQLite writer (`inline_sqlite.rs`), classified as sqlx's own
/// SQLite errors are: uniqueness, then the busy and locked codes of [`is_connection_error`].
fn inline_sqlite_error(err: &DbErr) -> Option<Error> {
    let (DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e))) = err
    else {
        return None;
    };
    let sqlx::Error::Database(db) = e.as_ref() else {
        return None;
    };
    let inline = db.try_downcast_ref::<InlineSqliteError>()?;
    Some(match inline.code() {
        Some(1555 | 2067) => Error::Duplicate {
            what: UNEXPECTED_DUPLICATE,
            detail: inline.to_string(),
        },
        Some(code) if SQLITE_UNAVAILABLE.contains(&code) => Error::Unavailable(err.to_string()),
        _ => Error::Internal(err.to_string()),
    })
}

/// SQLITE_BUSY (5) and its extended codes (261, 517, 773), SQLITE_LOCKED (6, 262),
/// SQLITE_CANTOPEN (14): the file is held by someone else or cannot be opened.
const SQLITE_UNAVAILABLE: [i32; 7] = [5, 261, 517, 773, 6, 262, 14];

/// True for sqlx errors that mean "the database is not reachable right now" (or, for
/// MySQL's deadlocks and lock wait timeouts, "try again") rather than "this statement is
/// wrong".
fn is_connection_error(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            if db
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .is_some()
            {
                // SQLSTATE class 08 (connection exception), 57P01..57P03 (server shutting
                // down or not yet accepting connections), 53300 (too many connections);
                // 40P01 (deadlock detected) and 40001 (serialization failure): the
                // transaction was rolled back and a retry fixes it, as for MySQL below.
                code.starts_with("08")
                    || code.starts_with("57P0")
                    || matches!(code.as_ref(), "53300" | "40P01" | "40001")
            } else if let Some(mysql) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
                // MySQL/MariaDB error numbers (`code()` is only the SQLSTATE): 1040 and 1203
                // (too many connections), 1053 (server shutting down), 1152 and 1158..1161
                // (connection aborted, network read/write failed), 1927 (MariaDB: connection
                // killed), 4031 (MySQL: disconnected for inactivity); 1205 (lock wait
                // timeout) and 1213 (deadlock, the transaction was rolled back), which
                // InnoDB reports far more readily than PostgreSQL and a retry fixes.
                matches!(
                    mysql.number(),
                    1040 | 1203 | 1053 | 1152 | 1158..=1161 | 1927 | 4031 | 1205 | 1213
                )
            } else if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                code.parse::<i32>()
                    .is_ok_and(|code| SQLITE_UNAVAILABLE.contains(&code))
            } else {
                false
            }
        }
        _ => false,
    }
}

/// `Duplicate::what` of a uniqueness violation that no storage method expected.
pub const UNEXPECTED_DUPLICATE: &str = "record";

impl Error {
    /// Names the uniqueness rule of a [`Error::Duplicate`] the calling method expects;
    /// other errors pass through.
    pub(crate) fn duplicate_of(self, what: &'static str) -> Self {
        match self {
            Self::Duplicate { detail, .. } => Self::Duplicate { what, detail },
            other => other,
        }
    }
}

/// Builds the error for stored data that does not decode. Stored data is only ever
/// written by this crate, so this means a bug or manual tampering.
pub(crate) fn corrupt(
    table: &str,
    column: &str,
    id: impl std::fmt::Display,
    why: impl std::fmt::Display,
) -> Error {
    Error::Internal(format!("corrupt {table}.{column} in row {id}: {why}"))
}
