//! Certificate validity windows: the defaults, and a client's notBefore/notAfter (RFC 8555
//! §7.4) checked against the directory's policy.

use std::time::Duration;

use basalt_protocol::Problem;
use basalt_protocol::objects::parse_timestamp;
use time::OffsetDateTime;

use crate::config::IssuancePolicy;

/// A window a client asked for in newOrder, checked and kept on the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct RequestedValidity {
    pub not_before: Option<OffsetDateTime>,
    pub not_after: Option<OffsetDateTime>,
}

/// Checks notBefore/notAfter of a newOrder: honoured when within policy, refused with a
/// reason otherwise (RFC 8555 §7.4 lets the server reject values it will not honour).
pub(crate) fn check_requested_validity(
    not_before: Option<&str>,
    not_after: Option<&str>,
    policy: &IssuancePolicy,
    now: OffsetDateTime,
) -> Result<RequestedValidity, Problem> {
    let parse = |name: &str, value: Option<&str>| -> Result<Option<OffsetDateTime>, Problem> {
        value
            .map(|v| {
                parse_timestamp(v).ok_or_else(|| {
                    Problem::malformed(format!("{name} {v:?} is not an RFC 3339 timestamp"))
                })
            })
            .transpose()
    };
    let requested = RequestedValidity {
        not_before: parse("notBefore", not_before)?,
        not_after: parse("notAfter", not_after)?,
    };
    // Client values are bounded before any arithmetic uses them: a notBefore or notAfter
    // near year 9999 would otherwise overflow the window computation below.
    let earliest = checked_sub(now, policy.backdate + Duration::from_secs(3600))?;
    let latest_start = checked_add(now, policy.order_lifetime)?;
    if let Some(nb) = requested.not_before {
        if nb > latest_start {
            return Err(Problem::malformed(format!(
                "notBefore is too far in the future; it must be within {} of now",
                humantime::format_duration(policy.order_lifetime)
            )));
        }
        if nb < earliest {
            return Err(Problem::malformed(
                "notBefore may not be more than an hour in the past",
            ));
        }
    }
    if let Some(na) = requested.not_after
        && na > checked_add(latest_start, policy.max_certificate_lifetime)?
    {
        return Err(Problem::malformed(format!(
            "notAfter is too far in the future; the longest lifetime this CA issues is {}",
            humantime::format_duration(policy.max_certificate_lifetime)
        )));
    }
    let (start, end) = window(requested, policy, now)?;
    if end <= start || end <= now {
        return Err(Problem::malformed(
            "notAfter must be later than notBefore and than now",
        ));
    }
    let lifetime = end - start + time::Duration::SECOND;
    if lifetime > policy.max_certificate_lifetime {
        return Err(Problem::malformed(format!(
            "the requested lifetime exceeds this CA's maximum of {}",
            humantime::format_duration(policy.max_certificate_lifetime)
        )));
    }
    Ok(requested)
}

/// The notBefore and notAfter a certificate gets. Default: backdated notBefore, and
/// notAfter one second short of the lifetime because RFC 5280 §4.1.2.5 counts both ends (as
/// Boulder does).
///
/// Checked arithmetic throughout: an out-of-range result is a `malformed` problem, never a
/// panic (the values may come from a client).
pub(crate) fn window(
    requested: RequestedValidity,
    policy: &IssuancePolicy,
    now: OffsetDateTime,
) -> Result<(OffsetDateTime, OffsetDateTime), Problem> {
    let start = match requested.not_before {
        Some(nb) => nb,
        None => checked_sub(now, policy.backdate)?,
    };
    let end = match requested.not_after {
        Some(na) => na,
        None => checked_add(start, policy.certificate_lifetime)?
            .checked_sub(time::Duration::SECOND)
            .ok_or_else(out_of_range)?,
    };
    Ok((start, end))
}

fn checked_add(t: OffsetDateTime, d: Duration) -> Result<OffsetDateTime, Problem> {
    time::Duration::try_from(d)
        .ok()
        .and_then(|d| t.checked_add(d))
        .ok_or_else(out_of_range)
}

fn checked_sub(t: OffsetDateTime, d: Duration) -> Result<OffsetDateTime, Problem> {
    time::Duration::try_from(d)
        .ok()
        .and_then(|d| t.checked_sub(d))
        .ok_or_else(out_of_range)
}

fn out_of_range() -> Problem {
    Problem::malformed("the requested validity period is out of the range of dates this CA issues")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_window_is_the_lifetime_counting_both_ends() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let policy = IssuancePolicy::default();
        let (nb, na) = window(RequestedValidity::default(), &policy, now).unwrap();
        assert_eq!(nb, now - Duration::from_secs(60));
        assert_eq!(na - nb + time::Duration::SECOND, time::Duration::hours(24));
    }

    #[test]
    fn requested_windows_are_honoured_within_policy_only() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let policy = IssuancePolicy::default();
        let ts = |t: OffsetDateTime| basalt_protocol::objects::format_timestamp(t);
        let ok = check_requested_validity(
            Some(&ts(now)),
            Some(&ts(now + Duration::from_secs(3600))),
            &policy,
            now,
        )
        .unwrap();
        assert_eq!(ok.not_after, Some(now + Duration::from_secs(3600)));
        assert!(
            check_requested_validity(
                None,
                Some(&ts(now + Duration::from_secs(48 * 3600))),
                &policy,
                now
            )
            .is_err()
        );
        assert!(
            check_requested_validity(None, Some(&ts(now - Duration::from_secs(10))), &policy, now)
                .is_err()
        );
        assert!(check_requested_validity(Some("yesterday"), None, &policy, now).is_err());
    }

    /// A client's notBefore/notAfter near the end of the representable range used to
    /// overflow the window computation and panic the handler.
    #[test]
    fn far_future_values_are_refused_not_overflowed() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let policy = IssuancePolicy::default();
        for (nb, na) in [
            (Some("9999-12-31T23:59:59Z"), None),
            (None, Some("9999-12-31T23:59:59Z")),
            (Some("9999-12-31T23:59:59Z"), Some("9999-12-31T23:59:59Z")),
            (Some("0001-01-01T00:00:00Z"), None),
        ] {
            let refused = check_requested_validity(nb, na, &policy, now).unwrap_err();
            assert_eq!(
                refused.problem_type,
                basalt_protocol::ProblemType::Malformed
            );
        }
        let huge = IssuancePolicy {
            certificate_lifetime: Duration::from_secs(u64::MAX / 4),
            ..IssuancePolicy::default()
        };
        assert!(window(RequestedValidity::default(), &huge, now).is_err());
    }
}
