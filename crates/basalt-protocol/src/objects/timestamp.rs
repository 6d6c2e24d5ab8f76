//! RFC 3339 timestamps, the format of every date in RFC 8555 objects (§7.1).

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Formats a time as RFC 3339 in UTC, to the second (`2026-11-23T22:35:00Z`).
pub fn format_timestamp(t: OffsetDateTime) -> String {
    let t = t
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(t);
    t.format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Parses an RFC 3339 timestamp from a client (`notBefore`/`notAfter`, §7.4).
pub fn parse_timestamp(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}
