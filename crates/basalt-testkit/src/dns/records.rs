//! The shared record store: what the test DNS server answers, changed by tests at any time.
//!
//! One store is shared (behind a mutex) by the UDP and TCP listeners, the HTTP control API and
//! the test code, so a record set by a test is visible to the very next query.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// One CAA record as a test writes it (RFC 8659 presentation form: flags, tag, value).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaaRecord {
    /// The flags octet; 128 marks the property as critical.
    pub flags: u8,
    /// The property tag: `issue`, `issuewild`, `iodef` or anything else (to test unknown tags).
    pub tag: String,
    /// The property value, e.g. `basalt.test; accounturi=https://x/acct/1`.
    pub value: String,
}

/// Everything set for one name. `None` for A/AAAA means "use the loopback default".
#[derive(Debug, Clone, Default)]
pub(crate) struct Entry {
    pub(crate) txt: Vec<String>,
    pub(crate) caa: Vec<CaaRecord>,
    pub(crate) cname: Option<String>,
    pub(crate) a: Option<Vec<Ipv4Addr>>,
    pub(crate) aaaa: Option<Vec<Ipv6Addr>>,
    pub(crate) servfail: bool,
    pub(crate) nxdomain: bool,
    pub(crate) timeout: bool,
}

/// Handle on the record store; clones share the same data.
#[derive(Debug, Clone, Default)]
pub struct Records {
    inner: Arc<Mutex<HashMap<String, Entry>>>,
}

/// Names are compared case-insensitively and without the trailing dot, as DNS does, so tests
/// may write `Example.TEST.` or `example.test` for the same name.
pub(crate) fn normalize(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

impl Records {
    /// An empty store: every name answers only the loopback A/AAAA defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// A panic in another holder cannot leave the map half-updated in a way that matters to a
    /// test server (each change is a single assignment), so a poisoned lock is simply reused.
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn update(&self, name: &str, change: impl FnOnce(&mut Entry)) {
        change(self.lock().entry(normalize(name)).or_default());
    }

    /// A copy of what is set for `name` (already normalized), or the defaults.
    pub(crate) fn entry(&self, name: &str) -> Entry {
        self.lock().get(name).cloned().unwrap_or_default()
    }

    /// Replaces the TXT values of `name`; each value becomes one TXT record.
    pub fn set_txt(&self, name: &str, values: Vec<String>) {
        self.update(name, |e| e.txt = values);
    }

    /// Adds one TXT value to `name`, keeping the others (several pending dns-01 challenges).
    pub fn add_txt(&self, name: &str, value: String) {
        self.update(name, |e| e.txt.push(value));
    }

    /// Removes all TXT values of `name`.
    pub fn clear_txt(&self, name: &str) {
        self.update(name, |e| e.txt.clear());
    }

    /// Replaces the CAA records of `name`.
    pub fn set_caa(&self, name: &str, records: Vec<CaaRecord>) {
        self.update(name, |e| e.caa = records);
    }

    /// Removes all CAA records of `name`.
    pub fn clear_caa(&self, name: &str) {
        self.update(name, |e| e.caa.clear());
    }

    /// Makes `name` an alias of `target`; the alias wins over any other data of `name`.
    pub fn set_cname(&self, name: &str, target: &str) {
        let target = normalize(target);
        self.update(name, |e| e.cname = Some(target));
    }

    /// Removes the alias of `name`.
    pub fn clear_cname(&self, name: &str) {
        self.update(name, |e| e.cname = None);
    }

    /// Overrides the A answer of `name`; an empty list answers NOERROR with no records.
    pub fn set_a(&self, name: &str, addrs: Vec<Ipv4Addr>) {
        self.update(name, |e| e.a = Some(addrs));
    }

    /// Restores the 127.0.0.1 default A answer of `name`.
    pub fn clear_a(&self, name: &str) {
        self.update(name, |e| e.a = None);
    }

    /// Overrides the AAAA answer of `name`; an empty list answers NOERROR with no records.
    pub fn set_aaaa(&self, name: &str, addrs: Vec<Ipv6Addr>) {
        self.update(name, |e| e.aaaa = Some(addrs));
    }

    /// Restores the ::1 default AAAA answer of `name`.
    pub fn clear_aaaa(&self, name: &str) {
        self.update(name, |e| e.aaaa = None);
    }

    /// Makes every query for `name` fail with SERVFAIL (a broken upstream).
    pub fn set_servfail(&self, name: &str, enabled: bool) {
        self.update(name, |e| e.servfail = enabled);
    }

    /// Makes every query for `name` answer NXDOMAIN (the name does not exist).
    pub fn set_nxdomain(&self, name: &str, enabled: bool) {
        self.update(name, |e| e.nxdomain = enabled);
    }

    /// Never answers queries for `name`, so clients see a timeout.
    pub fn set_timeout(&self, name: &str, enabled: bool) {
        self.update(name, |e| e.timeout = enabled);
    }

    /// Forgets everything, back to the loopback defaults for every name.
    pub fn reset(&self) {
        self.lock().clear();
    }
}
