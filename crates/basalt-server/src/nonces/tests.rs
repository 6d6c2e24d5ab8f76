//! Nonce MACs and expiry, and single use through the batching redemption task.

use std::sync::Arc;

use basalt_storage::StorageConfig;

use super::*;

const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

/// A migrated store on a fresh SQLite file (kept while the directory lives).
async fn sqlite_store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("ca.db").display());
    let store = Store::connect(&StorageConfig {
        url,
        max_connections: 4,
        acquire_timeout: Duration::from_secs(5),
    })
    .await
    .unwrap();
    (store, dir)
}

#[tokio::test]
async fn nonces_check_their_mac_and_expiry() {
    let (store, _dir) = sqlite_store().await;
    let now = OffsetDateTime::now_utc();
    let nonces = Nonces::with_key(store.clone(), KEY, Duration::from_secs(60));
    let n = nonces.issue(now);
    assert!(!n.contains('='));
    assert!(nonces.check(&n, now).is_ok());
    assert_eq!(
        nonces.check(&n, now + Duration::from_secs(61)),
        Err(NonceRejection::Expired)
    );
    let other = Nonces::with_key(
        store,
        b"another key, another replica set",
        Duration::from_secs(60),
    );
    assert_eq!(other.check(&n, now), Err(NonceRejection::Unknown));
    assert_eq!(nonces.check("AAAA", now), Err(NonceRejection::Unknown));
    let mut tampered = n.into_bytes();
    tampered[3] = if tampered[3] == b'A' { b'B' } else { b'A' };
    assert_eq!(
        nonces.check(std::str::from_utf8(&tampered).unwrap(), now),
        Err(NonceRejection::Unknown)
    );
}

#[tokio::test]
async fn redeeming_checks_before_it_inserts() {
    let (store, _dir) = sqlite_store().await;
    let now = OffsetDateTime::now_utc();
    let nonces = Nonces::with_key(store, KEY, Duration::from_secs(60));
    let n = nonces.issue(now);
    assert_eq!(
        nonces.redeem(&n, now + Duration::from_secs(61)).await,
        Ok(Err(NonceRejection::Expired))
    );
    // The expired attempt did not spend it.
    assert_eq!(nonces.redeem(&n, now).await, Ok(Ok(())));
    assert_eq!(
        nonces.redeem(&n, now).await,
        Ok(Err(NonceRejection::Reused))
    );
}

/// RFC 8555 §6.5: a nonce is accepted once, however many requests race with it; batching
/// concurrent redemptions must not change that, nor refuse distinct nonces.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_redemptions_accept_each_nonce_once() {
    let (store, _dir) = sqlite_store().await;
    let now = OffsetDateTime::now_utc();
    let nonces = Arc::new(Nonces::with_key(store, KEY, Duration::from_secs(60)));

    let redeem_all = |batch: Vec<String>| {
        let tasks: Vec<_> = batch
            .into_iter()
            .map(|nonce| {
                let nonces = nonces.clone();
                tokio::spawn(async move { nonces.redeem(&nonce, now).await.unwrap() })
            })
            .collect();
        async move {
            let mut results = Vec::new();
            for task in tasks {
                results.push(task.await.unwrap());
            }
            results
        }
    };

    let same = nonces.issue(now);
    let results = redeem_all(vec![same; 64]).await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Ok(()) | Err(NonceRejection::Reused))),
        "{results:?}"
    );

    let distinct: Vec<String> = (0..300).map(|_| nonces.issue(now)).collect();
    let results = redeem_all(distinct.clone()).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let again = redeem_all(distinct).await;
    assert!(
        again.iter().all(|r| *r == Err(NonceRejection::Reused)),
        "{again:?}"
    );
}

#[tokio::test]
async fn the_redemption_task_ends_with_its_nonces() {
    let (store, _dir) = sqlite_store().await;
    let metrics = tokio::runtime::Handle::current().metrics();
    let before = metrics.num_alive_tasks();
    // A clone goes to the task, so the pool (and its own tasks) outlives it.
    let nonces = Nonces::with_key(store.clone(), KEY, Duration::from_secs(60));
    assert_eq!(metrics.num_alive_tasks(), before + 1);
    drop(nonces);
    for _ in 0..100 {
        if metrics.num_alive_tasks() <= before {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the redemption task outlived its Nonces");
}
