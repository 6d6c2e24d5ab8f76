//! `Retry-After` (RFC 9110 §10.2.3), which RFC 8555 §7.4 and §8.2 use for "poll again later"
//! and servers send with `503 Service Unavailable`.

use std::time::{Duration, SystemTime};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;

/// Parses either form of the header: delay-seconds, or an HTTP-date (IMF-fixdate, which is
/// RFC 2822 syntax with the zone `GMT`). A date in the past means "now"; anything unreadable
/// is treated as absent.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = OffsetDateTime::parse(value, &Rfc2822).ok()?;
    let now = OffsetDateTime::from(now);
    let wait = at - now;
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(unix: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(unix)
    }

    #[test]
    fn delay_seconds() {
        assert_eq!(parse_retry_after("1", at(0)), Some(Duration::from_secs(1)));
        assert_eq!(
            parse_retry_after(" 120 ", at(0)),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after("0", at(0)), Some(Duration::ZERO));
    }

    #[test]
    fn http_date_is_relative_to_now() {
        // Sun, 06 Nov 1994 08:49:37 GMT is 784111777 (RFC 9110's own example date).
        let date = "Sun, 06 Nov 1994 08:49:37 GMT";
        assert_eq!(
            parse_retry_after(date, at(784_111_770)),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after(date, at(784_111_800)),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn garbage_and_negative_numbers_are_absent() {
        assert_eq!(parse_retry_after("soon", at(0)), None);
        assert_eq!(parse_retry_after("-3", at(0)), None);
        assert_eq!(parse_retry_after("", at(0)), None);
    }
}
