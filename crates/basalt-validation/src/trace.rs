//! The per-validation trace: what reqwest looked up and which redirects it followed.
//!
//! The HTTP client is shared by every validation, and reqwest calls the DNS resolver and the
//! redirect policy without saying which request they belong to. A task-local trace, set
//! around one validation's request, lets both hooks report back to that validation, so its
//! `validationRecord` lists the addresses and hops of that request and no other.
//!
//! Both hooks are called while the request's own future is polled (the connection pool is
//! off, so reqwest never connects in a background task). Outside a traced request the hooks
//! find no trace and record nothing.

use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

tokio::task_local! {
    static CURRENT: Trace;
}

/// Shared handle on one validation's trace.
#[derive(Debug, Clone, Default)]
pub(crate) struct Trace(Arc<Mutex<TraceData>>);

/// What was seen during one validation, in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct TraceData {
    /// One entry per host name resolved (IP literals are not looked up).
    pub(crate) lookups: Vec<HostLookup>,
    /// The redirect targets that were followed.
    pub(crate) redirects: Vec<reqwest::Url>,
}

/// One address lookup made for the HTTP client.
#[derive(Debug, Clone)]
pub(crate) struct HostLookup {
    pub(crate) host: String,
    pub(crate) addresses: Vec<IpAddr>,
    pub(crate) answers: Vec<String>,
}

impl Trace {
    /// The trace of the validation running in this task, if any.
    pub(crate) fn current() -> Option<Self> {
        CURRENT.try_with(Clone::clone).ok()
    }

    /// Runs `future` with this trace as the current one.
    pub(crate) async fn scope<F: Future>(&self, future: F) -> F::Output {
        CURRENT.scope(self.clone(), future).await
    }

    pub(crate) fn record_lookup(&self, lookup: HostLookup) {
        self.with(|data| data.lookups.push(lookup));
    }

    pub(crate) fn record_redirect(&self, target: reqwest::Url) {
        self.with(|data| data.redirects.push(target));
    }

    /// A copy of everything recorded so far.
    pub(crate) fn snapshot(&self) -> TraceData {
        self.with(|data| data.clone())
    }

    /// Each change is a single push, so a poisoned lock still holds consistent data.
    fn with<T>(&self, f: impl FnOnce(&mut TraceData) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}
