//! Connection caps for the accept loop: a total and one per source address, so one client
//! (or a handful) cannot hold every file descriptor and lock everyone else out (issue 12).
//!
//! A connection is admitted by taking a [`ConnectionGuard`] before anything is read from it;
//! the guard gives both counts back when the connection's task ends, however it ends.
//! Connections over either cap are closed at once by the caller.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Which cap refused a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// `max_connections` connections are open.
    Total,
    /// `max_connections_per_ip` connections from this source are open.
    PerSource,
}

/// The caps and the current counts, shared by the accept loop and the connection tasks.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionLimits {
    total: Arc<Semaphore>,
    per_source: Arc<Mutex<HashMap<IpAddr, usize>>>,
    max_per_source: usize,
}

/// One admitted connection; dropping it frees its place under both caps.
#[derive(Debug)]
pub(crate) struct ConnectionGuard {
    _total: OwnedSemaphorePermit,
    per_source: Arc<Mutex<HashMap<IpAddr, usize>>>,
    source: IpAddr,
}

impl ConnectionLimits {
    /// At most `max_total` connections, and at most `max_per_source` from one source (see
    /// [`source_key`]). Zero caps are raised to one: the config refuses them anyway.
    pub(crate) fn new(max_total: usize, max_per_source: usize) -> Self {
        Self {
            total: Arc::new(Semaphore::new(max_total.clamp(1, Semaphore::MAX_PERMITS))),
            per_source: Arc::default(),
            max_per_source: max_per_source.max(1),
        }
    }

    /// Takes a place for a connection from `peer`, or says which cap is reached.
    pub(crate) fn try_admit(&self, peer: IpAddr) -> Result<ConnectionGuard, Refused> {
        let source = source_key(peer);
        let mut counts = self
            .per_source
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let count = counts.get(&source).copied().unwrap_or(0);
        // The per-source cap is checked first, so one busy source is refused without
        // touching the shared total.
        if count >= self.max_per_source {
            return Err(Refused::PerSource);
        }
        let permit = self
            .total
            .clone()
            .try_acquire_owned()
            .map_err(|_| Refused::Total)?;
        counts.insert(source, count + 1);
        Ok(ConnectionGuard {
            _total: permit,
            per_source: self.per_source.clone(),
            source,
        })
    }

    /// Connections open now from the source of `peer` (the unit tests check the counts).
    #[cfg(test)]
    pub(crate) fn open_from(&self, peer: IpAddr) -> usize {
        self.per_source
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&source_key(peer))
            .copied()
            .unwrap_or(0)
    }
}

/// The address a per-source cap counts against: IPv4 as is (IPv4-mapped IPv6 included),
/// IPv6 by its /64, one link's prefix (RFC 4291 §2.5.1: the low 64 bits are the interface
/// identifier), so one host cannot escape the cap by cycling through interface identifiers.
pub(crate) fn source_key(peer: IpAddr) -> IpAddr {
    match peer {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        let mut counts = self
            .per_source
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&self.source) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                // Entries go with their last connection, so the map never outgrows the
                // connections open.
                counts.remove(&self.source);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_per_source_cap_refuses_only_that_source_and_frees_on_drop() {
        let limits = ConnectionLimits::new(10, 2);
        let a = limits.try_admit(ip("127.0.0.1")).unwrap();
        let _b = limits.try_admit(ip("127.0.0.1")).unwrap();
        assert_eq!(
            limits.try_admit(ip("127.0.0.1")).unwrap_err(),
            Refused::PerSource
        );
        let _other = limits.try_admit(ip("127.0.0.2")).unwrap();
        drop(a);
        assert_eq!(limits.open_from(ip("127.0.0.1")), 1);
        let _again = limits.try_admit(ip("127.0.0.1")).unwrap();
    }

    #[test]
    fn the_total_cap_refuses_every_source_and_a_refusal_takes_no_place() {
        let limits = ConnectionLimits::new(2, 5);
        let _a = limits.try_admit(ip("10.0.0.1")).unwrap();
        let b = limits.try_admit(ip("10.0.0.2")).unwrap();
        assert_eq!(
            limits.try_admit(ip("10.0.0.3")).unwrap_err(),
            Refused::Total
        );
        assert_eq!(limits.open_from(ip("10.0.0.3")), 0);
        drop(b);
        assert_eq!(limits.open_from(ip("10.0.0.2")), 0);
        let _c = limits.try_admit(ip("10.0.0.3")).unwrap();
    }

    #[test]
    fn ipv6_sources_count_by_their_64_and_mapped_ipv4_as_ipv4() {
        let limits = ConnectionLimits::new(10, 1);
        let _a = limits.try_admit(ip("2001:db8:1:2::1")).unwrap();
        assert_eq!(
            limits.try_admit(ip("2001:db8:1:2:ffff::9")).unwrap_err(),
            Refused::PerSource
        );
        let _b = limits.try_admit(ip("2001:db8:1:3::1")).unwrap();
        let _c = limits.try_admit(ip("192.0.2.7")).unwrap();
        assert_eq!(
            limits.try_admit(ip("::ffff:192.0.2.7")).unwrap_err(),
            Refused::PerSource
        );
    }
}
