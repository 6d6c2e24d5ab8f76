//! The metrics that describe state rather than events, read when Prometheus scrapes: the
//! database's health and pools, each CA certificate's time left, each area's certificates
//! about to expire, each CRL's age. Families whose label values can disappear (a retired
//! intermediate) are cleared and refilled, so a scrape never shows a series that is gone.

use time::{Duration as TimeDuration, OffsetDateTime};

use super::Metrics;
use super::labels::{AreaLabels, CaLabels, CrlLabels, PoolLabels};
use crate::state::AppState;

/// "About to expire": notAfter within this of now.
const EXPIRING_WITHIN: TimeDuration = TimeDuration::hours(1);

impl Metrics {
    /// Reads the state-describing values. A database that does not answer sets
    /// `basalt_database_up` to 0 and leaves the database-derived values as they were.
    pub(crate) async fn refresh(&self, state: &AppState) {
        let inner = &self.0;
        let now = state.now();
        self.refresh_ca_expiry(state, now);
        inner.pool_connections.clear();
        for pool in state.store.pool_status() {
            for (which, value) in [("idle", pool.idle), ("in_use", pool.in_use)] {
                inner
                    .pool_connections
                    .get_or_create(&PoolLabels {
                        pool: pool.pool,
                        state: which,
                    })
                    .set(i64::from(value));
            }
        }
        let up = state.store.ping().await.is_ok();
        inner.database_up.set(i64::from(up));
        if !up {
            return;
        }
        if let Ok(expiring) = state
            .store
            .certificates_expiring(now, now + EXPIRING_WITHIN)
            .await
        {
            inner.expiring_soon.clear();
            // Every area has a series, 0 included, so an alert can compare it over time.
            for area in state.areas.current().directories() {
                inner
                    .expiring_soon
                    .get_or_create(&AreaLabels {
                        area: area.name.clone(),
                    })
                    .set(0);
            }
            for (area, count) in expiring {
                inner
                    .expiring_soon
                    .get_or_create(&AreaLabels { area })
                    .set(i64::try_from(count).unwrap_or(i64::MAX));
            }
        }
        if let Ok(candidates) = state.store.crl_candidates().await {
            inner.crl_age.clear();
            for crl in candidates {
                if let Some(this_update) = crl.crl_this_update {
                    inner
                        .crl_age
                        .get_or_create(&CrlLabels {
                            area: crl.area,
                            key_id: crl.key_id,
                        })
                        .set(seconds(now - this_update));
                }
            }
        }
    }

    /// Seconds until the root and each loaded intermediate expire (negative once expired).
    fn refresh_ca_expiry(&self, state: &AppState, now: OffsetDateTime) {
        let family = &self.0.ca_expiry;
        family.clear();
        let snapshot = state.areas.current();
        let active: Vec<i64> = snapshot.directories().map(|d| d.intermediate_id).collect();
        for (id, area, issuer) in snapshot.signing_intermediates() {
            family
                .get_or_create(&CaLabels {
                    role: "intermediate",
                    area: area.to_owned(),
                    key_id: issuer.key_id(),
                    status: if active.contains(&id) {
                        "active"
                    } else {
                        "retiring"
                    },
                })
                .set(seconds(issuer.not_after() - now));
        }
        let root = basalt_signer::pem_to_der(&state.config.root_pem)
            .ok()
            .and_then(|ders| ders.into_iter().next())
            .and_then(|der| basalt_signer::certificate_expiry_and_key_id(&der).ok());
        if let Some((not_after, key_id)) = root {
            family
                .get_or_create(&CaLabels {
                    role: "root",
                    area: String::new(),
                    key_id,
                    status: "root",
                })
                .set(seconds(not_after - now));
        }
    }
}

fn seconds(duration: TimeDuration) -> f64 {
    duration.as_seconds_f64()
}
