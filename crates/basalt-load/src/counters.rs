//! Request counters shared by all workers, read once for the report.

use std::sync::atomic::{AtomicU64, Ordering};

/// Relaxed atomics: the counts are only summed at the end, never used for coordination.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Every HTTP request sent to the ACME server, retries included.
    pub(crate) requests: AtomicU64,
    /// Requests resent because the server answered `badNonce` (RFC 8555 §6.5).
    pub(crate) bad_nonce_retries: AtomicU64,
    /// Requests resent after a 503 (or another 5xx with `Retry-After`, or a gateway error).
    pub(crate) retries_unavailable: AtomicU64,
    /// Requests resent after a connection error or a timeout.
    pub(crate) retries_transport: AtomicU64,
}

impl Counters {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn read(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// Forgets what setup (directory, accounts) sent, so the report covers the timed part.
    pub(crate) fn reset(&self) {
        for counter in [
            &self.requests,
            &self.bad_nonce_retries,
            &self.retries_unavailable,
            &self.retries_transport,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
    }
}
