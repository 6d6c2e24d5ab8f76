//! When workers stop starting orders, and when the run ends regardless.
//!
//! The tool must end by itself in failover tests where the server may never recover, so
//! besides the soft limit (an order count or a duration) there is a hard deadline after
//! which unfinished orders count as failed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// In-flight orders of a `--duration` run get this long to finish.
pub(crate) const DURATION_GRACE: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy)]
pub(crate) enum Limit {
    /// Start this many orders in total.
    Orders(u64),
    /// Start orders until this instant.
    Until(Instant),
}

#[derive(Debug)]
pub(crate) struct Plan {
    limit: Limit,
    started: AtomicU64,
    hard_deadline: Instant,
}

impl Plan {
    /// `--orders N --timeout T`: N orders, all of it within T from `start`.
    pub(crate) fn orders(count: u64, start: Instant, timeout: Duration) -> Self {
        Self {
            limit: Limit::Orders(count),
            started: AtomicU64::new(0),
            hard_deadline: start + timeout,
        }
    }

    /// `--duration D`: start orders for D, then give in-flight ones the grace period.
    pub(crate) fn duration(length: Duration, start: Instant) -> Self {
        Self {
            limit: Limit::Until(start + length),
            started: AtomicU64::new(0),
            hard_deadline: start + length + DURATION_GRACE,
        }
    }

    /// Claims the right to start one more order.
    pub(crate) fn may_start(&self) -> bool {
        match self.limit {
            Limit::Orders(count) => self.started.fetch_add(1, Ordering::Relaxed) < count,
            Limit::Until(end) => Instant::now() < end && Instant::now() < self.hard_deadline,
        }
    }

    pub(crate) fn hard_deadline(&self) -> Instant {
        self.hard_deadline
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_count_is_shared_by_all_claimants() {
        let plan = Plan::orders(3, Instant::now(), Duration::from_secs(300));
        let granted = (0..10).filter(|_| plan.may_start()).count();
        assert_eq!(granted, 3);
    }

    #[test]
    fn a_duration_stops_starting_when_over_and_keeps_a_grace() {
        let start = Instant::now();
        let over = Plan::duration(Duration::ZERO, start);
        assert!(!over.may_start());
        assert_eq!(over.hard_deadline(), start + DURATION_GRACE);
        let running = Plan::duration(Duration::from_secs(60), start);
        assert!(running.may_start());
    }
}
