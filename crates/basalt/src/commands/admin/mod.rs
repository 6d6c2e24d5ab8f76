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
mod renew_early;
pub(crate) mod store;
pub(crate) mod table;

use basalt_protocol::objects::format_timestamp;
use time::OffsetDateTime;

/// Prints one JSON document on stdout. A reader that went away (`| head`) ends the output
/// quietly; `println!` would panic.
pub(crate) fn print_json<T: serde::Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    write_stdout(&text)
}

/// Writes to stdout; a closed pipe (`| head`) is not an error, anything else is.
pub(crate) fn write_stdout(text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// A time as the tables and JSON show it: RFC 3339, UTC, whole seconds.
pub(crate) fn timestamp(t: OffsetDateTime) -> String {
    format_timestamp(t)
}

/// An optional time for a table cell.
pub(crate) fn timestamp_or_dash(t: Option<OffsetDateTime>) -> String {
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
