//! How long to wait between polls of an order (RFC 8555 §7.5.1, §7.4).
//!
//! The wait starts short and doubles up to 250 ms, because validation and issuance normally
//! finish within milliseconds. A server's `Retry-After` lengthens it, up to a cap, so a
//! benchmark never sleeps for long on one order; it never shortens it, so `Retry-After: 0`
//! cannot turn polling into a busy loop. A cap of zero therefore means "ignore Retry-After".

use std::time::Duration;

const FIRST_WAIT: Duration = Duration::from_millis(10);
const LONGEST_BACKOFF: Duration = Duration::from_millis(250);

pub(crate) struct PollDelay {
    next_backoff: Duration,
    retry_after_cap: Duration,
}

impl PollDelay {
    pub(crate) fn new(retry_after_cap: Duration) -> Self {
        Self {
            next_backoff: FIRST_WAIT,
            retry_after_cap,
        }
    }

    /// The wait before the next poll, given the `Retry-After` of the last answer.
    pub(crate) fn next_wait(&mut self, retry_after: Option<Duration>) -> Duration {
        let backoff = self.next_backoff;
        self.next_backoff = (self.next_backoff * 2).min(LONGEST_BACKOFF);
        match retry_after {
            Some(wait) => wait.min(self.retry_after_cap).max(backoff),
            None => backoff,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_10ms_to_250ms() {
        let mut delay = PollDelay::new(Duration::from_secs(1));
        let waits: Vec<u128> = (0..8).map(|_| delay.next_wait(None).as_millis()).collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 250, 250, 250]);
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let mut delay = PollDelay::new(Duration::from_secs(1));
        assert_eq!(
            delay.next_wait(Some(Duration::from_secs(30))),
            Duration::from_secs(1)
        );
        assert_eq!(
            delay.next_wait(Some(Duration::from_millis(500))),
            Duration::from_millis(500)
        );
    }

    #[test]
    fn retry_after_never_shortens_the_backoff() {
        let mut delay = PollDelay::new(Duration::from_secs(1));
        assert_eq!(
            delay.next_wait(Some(Duration::ZERO)),
            Duration::from_millis(10)
        );
        let mut ignoring = PollDelay::new(Duration::ZERO);
        let waits: Vec<u128> = (0..3)
            .map(|_| ignoring.next_wait(Some(Duration::from_secs(1))).as_millis())
            .collect();
        assert_eq!(waits, [10, 20, 40]);
    }
}
