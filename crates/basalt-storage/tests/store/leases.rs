//! Leases for singleton jobs: exclusive until expiry or release.

use std::time::Duration;

use crate::support::{at, on_every_backend};

#[tokio::test]
async fn leases_are_exclusive_until_expiry_or_release() {
    on_every_backend!(|db| {
        let s = &db.store;
        let ttl = Duration::from_secs(30);
        assert!(s.try_lease("sweep", "a", at(0), ttl).await.unwrap());
        assert!(!s.try_lease("sweep", "b", at(10), ttl).await.unwrap());
        assert!(s.try_lease("sweep", "a", at(20), ttl).await.unwrap()); // renewed to 50
        assert!(!s.try_lease("sweep", "b", at(40), ttl).await.unwrap());
        assert!(!s.try_lease("sweep", "b", at(50), ttl).await.unwrap());
        assert!(s.try_lease("sweep", "b", at(51), ttl).await.unwrap()); // expired: taken over
        assert!(!s.try_lease("sweep", "a", at(52), ttl).await.unwrap());
        // Other names are independent.
        assert!(s.try_lease("renew", "a", at(52), ttl).await.unwrap());

        s.release_lease("sweep", "a").await.unwrap(); // not a's: no effect
        assert!(!s.try_lease("sweep", "a", at(53), ttl).await.unwrap());
        s.release_lease("sweep", "b").await.unwrap();
        assert!(s.try_lease("sweep", "a", at(54), ttl).await.unwrap());
    });
}
