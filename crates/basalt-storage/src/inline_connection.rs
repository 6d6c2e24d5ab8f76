//! A rusqlite connection as a sea-orm connection: how SQLite's hot statements leave sqlx's
//! thread hand-offs (the storage decision: "the SQLite hot path may leave sqlx's
//! thread-per-connection driver, as long as each query and transaction is still defined once
//! for all three engines").
//!
//! sqlx drives each SQLite connection from a thread of its own, so every statement is a
//! message to that thread and a wake-up back: on a two-vCPU VM that hand-off costs far more
//! than the statement, which works on pages SQLite already has in memory (BENCHMARKS.md,
//! "Inline statements"). Here the statement runs on the calling task instead, in
//! microseconds. Two connections are built this way:
//! - [`InlineReader::connect`]: a read-only connection for the hot lookups (`Store::lookup`);
//! - the inline writer's connection (`inline_sqlite.rs`), for the write transactions it runs
//!   under the process's write gate.
//!
//! sea-orm builds the statements and decodes the rows exactly as it does on sqlx: the
//! connection plugs into sea-orm as a [`DatabaseConnection`] through its pluggable-driver
//! trait ([`MockDatabaseTrait`], which is what sea-orm 2.0 exposes for a driver of one's own;
//! its `proxy` twin does not compile beside `sqlx-mysql`). Each statement's rows come back as
//! sea-orm values typed by the columns' declared SQLite types (`bigint` as `i64`, `boolean`
//! as `bool`, ...), which is what the entities' fields are.
//!
//! One rule follows from how sea-orm hands such rows out: they are decoded **by column
//! name**. Entity models, `find_also_*` joins and single-column tuples are; a tuple of
//! several columns is decoded by position, which these rows do not keep, so such a select
//! must go through sqlx (`Store::read`), never through an inline connection.
//!
//! Transactions are not sea-orm's here: the trait cannot report a failed `COMMIT`, so the
//! inline writer runs `BEGIN IMMEDIATE`/`COMMIT` itself and this connection only runs the
//! statements in between. A lookup is its own read transaction in WAL mode, seeing every
//! commit made before it started.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rusqlite::OpenFlags;
use sea_orm::sqlx;
use sea_orm::{
    DatabaseConnection, DatabaseConnectionType, DbBackend, DbErr, ExecResult, MockDatabase,
    MockDatabaseConnection, MockDatabaseTrait, MockExecResult, QueryResult, RuntimeErr, Statement,
    Transaction, Value,
};

use crate::error::Error;
use crate::health::QueryObserver;

/// The read-only connection for the hot lookups.
pub(crate) struct InlineReader;

impl InlineReader {
    /// Opens `database` (migrated, in WAL mode, already) read-only, as a sea-orm connection.
    pub(crate) fn connect(
        database: &Path,
        busy_timeout: Duration,
        observer: Option<QueryObserver>,
    ) -> Result<DatabaseConnection, Error> {
        let connection = open(database, OpenFlags::SQLITE_OPEN_READ_ONLY, busy_timeout)?;
        Ok(InlineConnection::new(Arc::new(Mutex::new(connection)), false, observer).into_sea_orm())
    }
}

/// Opens a rusqlite connection to `database` with `access` (read-only or read-write), for
/// one task at a time (the caller's mutex), waiting up to `busy_timeout` for a lock.
pub(crate) fn open(
    database: &Path,
    access: OpenFlags,
    busy_timeout: Duration,
) -> Result<rusqlite::Connection, Error> {
    let failed =
        |e: rusqlite::Error| Error::Internal(format!("opening {}: {e}", database.display()));
    let connection =
        rusqlite::Connection::open_with_flags(database, access | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(failed)?;
    connection.busy_timeout(busy_timeout).map_err(failed)?;
    Ok(connection)
}

/// A rusqlite connection that sea-orm runs statements on (a clone shares the connection).
#[derive(Clone)]
pub(crate) struct InlineConnection {
    connection: Arc<Mutex<rusqlite::Connection>>,
    /// False for the lookups' connection: its `execute` is refused before SQLite sees it.
    writes: bool,
    observer: Option<QueryObserver>,
}

impl std::fmt::Debug for InlineConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InlineConnection")
            .field("writes", &self.writes)
            .finish_non_exhaustive()
    }
}

