//! The suggested renewal window of ACME Renewal Information (RFC 9773 §4.2), as Boulder
//! computes it, and when a certificate should be renewed at once instead.

use std::time::Duration;

use time::OffsetDateTime;

use crate::config::RenewalSettings;

/// Lifetimes shorter than this renew at half their lifetime by default (Boulder: short-lived
/// certificates get more time to retry).
const SHORT_LIFETIME: Duration = Duration::from_secs(10 * 24 * 3600);

/// RFC 9773 §4.2: `start` ≤ `end`, in whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub(crate) start: OffsetDateTime,
    pub(crate) end: OffsetDateTime,
}

/// Why a certificate should be renewed now (its window is in the past).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RenewNow {
    /// It was revoked (RFC 9773 §4.2: the server may then suggest a window in the past).
    Revoked,
    /// An operator's renew-early notice (`renewal_notices.id`) selected it.
    Notice(i64),
    /// Its intermediate is no longer the area's active one (rotated or retired).
    Rotated,
}

/// What a certificate's state asks of its renewal, most urgent first: a revocation, then an
/// operator's notice, then a rotated intermediate. `None`: the ordinary window.
pub(crate) fn renew_now(
    revoked: bool,
    notice: Option<i64>,
    intermediate_id: Option<i64>,
    active_intermediate_id: i64,
) -> Option<RenewNow> {
    if revoked {
        return Some(RenewNow::Revoked);
    }
    if let Some(notice) = notice {
        return Some(RenewNow::Notice(notice));
    }
    // A certificate from before its area's intermediate was adopted names none; it is
    // not known to be rotated.
    match intermediate_id {
        Some(id) if id != active_intermediate_id => Some(RenewNow::Rotated),
        _ => None,
    }
}

/// Boulder's window: the ideal renewal time at `ideal_at` of the lifetime (two thirds, or
/// one half under ten days), ± `margin` of the lifetime. The lifetime counts both ends
/// (RFC 5280 §4.1.2.5), as Boulder's does.
pub(crate) fn suggested_window(
    settings: &RenewalSettings,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Window {
    let lifetime = (not_after - not_before)
        .whole_seconds()
        .saturating_add(1)
        .max(1);
    let at = settings.ideal_at.unwrap_or(
        if u64::try_from(lifetime).unwrap_or(0) < SHORT_LIFETIME.as_secs() {
            0.5
        } else {
            2.0 / 3.0
        },
    );
    // Whole seconds, rounded: the window is published to the second.
    let seconds =
        |fraction: f64| time::Duration::seconds((lifetime as f64 * fraction).round() as i64);
    let ideal = truncate(not_after) - seconds(1.0 - at);
    let margin = seconds(settings.margin);
    let start = ideal - margin;
    // RFC 9773 §4.2 wants a window, not an instant: at least a second wide.
    let end = (ideal + margin).max(start + time::Duration::SECOND);
    Window { start, end }
}

/// Boulder's "renew now" window: from an hour ago to half an hour ago, so every client
/// sees it entirely in the past and renews at once (RFC 9773 §4.2).
pub(crate) fn immediate_window(now: OffsetDateTime) -> Window {
    let start = truncate(now - time::Duration::HOUR);
    Window {
        start,
        end: start + time::Duration::minutes(30),
    }
}

fn truncate(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const DAY: time::Duration = time::Duration::DAY;

    #[test]
    fn a_90_day_certificate_renews_at_two_thirds_plus_minus_one_percent() {
        let not_before = datetime!(2026-01-01 00:00:00 UTC);
        // notAfter is inclusive: a 90-day certificate ends a second before day 90.
        let not_after = not_before + 90 * DAY - time::Duration::SECOND;
        let w = suggested_window(&RenewalSettings::default(), not_before, not_after);
        let lifetime = 90 * DAY;
        let ideal = not_before + 60 * DAY - time::Duration::SECOND;
        let margin = lifetime / 100;
        assert_eq!(w.start, truncate(ideal - margin));
        assert_eq!(w.end, truncate(ideal + margin));
        // 21 h 36 m either side.
        assert_eq!(w.end - w.start, 2 * margin);
    }

    #[test]
    fn a_day_long_certificate_renews_at_half_its_lifetime() {
        let not_before = datetime!(2026-01-01 00:00:00 UTC);
        let not_after = not_before + DAY - time::Duration::SECOND;
        let w = suggested_window(&RenewalSettings::default(), not_before, not_after);
        // Ideal at 12:00 (minus the inclusive second), ± 14 m 24 s.
        assert_eq!(w.start, datetime!(2026-01-01 11:45:35 UTC));
        assert_eq!(w.end, datetime!(2026-01-01 12:14:23 UTC));
    }

    #[test]
    fn ten_days_is_no_longer_short() {
        let not_before = datetime!(2026-01-01 00:00:00 UTC);
        let not_after = not_before + 10 * DAY - time::Duration::SECOND;
        let w = suggested_window(&RenewalSettings::default(), not_before, not_after);
        let ideal = not_after - (10 * DAY) / 3;
        assert!(w.start < ideal && ideal < w.end, "{w:?}");
        let nine = suggested_window(
            &RenewalSettings::default(),
            not_before,
            not_before + 9 * DAY - time::Duration::SECOND,
        );
        assert!(nine.start < not_before + 4 * DAY + DAY / 2 && nine.end > not_before + 4 * DAY);
    }

    #[test]
    fn configured_position_and_margin_apply() {
        let settings = RenewalSettings {
            ideal_at: Some(0.75),
            margin: 0.05,
            ..RenewalSettings::default()
        };
        let not_before = datetime!(2026-01-01 00:00:00 UTC);
        let not_after = not_before + 100 * DAY - time::Duration::SECOND;
        let w = suggested_window(&settings, not_before, not_after);
        assert_eq!(w.start, not_before + 70 * DAY - time::Duration::SECOND);
        assert_eq!(w.end, not_before + 80 * DAY - time::Duration::SECOND);
    }

    #[test]
    fn a_zero_margin_still_gives_a_window_of_a_second() {
        let settings = RenewalSettings {
            margin: 0.0,
            ..RenewalSettings::default()
        };
        let not_before = datetime!(2026-01-01 00:00:00 UTC);
        let w = suggested_window(&settings, not_before, not_before + DAY);
        assert_eq!(w.end - w.start, time::Duration::SECOND);
    }

    #[test]
    fn the_immediate_window_lies_entirely_in_the_past() {
        let now = datetime!(2026-06-01 12:00:00.5 UTC);
        let w = immediate_window(now);
        assert_eq!(w.start, datetime!(2026-06-01 11:00:00 UTC));
        assert_eq!(w.end, datetime!(2026-06-01 11:30:00 UTC));
    }

    #[test]
    fn revocation_outranks_a_notice_which_outranks_a_rotation() {
        assert_eq!(
            renew_now(true, Some(3), Some(1), 2),
            Some(RenewNow::Revoked)
        );
        assert_eq!(
            renew_now(false, Some(3), Some(1), 2),
            Some(RenewNow::Notice(3))
        );
        assert_eq!(renew_now(false, None, Some(1), 2), Some(RenewNow::Rotated));
        assert_eq!(renew_now(false, None, Some(2), 2), None);
        assert_eq!(renew_now(false, None, None, 2), None);
    }
}
