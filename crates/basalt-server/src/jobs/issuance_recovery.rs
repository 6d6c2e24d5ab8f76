//! Issuance recovery: gives back orders whose finalization died between reserving a serial
//! and storing the certificate (docs/issuance.md, "Crash cases").
//!
//! Finalize reserves a serial (`issuances` row `pending`, order `processing`) before it
//! signs. If the process dies, or loses the database, before it stores the result, the
//! order would stay `processing` for good. This pass, run at start-up and every
//! [`INTERVAL`] by one replica at a time (the `issuance-recovery` lease), marks every
//! issuance pending for longer than `server.issuance_stale_after` ([`STALE_AFTER`]) `abandoned` and puts its order back to
//! `ready`, so the client's next finalize succeeds. The abandoned serial may have been
//! signed (the audit log says whether), but its certificate was never stored, so no client
//! received it; the row keeps its key and names.

use std::time::Duration;

use time::OffsetDateTime;

use basalt_storage::{Error, IssuanceRecord, Store};

/// How often a replica tries to run a pass, at most; with a shorter `stale_after`, as often
/// as that.
pub(crate) const INTERVAL: Duration = Duration::from_secs(60);
/// The default of how long an issuance may stay pending (`server.issuance_stale_after`):
/// far longer than any signature takes (a token that hangs longer is treated as gone; its
/// late result is refused by the store).
pub const STALE_AFTER: Duration = Duration::from_secs(5 * 60);

/// How often to run passes for issuances stale after `stale_after`.
pub(crate) fn interval(stale_after: Duration) -> Duration {
    stale_after.clamp(Duration::from_secs(1), INTERVAL)
}
/// The lease of a pass, in passes: long enough that the holder keeps it from pass to pass,
/// short enough that a replica that died holding it (the case this job exists for) is
/// replaced within a few passes.
const LEASE_PASSES: u32 = 3;
pub(crate) const LEASE_NAME: &str = "issuance-recovery";
/// Calls of `abandon_stale_issuances` per pass (each abandons up to a batch); a longer
/// backlog is worked off over the next passes.
const MAX_BATCHES: u32 = 10;

/// Runs one pass if this replica holds (or can take) the lease: the issuances it
/// abandoned, each logged at warn; `None` if another replica holds the lease.
pub(crate) async fn run_pass(
    store: &Store,
    holder: &str,
    now: OffsetDateTime,
    stale_after: Duration,
) -> Result<Option<Vec<IssuanceRecord>>, Error> {
    if !store
        .try_lease(
            LEASE_NAME,
            holder,
            now,
            interval(stale_after) * LEASE_PASSES,
        )
        .await?
    {
        return Ok(None);
    }
    let mut abandoned = Vec::new();
    for _ in 0..MAX_BATCHES {
        let batch = store
            .abandon_stale_issuances(now - stale_after, now)
            .await?;
        if batch.is_empty() {
            break;
        }
        for issuance in &batch {
            tracing::warn!(
                cert.serial = %issuance.serial,
                order.id = issuance.order_id,
                account.id = issuance.account_id,
                directory = %issuance.directory,
                reserved_at = %issuance.created_at,
                "issuance abandoned: pending too long (the process died or lost the database after reserving the serial); the order is ready again, and the serial may have been signed but was never handed out"
            );
        }
        abandoned.extend(batch);
    }
    Ok(Some(abandoned))
}

#[cfg(test)]
mod tests {
    use super::*;
    use basalt_storage::StorageConfig;

    #[tokio::test]
    async fn one_replica_at_a_time_runs_the_pass() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&StorageConfig {
            url: format!("sqlite://{}?mode=rwc", dir.path().join("ca.db").display()),
            max_connections: 1,
            acquire_timeout: Duration::from_secs(5),
        })
        .await
        .unwrap();
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        assert_eq!(
            run_pass(&store, "replica-a", now, STALE_AFTER)
                .await
                .unwrap(),
            Some(vec![])
        );
        assert_eq!(
            run_pass(&store, "replica-b", now, STALE_AFTER)
                .await
                .unwrap(),
            None
        );
        let after_expiry = now + interval(STALE_AFTER) * LEASE_PASSES + Duration::from_secs(1);
        assert_eq!(
            run_pass(&store, "replica-b", after_expiry, STALE_AFTER)
                .await
                .unwrap(),
            Some(vec![])
        );
    }
}