impl InlineConnection {
    pub(crate) fn new(
        connection: Arc<Mutex<rusqlite::Connection>>,
        writes: bool,
        observer: Option<QueryObserver>,
    ) -> Self {
        // Enough for every distinct statement the server runs, so none is prepared twice.
        connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .set_prepared_statement_cache_capacity(128);
        Self {
            connection,
            writes,
            observer,
        }
    }

    /// As a sea-orm connection.
    pub(crate) fn into_sea_orm(self) -> DatabaseConnection {
        DatabaseConnectionType::MockDatabaseConnection(Arc::new(MockDatabaseConnection::new(self)))
            .into()
    }

    /// Runs one statement that changes rows (or `BEGIN`, `COMMIT`, `ROLLBACK`), observed;
    /// the rows it changed and the last inserted rowid.
    pub(crate) fn run(
        &self,
        sql: &str,
        values: Vec<rusqlite::types::Value>,
    ) -> Result<(u64, i64), RuntimeErr> {
        self.observed(|c| execute(c, sql, values))
    }

    /// Runs `work` on the connection, timed for the observer; a rusqlite error as a driver
    /// error, so that `Error::from` classifies it as sqlx's own SQLite errors are.
    fn observed<T>(
        &self,
        work: impl FnOnce(&rusqlite::Connection) -> Result<T, rusqlite::Error>,
    ) -> Result<T, RuntimeErr> {
        let connection = self
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let started = Instant::now();
        let outcome = work(&connection);
        if let Some(observer) = &self.observer {
            observer(started.elapsed(), outcome.is_err());
        }
        outcome.map_err(|e| {
            let error = sqlx::Error::Database(Box::new(InlineSqliteError::from(e)));
            RuntimeErr::SqlxError(Arc::new(error))
        })
    }
}

/// Runs a statement that changes rows; the rows it changed and the last inserted rowid.
fn execute(
    connection: &rusqlite::Connection,
    sql: &str,
    values: Vec<rusqlite::types::Value>,
) -> Result<(u64, i64), rusqlite::Error> {
    let changed = connection
        .prepare_cached(sql)?
        .execute(rusqlite::params_from_iter(values))?;
    Ok((changed as u64, connection.last_insert_rowid()))
}

/// Runs a query; its rows, each column by name.
fn rows(
    connection: &rusqlite::Connection,
    sql: &str,
    values: Vec<rusqlite::types::Value>,
) -> Result<Vec<BTreeMap<String, Value>>, rusqlite::Error> {
    let mut statement = connection.prepare_cached(sql)?;
    let columns: Vec<(String, Declared)> = statement
        .columns()
        .iter()
        .map(|c| (c.name().to_owned(), Declared::of(c.decl_type())))
        .collect();
    let mut rows = statement.query(rusqlite::params_from_iter(values))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut decoded = BTreeMap::new();
        for (i, (name, declared)) in columns.iter().enumerate() {
            decoded.insert(name.clone(), declared.value(row.get_ref(i)?)?);
        }
        out.push(decoded);
    }
    Ok(out)
}

/// What a column was declared as (its SQLite type name), which is what the entity field
/// it is decoded into expects: sea-orm's migrations declare `bigint`, `boolean`,
/// `smallint`, `varchar(n)`, `text` and `blob`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Declared {
    BigInt,
    SmallInt,
    Bool,
    Text,
    Bytes,
    Double,
    /// An expression: typed by the value it holds.
    Untyped,
}

impl Declared {
    /// SQLite's type affinity rules (datatype3.html §3.1), with the integer kinds sea-orm
    /// tells apart.
    fn of(declared: Option<&str>) -> Self {
        let Some(declared) = declared else {
            return Self::Untyped;
        };
        let declared = declared.to_ascii_lowercase();
        if declared.contains("bool") {
            Self::Bool
        } else if declared.contains("smallint") {
            Self::SmallInt
        } else if declared.contains("int") {
            Self::BigInt
        } else if ["char", "clob", "text"]
            .iter()
            .any(|t| declared.contains(t))
        {
            Self::Text
        } else if declared.contains("blob") || declared.contains("binary") {
            Self::Bytes
        } else if ["real", "floa", "doub"]
            .iter()
            .any(|t| declared.contains(t))
        {
            Self::Double
        } else {
            Self::Untyped
        }
    }

