//! Time as stored: BIGINT unix seconds, UTC.
//!
//! Integers compare and index identically on SQLite, PostgreSQL and MySQL, which text or
//! engine-specific timestamp types do not (sea-orm stores `OffsetDateTime` as text on SQLite).
//! The price is sub-second precision, which nothing in ACME needs: values read back are
//! truncated to whole seconds.

use ::time::OffsetDateTime;

use crate::error::{Error, corrupt};

/// The stored form of an instant.
pub(crate) fn to_unix(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

/// The stored form of an optional instant.
pub(crate) fn to_unix_opt(t: Option<OffsetDateTime>) -> Option<i64> {
    t.map(to_unix)
}

/// `now + duration`, in stored form; saturates instead of overflowing on absurd durations.
pub(crate) fn unix_after(now: OffsetDateTime, duration: std::time::Duration) -> i64 {
    let secs = i64::try_from(duration.as_secs()).unwrap_or(i64::MAX);
    // Round a fractional second up, so a lease or TTL is never shorter than asked.
    let secs = if duration.subsec_nanos() > 0 {
        secs.saturating_add(1)
    } else {
        secs
    };
    to_unix(now).saturating_add(secs)
}

/// Decodes a stored instant; out-of-range values are corrupt data.
pub(crate) fn from_unix(
    value: i64,
    table: &str,
    column: &str,
    id: impl std::fmt::Display,
) -> Result<OffsetDateTime, Error> {
    OffsetDateTime::from_unix_timestamp(value).map_err(|e| corrupt(table, column, id, e))
}

/// Decodes an optional stored instant.
pub(crate) fn from_unix_opt(
    value: Option<i64>,
    table: &str,
    column: &str,
    id: impl std::fmt::Display,
) -> Result<Option<OffsetDateTime>, Error> {
    value.map(|v| from_unix(v, table, column, id)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_truncates_to_seconds() {
        let t = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
            + time::Duration::milliseconds(700);
        let back = from_unix(to_unix(t), "t", "c", 1).unwrap();
        assert_eq!(back.unix_timestamp(), 1_800_000_000);
        assert!(from_unix(i64::MAX, "t", "c", 1).is_err());
    }

    #[test]
    fn durations_round_up() {
        let t = OffsetDateTime::from_unix_timestamp(100).unwrap();
        assert_eq!(unix_after(t, std::time::Duration::from_millis(1500)), 102);
        assert_eq!(unix_after(t, std::time::Duration::from_secs(30)), 130);
        assert_eq!(unix_after(t, std::time::Duration::MAX), i64::MAX);
    }
}
