//! What the accept loop does when `accept(2)` fails or a connection is refused.
//!
//! Out of file descriptors (`EMFILE`, `ENFILE`) or buffers (`ENOBUFS`, `ENOMEM`), `accept`
//! fails at once, every time, until something closes: retrying in a tight loop burns a core
//! and writes a log line per try (issue 12: 1.75 million lines in 8 s). The loop pauses
//! instead, 10 ms doubling to 1 s, and logs at most one line a second with a count of what it
//! left out. Errors that concern only the connection being accepted (the peer reset or
//! aborted it) are not a shortage: the loop carries on at once, or a peer that resets its
//! own connections could slow everyone's accepts down.

use std::io;
use std::time::{Duration, Instant};

/// First pause after an accept failure.
pub(crate) const FIRST_PAUSE: Duration = Duration::from_millis(10);
/// Longest pause: resources freed by closing connections are used within a second.
pub(crate) const MAX_PAUSE: Duration = Duration::from_secs(1);

/// The pause before the next `accept` after a failure: [`FIRST_PAUSE`] doubling up to
/// [`MAX_PAUSE`], back to the start after a success.
#[derive(Debug, Clone)]
pub(crate) struct AcceptBackoff {
    next: Duration,
}

impl Default for AcceptBackoff {
    fn default() -> Self {
        Self { next: FIRST_PAUSE }
    }
}

impl AcceptBackoff {
    /// The pause to take after a failure; the next failure's pause is twice as long.
    pub(crate) fn on_error(&mut self) -> Duration {
        let pause = self.next;
        self.next = (pause * 2).min(MAX_PAUSE);
        pause
    }

    /// An accept succeeded: the next failure pauses [`FIRST_PAUSE`] again.
    pub(crate) fn on_success(&mut self) {
        self.next = FIRST_PAUSE;
    }
}

/// Whether an accept error concerns only the connection being accepted (so the loop goes
/// on at once) rather than a shortage of descriptors or memory (so it pauses). Linux
/// reports pending network errors of the new socket through `accept` (accept(2), "Error
/// handling"); those are per connection too.
pub(crate) fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
            | io::ErrorKind::NetworkDown
            | io::ErrorKind::NetworkUnreachable
            | io::ErrorKind::HostUnreachable
    )
}

/// Lets through at most one log line per `interval`; the next line it lets through says
/// how many were left out in between.
#[derive(Debug, Clone)]
pub(crate) struct LogLimiter {
    interval: Duration,
    last: Option<Instant>,
    suppressed: u64,
}

impl LogLimiter {
    pub(crate) fn new(interval: Duration) -> Self {
        Self {
            interval,
            last: None,
            suppressed: 0,
        }
    }

    /// `Some(n)` if a line may be logged at `now` (`n` lines were left out since the last
    /// one), `None` if this one is to be left out.
    pub(crate) fn admit(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(last) if now.saturating_duration_since(last) < self.interval => {
                self.suppressed += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.suppressed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_from_10_ms_to_1_s_and_reset_on_success() {
        let mut backoff = AcceptBackoff::default();
        let pauses: Vec<u64> = (0..9)
            .map(|_| backoff.on_error().as_millis() as u64)
            .collect();
        assert_eq!(pauses, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        backoff.on_success();
        assert_eq!(backoff.on_error(), FIRST_PAUSE);
    }

    #[test]
    fn descriptor_shortage_pauses_and_a_peer_reset_does_not() {
        // EMFILE, ENFILE, ENOBUFS, ENOMEM on Linux.
        for errno in [24, 23, 105, 12] {
            assert!(!is_connection_error(&io::Error::from_raw_os_error(errno)));
        }
        for kind in [
            io::ErrorKind::ConnectionAborted,
            io::ErrorKind::ConnectionReset,
        ] {
            assert!(is_connection_error(&io::Error::from(kind)));
        }
    }

    #[test]
    fn the_log_limiter_lets_one_line_a_second_through_and_counts_the_rest() {
        let start = Instant::now();
        let mut log = LogLimiter::new(Duration::from_secs(1));
        assert_eq!(log.admit(start), Some(0));
        for ms in [1, 200, 999] {
            assert_eq!(log.admit(start + Duration::from_millis(ms)), None);
        }
        assert_eq!(log.admit(start + Duration::from_millis(1000)), Some(3));
        assert_eq!(log.admit(start + Duration::from_millis(1500)), None);
        assert_eq!(log.admit(start + Duration::from_millis(2100)), Some(1));
    }
}
