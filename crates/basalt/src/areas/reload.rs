//! Picks up new and changed areas while `serve` runs, on every replica.
//!
//! Two triggers: SIGHUP (an operator edited basalt.toml), and a change of the database's
//! `pki_state.revision`, which `area add`, `area rotate` and retirement bump in the same
//! transaction as their change, so every replica on the database notices within one
//! `server.area_refresh_interval` without a signal. A reload re-reads the config file and the
//! intermediates, loads every key, and swaps the whole set at once; if anything fails the
//! running areas stay as they were and the error is logged.

use std::path::PathBuf;
use std::time::Duration;

use basalt_server::AreaHandle;
use basalt_storage::Store;
use tokio::signal::unix::{SignalKind, signal};

use crate::areas::load::load_areas;
use crate::config::Config;

/// What a reload needs besides the database.
pub(crate) struct Reloader {
    pub(crate) data: PathBuf,
    pub(crate) config_path: PathBuf,
    /// Applies the command line's overrides to a freshly read config (flags win over the
    /// file on reload too).
    pub(crate) apply_flags: Box<dyn Fn(&mut Config) + Send + Sync>,
    pub(crate) store: Store,
    pub(crate) areas: AreaHandle,
    pub(crate) interval: Duration,
}

impl Reloader {
    /// Runs until the process ends.
    pub(crate) async fn run(self) {
        let mut revision = self.store.pki_revision().await.ok();
        let mut hangup = match signal(SignalKind::hangup()) {
            Ok(hangup) => Some(hangup),
            Err(e) => {
                tracing::warn!(error = %e, "no SIGHUP handler; areas reload only on database changes");
                None
            }
        };
        loop {
            let reason = tokio::select! {
                Some(()) = async { match hangup.as_mut() { Some(h) => h.recv().await, None => None } } => "SIGHUP",
                () = tokio::time::sleep(self.interval) => {
                    match self.store.pki_revision().await {
                        Ok(now) if Some(now) != revision => {
                            revision = Some(now);
                            "the database's intermediates changed"
                        }
                        Ok(_) => continue,
                        Err(e) => {
                            tracing::debug!(error = %e, "reading pki_state.revision failed");
                            continue;
                        }
                    }
                }
            };
            if let Err(e) = self.reload().await {
                tracing::error!(reason, error = %format!("{e:#}"), "reloading the areas failed; the current areas stay in force");
            }
        }
    }

    async fn reload(&self) -> anyhow::Result<()> {
        let mut config = Config::load(&self.config_path)?;
        (self.apply_flags)(&mut config);
        config.validate()?;
        let set = load_areas(
            &self.data,
            &config,
            &self.store,
            time::OffsetDateTime::now_utc(),
        )
        .await?;
        self.areas.replace(set).map_err(anyhow::Error::msg)
    }
}
