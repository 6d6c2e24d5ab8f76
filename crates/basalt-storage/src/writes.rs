//! The write path's one shape, on every engine: a transaction (or a single statement) whose
//! body is written once against sea-orm's `ConnectionTrait`, run on SQLite files by the
//! inline writer (`inline_sqlite.rs`: under the process's write gate, each statement on the
//! calling task) and elsewhere by sea-orm on `Store::db`.

/// Runs `$body` in one write transaction, with `$tx` its connection (a `&impl
/// ConnectionTrait`): on a SQLite file on the inline writer (`inline_sqlite.rs`: under the
/// process's write gate, each statement on the calling task), elsewhere in a sea-orm
/// transaction on `Store::db`. The body is written once for both. Leaving it early (`?`,
/// `return`) drops the transaction uncommitted, which rolls it back; a body that ends
/// commits, whatever value it produces.
///
/// With `commit_if`, a predicate on the body's value, the transaction commits only when it
/// holds and otherwise rolls back, returning the value all the same (a compare-and-set that
/// found the row moved).
macro_rules! write_transaction {
    ($store:expr, |$tx:ident| $body:expr) => {
        $crate::writes::write_transaction!($store, |$tx| $body, commit_if(|_| true))
    };
    ($store:expr, |$tx:ident| $body:expr, commit_if $keep:expr) => {
        match &$store.inline {
            Some(inline) => {
                let transaction = inline.begin().await?;
                let out = {
                    let $tx = transaction.connection();
                    $body
                };
                if ($keep)(&out) {
                    transaction.commit()?;
                }
                out
            }
            None => {
                let transaction = sea_orm::TransactionTrait::begin(&$store.db).await?;
                let out = {
                    let $tx = &transaction;
                    $body
                };
                if ($keep)(&out) {
                    transaction.commit().await?;
                }
                out
            }
        }
    };
}

/// Runs `$body`, a single write statement on `$conn`: on a SQLite file on the inline writer
/// (a transaction of its own under the write gate), elsewhere on `Store::db` as is (one
/// statement needs no transaction, and a `BEGIN` would be a round trip more).
macro_rules! write_statement {
    ($store:expr, |$conn:ident| $body:expr) => {
        match &$store.inline {
            Some(_) => $crate::writes::write_transaction!($store, |$conn| $body),
            None => {
                let $conn = &$store.db;
                $body
            }
        }
    };
}

pub(crate) use {write_statement, write_transaction};
