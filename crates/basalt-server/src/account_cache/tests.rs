//! TTL, invalidation and the capacity bound of the account cache.

use basalt_protocol::AccountStatus;

use super::*;

const TTL: Duration = Duration::from_secs(5);

fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000 + secs).unwrap()
}

fn account(id: i64) -> AccountRecord {
    AccountRecord {
        id,
        directory: "default".into(),
        key_thumbprint: format!("thumb-{id}"),
        jwk: "{}".into(),
        status: AccountStatus::Valid,
        contact: vec![],
        terms_of_service_agreed: true,
        created_at: at(0),
        eab_kid: None,
    }
}

fn key(byte: u8) -> Jwk {
    Jwk::Ed25519 { x: vec![byte; 32] }
}

fn cache_account(cache: &AccountCache, id: i64, now: OffsetDateTime) {
    cache.insert(cache.generation(), &account(id), &key(1), now);
}

#[test]
fn entries_expire_after_the_ttl() {
    let cache = AccountCache::new(TTL);
    assert!(cache.get(1, at(0)).is_none());
    cache_account(&cache, 1, at(0));
    let hit = cache.get(1, at(0)).expect("cached");
    assert_eq!(hit.account, account(1));
    assert_eq!(hit.key, key(1));
    assert!(cache.get(1, at(4)).is_some());
    assert!(
        cache.get(1, at(5)).is_none(),
        "an entry lives less than the TTL"
    );
    assert!(cache.get(2, at(0)).is_none());
    // A clock that stepped back does not stretch an entry's life.
    assert!(cache.get(1, at(-1)).is_none());
    // Stored again, it lives again.
    cache_account(&cache, 1, at(10));
    assert!(cache.get(1, at(14)).is_some());
}

#[test]
fn a_zero_ttl_caches_nothing() {
    let cache = AccountCache::new(Duration::ZERO);
    cache_account(&cache, 1, at(0));
    assert!(cache.get(1, at(0)).is_none());
    assert!(cache.lock().entries.is_empty());
}

#[test]
fn invalidation_drops_the_entry_and_refuses_rows_read_before_it() {
    let cache = AccountCache::new(TTL);
    cache_account(&cache, 1, at(0));
    cache_account(&cache, 2, at(0));
    cache.invalidate(1);
    assert!(cache.get(1, at(0)).is_none());
    assert!(cache.get(2, at(0)).is_some(), "other accounts stay cached");

    // A request read account 1 before a change that invalidated it: its row may predate the
    // change, so it is not cached.
    let before_change = cache.generation();
    cache.invalidate(1);
    cache.insert(before_change, &account(1), &key(1), at(0));
    assert!(cache.get(1, at(0)).is_none());
    // A read that started after the change is cached.
    cache.insert(cache.generation(), &account(1), &key(2), at(0));
    assert_eq!(cache.get(1, at(0)).expect("cached").key, key(2));
}

#[test]
fn a_full_cache_drops_expired_entries_first() {
    let cache = AccountCache::with_capacity(TTL, 10);
    for id in 0..5 {
        cache_account(&cache, id, at(0));
    }
    for id in 5..10 {
        cache_account(&cache, id, at(3));
    }
    // Full; at 6 the first five have expired, and go; the five live ones stay.
    cache_account(&cache, 10, at(6));
    assert_eq!(cache.lock().entries.len(), 6);
    for id in 5..=10 {
        assert!(cache.get(id, at(6)).is_some(), "{id}");
    }
}

#[test]
fn a_full_cache_of_live_entries_stays_within_capacity() {
    let cache = AccountCache::with_capacity(TTL, 10);
    for id in 0..100 {
        cache_account(&cache, id, at(0));
        let len = cache.lock().entries.len();
        assert!(len <= 10, "{len} entries after inserting {id}");
    }
    // The newest entry is always kept.
    assert!(cache.get(99, at(0)).is_some());
    // Replacing an entry of a full cache evicts nothing.
    let len = cache.lock().entries.len();
    cache_account(&cache, 99, at(1));
    assert_eq!(cache.lock().entries.len(), len);
}

#[test]
fn the_default_capacity_is_bounded() {
    let cache = AccountCache::new(TTL);
    let count = i64::try_from(MAX_ENTRIES).unwrap() + 50;
    for id in 0..count {
        cache_account(&cache, id, at(0));
    }
    assert!(cache.lock().entries.len() <= MAX_ENTRIES);
}
