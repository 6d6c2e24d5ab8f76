//! The admin commands: `basalt certs`, `basalt accounts`, `basalt orders`. They open the
//! database the way `serve` does (`store.rs`), make one or two `Store` calls, and print a
//! table (`table.rs`) or, with `--json`, one JSON document for scripts.
//!
//! They can run beside running servers: every change goes through the same `Store` method
//! the ACME endpoints use (revocation also marks the intermediate's CRL stale, so the CRL
//! job regenerates it).

pub(crate) mod accounts;
pub(crate) mod certs;
pub(crate) mod orders;
mod reason;
mod store;
mod table;

use std::future::Future;

use basalt_protocol::objects::format_timestamp;
use time::OffsetDateTime;

/// Runs an admin command on a small runtime of its own (one database round trip or two
/// need no worker threads).
pub(crate) fn block_on(command: impl Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(command)
}

/// Prints one JSON document on stdout.
fn print_json(value: &serde_json::Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// A time as the tables and JSON show it: RFC 3339, UTC, whole seconds.
fn timestamp(t: OffsetDateTime) -> String {
    format_timestamp(t)
}

/// An optional time for a table cell.
fn timestamp_or_dash(t: Option<OffsetDateTime>) -> String {
    t.map_or_else(|| "-".to_owned(), timestamp)
}

/// The limit flag as a filter (0: no limit).
fn limit(n: u64) -> Option<u64> {
    (n > 0).then_some(n)
}

/// Says on stderr that a listing stopped at its limit, so a table is never mistaken for
/// everything.
fn note_limit(shown: usize, limit: u64) {
    if limit > 0 && shown as u64 >= limit {
        eprintln!("basalt: showing the newest {limit}; --limit N shows more (0: all)");
    }
}
