//! basalt-server: the ACME front end (RFC 8555) over HTTPS.
//!
//! Owns HTTP, nonces, JWS authentication, problem rendering and the order/authorization flow
//! (`authority/`). It reads no key files (the signer does), writes no SQL (storage does) and
//! makes no outbound connections (validation does). Entry points: [`Server::new`], then
//! [`Server::run`]; [`routes::router`] is the one route table.

pub mod account_cache;
pub mod authority;
pub mod clock;
pub mod config;
pub mod extract;
pub mod handlers;
pub mod jobs;
pub mod layers;
pub mod nonces;
pub mod policy;
pub mod problem;
pub mod response;
pub mod routes;
pub mod state;
pub mod tls;
pub mod urls;
pub mod views;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use axum::Router;
use basalt_storage::Store;
use basalt_validation::Validator;
use tokio::net::TcpListener;

use crate::account_cache::AccountCache;
use crate::clock::Clock;
use crate::config::ServerConfig;
use crate::jobs::expiry_cleanup;
use crate::jobs::serving_certificate::{ServingCertificateError, ServingCertificates};
use crate::jobs::validation::{ValidationWorker, WorkerSettings, validation_channel};
use crate::nonces::Nonces;
use crate::state::{App, AppState};
use crate::tls::ServingCertResolver;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("storage: {0}")]
    Storage(#[from] basalt_storage::Error),
    #[error("serving certificate: {0}")]
    ServingCertificate(#[from] ServingCertificateError),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("configuration: {0}")]
    Config(String),
}

/// A ready-to-run server: state loaded, serving certificate in place.
pub struct Server {
    state: AppState,
    worker: ValidationWorker,
    serving: ServingCertificates,
    resolver: Arc<ServingCertResolver>,
    serving_id: i64,
    /// This process's name in leases.
    holder: String,
}

impl Server {
    /// Loads the shared nonce key (and starts the nonce redemption task), puts the serving
    /// certificate in place (issuing one if the database has none), and prepares the
    /// validation worker.
    pub async fn new(
        store: Store,
        validator: Arc<Validator>,
        config: ServerConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartError> {
        let first = config
            .directories
            .first()
            .ok_or_else(|| StartError::Config("at least one ACME directory is required".into()))?;
        let holder = process_holder_id();
        let nonces = Nonces::load(&store, config.nonce_lifetime, clock.now()).await?;
        let serving = ServingCertificates::new(
            store.clone(),
            first.issuer.clone(),
            ServingCertificates::names_for(config.listen.ip(), &config.serving_names),
            config.serving_certificate_lifetime,
            holder.clone(),
            clock.clone(),
        );
        let (resolver, serving_id) = serving.initial_resolver().await?;
        let caa_identities = config
            .directories
            .iter()
            .filter(|d| d.check_caa)
            .map(|d| (d.name.clone(), d.meta.caa_identities.clone()))
            .collect();
        let (validation, worker) = validation_channel(
            store.clone(),
            validator.clone(),
            clock.clone(),
            WorkerSettings {
                holder: holder.clone(),
                concurrency: config.validation_concurrency,
                lease: config.validation_lease,
                valid_authorization_lifetime: config.valid_authorization_lifetime,
                caa_identities,
            },
        );
        let directories: HashMap<_, _> = config
            .directories
            .iter()
            .map(|d| (d.name.clone(), d.clone()))
            .collect();
        let accounts = AccountCache::new(config.account_cache_ttl);
        let state = AppState(Arc::new(App {
            store,
            nonces,
            accounts,
            clock,
            config,
            directories,
            validation,
            validator,
        }));
        Ok(Self {
            state,
            worker,
            serving,
            resolver,
            serving_id,
            holder,
        })
    }

    /// The router, for in-process tests that skip TLS.
    pub fn router(&self) -> Router {
        routes::router(self.state.clone())
    }

    /// The certificate resolver (tests read the served leaf from it).
    pub fn serving_certificate(&self) -> Arc<ServingCertResolver> {
        self.resolver.clone()
    }

    /// Starts the background tasks (validation, serving-certificate renewal, clean-up) and
    /// serves HTTPS on `listener` until `shutdown` completes.
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), StartError> {
        let tls = tls::server_config(self.resolver.clone()).map_err(StartError::Tls)?;
        let router = self.router();
        let background = self.spawn_background();
        tls::serve(listener, tls, router, shutdown).await;
        for task in background {
            task.abort();
        }
        Ok(())
    }

    /// Starts the background tasks without serving (in-process tests drive the router).
    pub fn spawn_background(self) -> Vec<tokio::task::JoinHandle<()>> {
        let state = self.state.clone();
        vec![
            tokio::spawn(self.worker.run()),
            tokio::spawn(self.serving.run(self.resolver, self.serving_id)),
            tokio::spawn(clean_up(state, self.holder)),
        ]
    }
}

/// Every [`expiry_cleanup::INTERVAL`], runs an expiry clean-up pass if this replica holds
/// the clean-up lease.
async fn clean_up(state: AppState, holder: String) {
    let mut tick = tokio::time::interval(expiry_cleanup::INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match expiry_cleanup::run_pass(&state.store, &holder, state.now()).await {
            Ok(Some(deleted)) if deleted != expiry_cleanup::Deleted::default() => {
                tracing::info!(
                    nonces = deleted.nonces,
                    orders = deleted.orders,
                    authorizations = deleted.authorizations,
                    "expired records removed"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "expiry clean-up failed; retrying next pass"),
        }
    }
}

/// A name for this process in leases: host-independent random id plus pid.
fn process_holder_id() -> String {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 8];
    let _ = ring::rand::SystemRandom::new().fill(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{hex}", std::process::id())
}
