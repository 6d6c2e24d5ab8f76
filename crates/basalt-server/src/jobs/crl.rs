//! Certificate revocation lists: one per intermediate (RFC 5280 §5), made by one replica at
//! a time and stored in the database, from where every replica's PKI listener serves it.
//!
//! Every replica runs [`run`]; a pass only works under the `crl` lease. A pass looks at each
//! intermediate this replica has loaded (active or retiring) and remakes its CRL when:
//! none exists yet; a revocation happened since it was made (`intermediates.revocations`
//! grew, bumped in the revocation's own transaction on any replica); or less than half of
//! its lifetime is left before nextUpdate. A revocation on this replica wakes the job at
//! once ([`CrlWake`]); one on another replica is seen within [`INTERVAL`].
//!
//! The CRL number only grows, across replicas too: the new CRL is numbered one more than
//! the stored one and stored with a compare-and-set on the old number, so of two writers
//! (a lease taken over mid-pass) the later one loses and its CRL is dropped. The same pass
//! moves retiring intermediates whose certificates have all expired to retired.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::Notify;

use basalt_signer::{CrlRequest, Issuer, RevokedEntry};
use basalt_storage::Store;

use crate::areas::AreaHandle;
use crate::clock::Clock;
use crate::config::CrlSettings;
use crate::pki::urls::crl_url;

/// How often a replica looks for work when nothing wakes it.
pub(crate) const INTERVAL: Duration = Duration::from_secs(2);
/// Longer than [`INTERVAL`], so the holder keeps the lease from pass to pass.
const LEASE_TTL: Duration = Duration::from_secs(30);
pub(crate) const LEASE_NAME: &str = "crl";
/// How long after a rotation its old intermediate keeps its CRL however few certificates it
/// has: replicas reload within seconds, but one that lags may still sign with it.
const RETIRE_GRACE: Duration = Duration::from_secs(3600);
/// How often retiring intermediates are checked for retirement.
const RETIRE_EVERY: Duration = Duration::from_secs(60);

/// Wakes this replica's CRL job (after a revocation here), so the new CRL does not wait for
/// the next tick.
#[derive(Clone, Default)]
pub(crate) struct CrlWake(Arc<Notify>);

impl CrlWake {
    pub(crate) fn wake(&self) {
        self.0.notify_one();
    }
}

/// Runs CRL passes forever.
pub(crate) async fn run(
    store: Store,
    areas: AreaHandle,
    clock: Arc<dyn Clock>,
    holder: String,
    wake: CrlWake,
) {
    let mut last_retire: Option<OffsetDateTime> = None;
    loop {
        let now = clock.now();
        match run_pass(&store, &areas, &holder, now).await {
            Ok(Some(made)) if made > 0 => tracing::debug!(crls = made, "CRLs made"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "CRL pass failed; retrying next pass"),
        }
        if last_retire.is_none_or(|at| now - at >= RETIRE_EVERY) {
            last_retire = Some(now);
            match store.retire_intermediates(now, RETIRE_GRACE).await {
                Ok(retired) => {
                    for record in retired {
                        tracing::info!(area = %record.area, intermediate.key_id = %record.key_id, "intermediate retired: its last certificate expired");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "retiring intermediates failed"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(INTERVAL) => {}
            _ = wake.0.notified() => {}
        }
    }
}

/// One pass, if this replica holds (or can take) the lease: how many CRLs it made, `None`
/// when another replica holds the lease.
pub(crate) async fn run_pass(
    store: &Store,
    areas: &AreaHandle,
    holder: &str,
    now: OffsetDateTime,
) -> Result<Option<usize>, basalt_storage::Error> {
    let snapshot = areas.current();
    let signers: Vec<_> = snapshot
        .signing_intermediates()
        .into_iter()
        .filter_map(|(id, area, issuer)| {
            let directory = snapshot.directory(area)?;
            let settings = directory.crl.clone()?;
            Some(Signer {
                id,
                issuer: issuer.clone(),
                settings,
                base_url: directory.pki_base_url.clone(),
            })
        })
        .collect();
    if signers.is_empty() {
        return Ok(Some(0));
    }
    if !store.try_lease(LEASE_NAME, holder, now, LEASE_TTL).await? {
        return Ok(None);
    }
    let states = store.crl_candidates().await?;
    let mut made = 0;
    for signer in &signers {
        let Some(state) = states.iter().find(|s| s.intermediate_id == signer.id) else {
            continue;
        };
        if !state.needs_crl(now, signer.settings.lifetime) {
            continue;
        }
        if make_crl(store, signer, state.crl_number, state.revocations, now).await? {
            made += 1;
        }
    }
    Ok(Some(made))
}

/// An intermediate that makes CRLs, with its area's settings.
struct Signer {
    id: i64,
    issuer: Arc<Issuer>,
    settings: CrlSettings,
    base_url: Option<String>,
}

/// Lists the intermediate's revoked, unexpired certificates (read after the revocation
/// counter, so a revocation racing this pass is in the list or makes the next pass due),
/// signs CRL number `previous + 1` and stores it if the number is still `previous`.
async fn make_crl(
    store: &Store,
    signer: &Signer,
    previous: i64,
    revocations_seen: i64,
    now: OffsetDateTime,
) -> Result<bool, basalt_storage::Error> {
    let revoked = store.revoked_certificates(signer.id, now).await?;
    let entries: Vec<RevokedEntry> = revoked
        .into_iter()
        .map(|r| RevokedEntry {
            serial: r.serial,
            revoked_at: r.revoked_at,
            reason: r.reason,
        })
        .collect();
    let this_update = now;
    let Ok(lifetime) = time::Duration::try_from(signer.settings.lifetime) else {
        tracing::warn!(intermediate.id = signer.id, "CRL lifetime out of range");
        return Ok(false);
    };
    let next_update = now + lifetime;
    let number = u64::try_from(previous).unwrap_or(0) + 1;
    let distribution_point = signer
        .base_url
        .as_deref()
        .map(|base| crl_url(base, &signer.issuer.key_id()));
    let der = match signer.issuer.sign_crl(&CrlRequest {
        number,
        this_update,
        next_update,
        entries: &entries,
        distribution_point: distribution_point.as_deref(),
    }) {
        Ok(der) => der,
        Err(e) => {
            tracing::warn!(intermediate.id = signer.id, error = %e, "signing the CRL failed");
            return Ok(false);
        }
    };
    let stored = store
        .store_crl(
            signer.id,
            previous,
            revocations_seen,
            &der,
            this_update,
            next_update,
        )
        .await?;
    if stored {
        tracing::debug!(
            intermediate.key_id = %signer.issuer.key_id(),
            crl.number = number,
            crl.entries = entries.len(),
            "CRL made"
        );
    }
    Ok(stored)
}
