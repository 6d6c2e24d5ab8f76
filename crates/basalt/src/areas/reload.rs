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
use crate::keys::KeyContext;

/// What a reload needs besides the database.
pub(crate) struct Reloader {
    pub(crate) data: PathBuf,
    pub(crate) config_path: PathBuf,
    /// Applies the command line's overrides to a freshly read config (flags win over the
    /// file on reload too).
    pub(crate) apply_flags: Box<dyn Fn(&mut Config) + Send + Sync>,
    pub(crate) store: Store,
    /// The process's key context: tokens stay open across reloads.
    pub(crate) keys: std::sync::Arc<KeyContext>,
    pub(crate) areas: AreaHandle,
    pub(crate) interval: Duration,
}

impl Reloader {
    /// Runs until the process ends. A reload the database asked for is retried every
    /// interval until it succeeds (a key file may reach this machine after the row); the
    /// same failure is logged as an error once, then at debug level.
    pub(crate) async fn run(self) {
        // The revision the areas in force were loaded at (`serve` loaded them just now).
        let mut applied = self.store.pki_revision().await.ok();
        let mut last_error: Option<String> = None;
        let mut hangup = match signal(SignalKind::hangup()) {
            Ok(hangup) => Some(hangup),
            Err(e) => {
                tracing::warn!(error = %e, "no SIGHUP handler; areas reload only on database changes");
                None
            }
        };
        loop {
            let (reason, revision) = tokio::select! {
                Some(()) = async { match hangup.as_mut() { Some(h) => h.recv().await, None => None } } => {
                    ("SIGHUP", self.store.pki_revision().await.ok())
                }
                () = tokio::time::sleep(self.interval) => {
                    match self.store.pki_revision().await {
                        Ok(now) if Some(now) != applied => ("the database's intermediates changed", Some(now)),
                        Ok(_) => continue,
                        Err(e) => {
                            tracing::debug!(error = %e, "reading pki_state.revision failed");
                            continue;
                        }
                    }
                }
            };
            match self.reload().await {
                Ok(()) => {
                    applied = revision.or(applied);
                    last_error = None;
                }
                Err(e) => {
                    let error = format!("{e:#}");
                    if last_error.as_deref() == Some(error.as_str()) {
                        tracing::debug!(reason, %error, "reloading the areas failed again");
                    } else {
                        tracing::error!(reason, %error, "reloading the areas failed; the current areas stay in force, retrying");
                    }
                    last_error = Some(error);
                }
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
            &self.keys,
            time::OffsetDateTime::now_utc(),
        )
        .await?;
        self.areas.replace(set).map_err(anyhow::Error::msg)
    }
}