    /// `value` as the sea-orm value this column decodes from (a NULL as this type's null).
    fn value(self, value: rusqlite::types::ValueRef<'_>) -> Result<Value, rusqlite::Error> {
        use rusqlite::types::ValueRef;
        let mismatch = |what: &str| {
            rusqlite::Error::FromSqlConversionFailure(
                0,
                value.data_type(),
                format!("a {what} column holds a {}", value.data_type()).into(),
            )
        };
        let declared = match (self, value) {
            (Self::Untyped, ValueRef::Integer(_)) => Self::BigInt,
            (Self::Untyped, ValueRef::Text(_)) => Self::Text,
            (Self::Untyped, ValueRef::Blob(_)) => Self::Bytes,
            (Self::Untyped, ValueRef::Real(_)) => Self::Double,
            (declared, _) => declared,
        };
        Ok(match (declared, value) {
            (Self::BigInt, ValueRef::Null) | (Self::Untyped, ValueRef::Null) => Value::BigInt(None),
            (Self::BigInt, ValueRef::Integer(v)) => Value::BigInt(Some(v)),
            (Self::SmallInt, ValueRef::Null) => Value::SmallInt(None),
            (Self::SmallInt, ValueRef::Integer(v)) => {
                Value::SmallInt(Some(i16::try_from(v).map_err(|_| mismatch("smallint"))?))
            }
            (Self::Bool, ValueRef::Null) => Value::Bool(None),
            (Self::Bool, ValueRef::Integer(v)) => Value::Bool(Some(v != 0)),
            (Self::Text, ValueRef::Null) => Value::String(None),
            (Self::Text, ValueRef::Text(v)) => Value::String(Some(
                std::str::from_utf8(v)
                    .map_err(|_| mismatch("text"))?
                    .to_owned(),
            )),
            (Self::Bytes, ValueRef::Null) => Value::Bytes(None),
            (Self::Bytes, ValueRef::Blob(v)) => Value::Bytes(Some(v.to_vec())),
            (Self::Double, ValueRef::Null) => Value::Double(None),
            (Self::Double, ValueRef::Real(v)) => Value::Double(Some(v)),
            (Self::Double, ValueRef::Integer(v)) => Value::Double(Some(v as f64)),
            (Self::BigInt, _) => return Err(mismatch("bigint")),
            (Self::SmallInt, _) => return Err(mismatch("smallint")),
            (Self::Bool, _) => return Err(mismatch("boolean")),
            (Self::Text, _) => return Err(mismatch("text")),
            (Self::Bytes, _) => return Err(mismatch("blob")),
            (Self::Double, _) => return Err(mismatch("real")),
            (Self::Untyped, _) => unreachable!("typed by its value above"),
        })
    }
}

impl MockDatabaseTrait for InlineConnection {
    fn execute(&mut self, _counter: usize, statement: Statement) -> Result<ExecResult, DbErr> {
        if !self.writes {
            return Err(DbErr::Custom(format!(
                "the SQLite lookup connection is read-only: {}",
                statement.sql
            )));
        }
        let values = bind(&statement)?;
        let (rows_affected, rowid) = self.run(&statement.sql, values).map_err(DbErr::Exec)?;
        // sea-orm makes results only from its own drivers' rows; this is its way in for a
        // driver of one's own.
        MockDatabase::new(DbBackend::Sqlite)
            .append_exec_results([MockExecResult {
                // A rowid is positive whenever a row was inserted.
                last_insert_id: u64::try_from(rowid).unwrap_or_default(),
                rows_affected,
            }])
            .execute(0, statement)
    }

    fn query(&mut self, _counter: usize, statement: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let values = bind(&statement)?;
        let rows = self
            .observed(|c| rows(c, &statement.sql, values))
            .map_err(DbErr::Query)?;
        MockDatabase::new(DbBackend::Sqlite)
            .append_query_results([rows])
            .query(0, statement)
    }

    // sea-orm's transactions never run here (see the module's comment): the inline writer
    // begins and commits them itself.
    fn begin(&mut self) {}

    fn commit(&mut self) {}

    fn rollback(&mut self) {}

    fn drain_transaction_log(&mut self) -> Vec<Transaction> {
        Vec::new()
    }

    fn get_database_backend(&self) -> DbBackend {
        DbBackend::Sqlite
    }

    fn ping(&self) -> Result<(), DbErr> {
        Ok(())
    }
}

/// A statement's values as rusqlite binds them (SQLite's storage classes; booleans are
/// integers, as sqlx stores them).
pub(crate) fn bind(statement: &Statement) -> Result<Vec<rusqlite::types::Value>, DbErr> {
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
