//! Expiry clean-up: used nonces, orders and authorizations that can no longer matter are
//! deleted in bounded batches by one replica at a time.
//!
//! Every replica runs this loop, but a pass only runs under the `expiry-cleanup` lease in
//! the database, so one replica does the work while the others find the lease taken; the
//! holder renews it every pass, and if it dies another takes over once the lease ran out.
//! A pass deletes at most [`MAX_BATCHES`] batches of each kind, so a large backlog (a CA
//! that was down for a week) is worked off over several passes instead of in one long
//! stretch of locks. What is deleted and what is kept is described in basalt-storage's
//! `expiry.rs`; orders and authorizations are kept for [`RETENTION`] after they expired, so
//! a client that polls an expired object still sees it as expired (invalid) for a while.

use std::time::Duration;

use time::OffsetDateTime;

use basalt_storage::{Error, Store};

/// How often a replica tries to run a pass.
pub(crate) const INTERVAL: Duration = Duration::from_secs(60);
/// The lease of a pass; longer than [`INTERVAL`] so the holder keeps it from pass to pass.
const LEASE_TTL: Duration = Duration::from_secs(300);
pub(crate) const LEASE_NAME: &str = "expiry-cleanup";
/// Rows deleted per statement.
const BATCH: u64 = 1000;
/// Batches of each kind per pass.
const MAX_BATCHES: u32 = 20;
/// How long expired orders and authorizations stay readable before they are deleted.
pub(crate) const RETENTION: Duration = Duration::from_secs(24 * 60 * 60);

/// What one pass deleted.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Deleted {
    pub nonces: u64,
    pub orders: u64,
    pub authorizations: u64,
}

/// Runs one pass if this replica holds (or can take) the lease; `None` if another replica
/// holds it.
pub(crate) async fn run_pass(
    store: &Store,
    holder: &str,
    now: OffsetDateTime,
) -> Result<Option<Deleted>, Error> {
    if !store.try_lease(LEASE_NAME, holder, now, LEASE_TTL).await? {
        return Ok(None);
    }
    let cutoff = now - RETENTION;
    // Orders before authorizations: deleting an order drops its links, and an order never
    // outlives the authorizations it was created with by much, so both go in one pass.
    Ok(Some(Deleted {
        nonces: in_batches(|| store.delete_expired_nonces(now, BATCH)).await?,
        orders: in_batches(|| store.delete_expired_orders(cutoff, BATCH)).await?,
        authorizations: in_batches(|| store.delete_expired_authorizations(cutoff, BATCH)).await?,
    }))
}

/// Calls `batch` until it deletes less than a full batch, at most [`MAX_BATCHES`] times.
async fn in_batches<F, Fut>(mut batch: F) -> Result<u64, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<u64, Error>>,
{
    let mut total = 0;
    for _ in 0..MAX_BATCHES {
        let deleted = batch().await?;
        total += deleted;
        if deleted < BATCH {
            break;
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use basalt_storage::StorageConfig;

    async fn store(dir: &tempfile::TempDir) -> Store {
        Store::connect(&StorageConfig {
            url: format!("sqlite://{}?mode=rwc", dir.path().join("ca.db").display()),
            max_connections: 1,
            acquire_timeout: Duration::from_secs(5),
        })
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn one_replica_at_a_time_runs_the_pass() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir).await;
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        assert_eq!(
            run_pass(&store, "replica-a", now).await.unwrap(),
            Some(Deleted::default())
        );
        // The other replica finds the lease taken; the holder keeps it from pass to pass.
        assert_eq!(run_pass(&store, "replica-b", now).await.unwrap(), None);
        let next = now + INTERVAL;
        assert!(run_pass(&store, "replica-a", next).await.unwrap().is_some());
        assert_eq!(run_pass(&store, "replica-b", next).await.unwrap(), None);
        // Once the holder stops renewing (it died), the lease runs out and another takes over.
        let after_expiry = next + LEASE_TTL + Duration::from_secs(1);
        assert!(
            run_pass(&store, "replica-b", after_expiry)
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(
            run_pass(&store, "replica-a", after_expiry).await.unwrap(),
            None
        );
    }
}
