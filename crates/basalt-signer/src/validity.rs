//! Validity periods: whole-second UTC times, backdating, calendar years.
//!
//! RFC 5280 §4.1.2.5 times have one-second resolution; truncating before signing means the
//! times basalt stores and returns are exactly the ones in the certificate.

use time::{Duration, OffsetDateTime};

/// notBefore of certificates basalt makes for itself (CAs, serving certificates) is backdated
/// this much, so a client whose clock is slightly behind still accepts a fresh one.
pub(crate) const BACKDATE: Duration = Duration::minutes(1);

/// The current UTC time, truncated to whole seconds as X.509 times are (RFC 5280 §4.1.2.5).
pub(crate) fn now_seconds() -> OffsetDateTime {
    truncate_to_seconds(OffsetDateTime::now_utc())
}

/// `t` in UTC without its sub-second part.
pub(crate) fn truncate_to_seconds(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    t - Duration::nanoseconds(i64::from(t.nanosecond()))
}

/// The same calendar date and time `years` later; 29 February becomes 28 February.
pub(crate) fn add_years(t: OffsetDateTime, years: i32) -> OffsetDateTime {
    let year = t.year() + years;
    t.replace_year(year)
        .or_else(|_| (t - Duration::days(1)).replace_year(year))
        // Both dates exist for any year within time's range; stay valid if that ever changes.
        .unwrap_or(t + Duration::days(365 * i64::from(years)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leap_day_plus_years_is_the_28th() {
        let leap = time::macros::datetime!(2028-02-29 12:00 UTC);
        assert_eq!(
            add_years(leap, 5),
            time::macros::datetime!(2033-02-28 12:00 UTC)
        );
        assert_eq!(
            add_years(leap, 4),
            time::macros::datetime!(2032-02-29 12:00 UTC)
        );
    }

    #[test]
    fn times_are_whole_seconds_in_utc() {
        let t = truncate_to_seconds(time::macros::datetime!(2030-01-01 10:00:00.75 +02:00));
        assert_eq!(t, time::macros::datetime!(2030-01-01 08:00 UTC));
        assert_eq!(t.offset(), time::UtcOffset::UTC);
        assert_eq!(now_seconds().nanosecond(), 0);
    }
}
