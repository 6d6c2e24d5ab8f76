//! A short-lived, bounded cache of accounts by id, so a `kid`-signed request (RFC 8555 §6.2)
//! usually costs neither a database statement nor a JWK parse.
//!
//! Every POST but newAccount names its account with `kid`, and loading the account row is a
//! statement (a hand-off to the database driver's task and back, which costs more than the
//! query) plus a parse of the stored JWK. Boulder's WFE keeps the same kind of cache
//! (`wfe2/cache.go`): accounts by id, for a short TTL.
//!
//! Consistency: this process drops an account's entry whenever it changes the account
//! (contact update, deactivation, key change), so on one replica a change applies to the
//! very next request. Another replica's change is seen here only once the entry expires: for
//! at most `server.account_cache_ttl` (default 5 s) a deactivated account or a replaced key
//! may still be accepted by this replica. A TTL of zero turns the cache off.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use time::OffsetDateTime;

use basalt_protocol::Jwk;
use basalt_storage::AccountRecord;

/// How many accounts the cache holds at most. An entry is a few hundred bytes, so this
/// bounds the cache to a few megabytes, however many accounts send requests.
pub(crate) const MAX_ENTRIES: usize = 10_000;

/// Accounts by id, each with its parsed key, for a TTL.
pub(crate) struct AccountCache {
    ttl: Duration,
    capacity: usize,
    inner: Mutex<Inner>,
}

/// An account and its parsed key, as cached.
#[derive(Debug, Clone)]
pub(crate) struct CachedAccount {
    pub account: AccountRecord,
    pub key: Jwk,
}

/// Taken before an account is read from the database, and handed back to
/// [`AccountCache::insert`]: if any entry was invalidated since, the row just read may
/// predate that change, so it is not cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Generation(u64);

struct Inner {
    entries: HashMap<i64, Entry>,
    /// Bumped by every invalidation.
    generation: u64,
}

struct Entry {
    cached: Arc<CachedAccount>,
    stored_at: OffsetDateTime,
}

impl AccountCache {
    /// A cache keeping entries for `ttl` (zero: caching off), at most [`MAX_ENTRIES`].
    pub(crate) fn new(ttl: Duration) -> Self {
        Self::with_capacity(ttl, MAX_ENTRIES)
    }

    /// A cache of at most `capacity` entries (at least one).
    pub(crate) fn with_capacity(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity: capacity.max(1),
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                generation: 0,
            }),
        }
    }

    /// The cached account `id`, if it was stored less than the TTL before `now`.
    pub(crate) fn get(&self, id: i64, now: OffsetDateTime) -> Option<CachedAccount> {
        if self.ttl.is_zero() {
            return None;
        }
        let cached = {
            let inner = self.lock();
            let entry = inner.entries.get(&id)?;
            self.is_fresh(entry, now).then(|| entry.cached.clone())?
        };
        Some(CachedAccount::clone(&cached))
    }

    /// The generation to pass to [`Self::insert`]; take it before reading the account.
    pub(crate) fn generation(&self) -> Generation {
        Generation(self.lock().generation)
    }

    /// Caches `account` with its parsed `key`, read from the database after `since` was
    /// taken; nothing is cached if an entry was invalidated in between. A full cache first
    /// drops its expired entries, then arbitrary ones.
    pub(crate) fn insert(
        &self,
        since: Generation,
        account: &AccountRecord,
        key: &Jwk,
        now: OffsetDateTime,
    ) {
        if self.ttl.is_zero() {
            return;
        }
        let entry = Entry {
            cached: Arc::new(CachedAccount {
                account: account.clone(),
                key: key.clone(),
            }),
            stored_at: now,
        };
        let mut inner = self.lock();
        if inner.generation != since.0 {
            return;
        }
        if inner.entries.len() >= self.capacity && !inner.entries.contains_key(&account.id) {
            self.make_room(&mut inner.entries, now);
        }
        inner.entries.insert(account.id, entry);
    }

    /// Forgets account `id`. Called after every change this process makes to an account,
    /// so its next request reads the changed row.
    pub(crate) fn invalidate(&self, id: i64) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.entries.remove(&id);
    }

    /// Stored at or before `now`, and less than the TTL before it. An entry "from the
    /// future" (the clock stepped back) is stale: it might otherwise outlive the TTL.
    fn is_fresh(&self, entry: &Entry, now: OffsetDateTime) -> bool {
        let age = now - entry.stored_at;
        !age.is_negative() && age < self.ttl
    }

    /// Drops the expired entries; if that frees less than a tenth of the capacity, drops
    /// arbitrary ones down to nine tenths, so a cache full of live entries does not scan
    /// itself on every insert.
    fn make_room(&self, entries: &mut HashMap<i64, Entry>, now: OffsetDateTime) {
        entries.retain(|_, entry| self.is_fresh(entry, now));
        let target = self.capacity - self.capacity.div_ceil(10);
        if entries.len() > target {
            let evicted: Vec<i64> = entries
                .keys()
                .take(entries.len() - target)
                .copied()
                .collect();
            for id in evicted {
                entries.remove(&id);
            }
        }
    }

    /// The lock is never held across an await or a call that can panic halfway through a
    /// change, so a poisoned lock still guards consistent entries.
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests;
