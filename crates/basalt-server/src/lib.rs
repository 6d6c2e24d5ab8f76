//! basalt-server: the ACME front end (RFC 8555) over HTTPS.
//!
//! Owns HTTP, nonces, JWS authentication, problem rendering and the order/authorization flow
//! (`authority/`, with `policy/` and the background `jobs/` beside it). Its modules are
//! private; what the binary and the tests use is re-exported here. It reads no key files
//! (the signer does), writes no SQL (storage does) and makes no outbound connections
//! (validation does). Entry points: [`Server::new`], then
//! [`Server::run`]; `routes.rs` is the one route table.

mod accept_backoff;
mod account_cache;
mod areas;
mod authority;
mod clock;
mod config;
mod conn_limit;
mod drain;
mod extract;
mod handlers;
mod jobs;
mod layers;
mod metrics;
mod nonces;
mod params;
mod pki;
mod policy;
mod problem;
mod response;
mod routes;
mod state;
mod tls;
mod urls;
mod views;

pub use crate::areas::{AreaHandle, intermediate_record};
pub use crate::clock::{Clock, ManualClock, SystemClock};
pub use crate::config::profiles::{
    DEFAULT_PROFILE, MAX_PROFILE_NAME_LEN, Profile, ProfileSet, valid_profile_name,
};
pub use crate::config::{
    AreaSet, ConnectionSettings, CrlSettings, DirectoryConfig, DirectoryMetaConfig, EabMode,
    IssuancePolicy, RenewalSettings, ServerConfig, SigningIntermediate, ValidationQueueLimits,
};
pub use crate::jobs::issuance_recovery::STALE_AFTER as DEFAULT_ISSUANCE_STALE_AFTER;
pub use crate::jobs::serving_certificate::{ServingCertificateError, ServingCertificates};
pub use crate::metrics::Metrics;
pub use crate::nonces::{NonceRejection, Nonces};
pub use crate::policy::names::{NamePolicy, NameRule};
pub use crate::tls::{ServingCertResolver, certified_key, serve as serve_https, server_config};

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use basalt_storage::Store;
use basalt_validation::Validator;
use tokio::net::TcpListener;

use crate::account_cache::AccountCache;
use crate::jobs::crl::CrlWake;
use crate::jobs::validation::{ValidationWorker, WorkerSettings, validation_channel};
use crate::jobs::{expiry_cleanup, issuance_recovery};
use crate::state::{App, AppState};

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
    /// The plain-HTTP listener for CRLs and CA certificates, if configured.
    pki_listener: Option<TcpListener>,
    metrics_listener: Option<TcpListener>,
}

impl Server {
    /// Loads the shared nonce key (and starts the nonce redemption task), puts the serving
    /// certificate in place (issuing one if the database has none), and prepares the
    /// validation worker.
    pub async fn new(
        store: Store,
        validator: Arc<Validator>,
        mut config: ServerConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartError> {
        // Taken out of the config the state keeps: the handle is the one place areas live, so
        // a reload drops the old intermediates (and their keys) instead of a stale copy
        // holding them for the life of the process.
        let areas =
            AreaHandle::new(std::mem::take(&mut config.areas)).map_err(StartError::Config)?;
        let holder = process_holder_id();
        let nonces = Nonces::load(&store, config.nonce_lifetime, clock.now()).await?;
        let serving = ServingCertificates::new(
            store.clone(),
            areas.current().first().issuer.clone(),
            ServingCertificates::names_for(config.listen.ip(), &config.serving_names),
            config.serving_certificate_lifetime,
            holder.clone(),
            clock.clone(),
        )
        .following(areas.clone());
        let (resolver, serving_id) = serving.initial_resolver().await?;
        let (validation, worker) = validation_channel(
            store.clone(),
            validator.clone(),
            clock.clone(),
            WorkerSettings {
                holder: holder.clone(),
                concurrency: config.validation_concurrency,
                lease: config.validation_lease,
                valid_authorization_lifetime: config.valid_authorization_lifetime,
                queue: config.validation_queue,
                areas: areas.clone(),
                shutdown_timeout: config.connections.shutdown_timeout,
                metrics: config.metrics.clone(),
            },
        );
        let accounts = AccountCache::new(config.account_cache_ttl);
        let state = AppState(Arc::new(App {
            store,
            nonces,
            accounts,
            clock,
            config,
            areas,
            crl_wake: CrlWake::default(),
            validation,
            validator,
            shutting_down: std::sync::atomic::AtomicBool::new(false),
        }));
        Ok(Self {
            state,
            worker,
            serving,
            resolver,
            serving_id,
            holder,
            pki_listener: None,
            metrics_listener: None,
        })
    }

    /// Serves CRLs, the root and the intermediates over plain HTTP on `listener` too
    /// (`server.pki_listen`), while [`Server::run`] runs.
    pub fn with_pki_listener(mut self, listener: TcpListener) -> Self {
        self.pki_listener = Some(listener);
        self
    }

    /// Serves `/metrics`, `/healthz` and `/readyz` on `listener` (`server.metrics_listen`).
    pub fn with_metrics_listener(mut self, listener: TcpListener) -> Self {
        self.metrics_listener = Some(listener);
        self
    }

    /// The metrics listener's router, for in-process tests.
    pub fn metrics_router(&self) -> Router {
        metrics::listener::router(self.state.clone())
    }

    /// The PKI listener's router, for in-process tests.
    pub fn pki_router(&self) -> Router {
        pki::router(self.state.clone())
    }

    /// The router, for in-process tests that skip TLS.
    pub fn router(&self) -> Router {
        routes::router(self.state.clone())
    }

    /// The areas this server serves, for the binary to replace on reload.
    pub fn areas(&self) -> AreaHandle {
        self.state.areas.clone()
    }

    /// The certificate resolver (tests read the served leaf from it).
    pub fn serving_certificate(&self) -> Arc<ServingCertResolver> {
        self.resolver.clone()
    }

    /// Starts the background tasks (validation, serving-certificate renewal, CRLs,
    /// issuance recovery, clean-up) and serves HTTPS on `listener` until `shutdown`
    /// completes.
    pub async fn run(
        mut self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), StartError> {
        let tls = server_config(self.resolver.clone()).map_err(StartError::Tls)?;
        let router = self.router();
        let connections = self.state.config.connections.clone();
        let pki = self.pki_listener.take().map(|listener| {
            let router = self.pki_router();
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, router).await {
                    tracing::error!(error = %e, "the PKI listener stopped");
                }
            })
        });
        let metrics = self.metrics_listener.take().map(|listener| {
            let router = self.metrics_router();
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, router).await {
                    tracing::error!(error = %e, "the metrics listener stopped");
                }
            })
        });
        let store = self.state.store.clone();
        let holder = self.holder.clone();
        // Graceful shutdown (issue 17): when `shutdown` completes, the listener stops
        // accepting and drains its connections while the validation worker stops taking jobs
        // and finishes those running, both within `shutdown_timeout`.
        let (stopping, stopped) = tokio::sync::watch::channel(false);
        let worker_stop = async move {
            let mut stopped = stopped;
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        let state = self.state.clone();
        let (worker, background) = self.spawn_tasks(worker_stop);
        let shutdown = async move {
            shutdown.await;
            tracing::info!("shutdown requested");
            state
                .shutting_down
                .store(true, std::sync::atomic::Ordering::Relaxed);
            stopping.send_replace(true);
        };
        tls::serve(listener, tls, router, &connections, shutdown).await;
        // The worker bounds its own wait; this bound only guards against a stuck one.
        let worker_grace = connections.shutdown_timeout + std::time::Duration::from_secs(1);
        if tokio::time::timeout(worker_grace, worker).await.is_err() {
            tracing::warn!("the validation worker did not stop in time");
        }
        // The metrics listener answered through the drain (`/readyz` saying "shutting down",
        // so balancers stop sending here); it stops with the rest.
        for task in background.into_iter().chain(pki).chain(metrics) {
            task.abort();
        }
        release_validation_claims(&store, &holder).await;
        release_leases(&store, &holder).await;
        tracing::info!("shutdown complete");
        Ok(())
    }

    /// Starts the background tasks without serving (in-process tests drive the router).
    pub fn spawn_background(self) -> Vec<tokio::task::JoinHandle<()>> {
        let (worker, mut others) = self.spawn_tasks(std::future::pending());
        others.push(worker);
        others
    }

    /// Starts the validation worker (which stops taking jobs when `worker_stop` completes)
    /// and the other background tasks; the worker's handle first.
    fn spawn_tasks(
        self,
        worker_stop: impl Future<Output = ()> + Send + 'static,
    ) -> (
        tokio::task::JoinHandle<()>,
        Vec<tokio::task::JoinHandle<()>>,
    ) {
        let state = self.state.clone();
        let worker = tokio::spawn(self.worker.run(worker_stop));
        let others = vec![
            tokio::spawn(self.serving.run(self.resolver, self.serving_id)),
            tokio::spawn(jobs::crl::run(
                state.store.clone(),
                state.areas.clone(),
                state.clock.clone(),
                self.holder.clone(),
                state.crl_wake.clone(),
            )),
            tokio::spawn(recover_issuances(state.clone(), self.holder.clone())),
            tokio::spawn(clean_up(state, self.holder)),
        ];
        (worker, others)
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

/// At start-up and every [`issuance_recovery::INTERVAL`], gives back the orders of
/// issuances left pending too long, if this replica holds the recovery lease (each is
/// logged by the pass).
async fn recover_issuances(state: AppState, holder: String) {
    let stale_after = state.config.issuance_stale_after;
    let mut tick = tokio::time::interval(issuance_recovery::interval(stale_after));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        // The first tick completes at once: the start-up pass.
        tick.tick().await;
        if let Err(e) =
            issuance_recovery::run_pass(&state.store, &holder, state.now(), stale_after).await
        {
            tracing::warn!(error = %e, "issuance recovery failed; retrying next pass");
        }
    }
}

/// On a clean shutdown, gives back the validation jobs this process claimed but did not
/// finish (queued, or still running at the timeout), so another replica's sweep takes them
/// at once instead of when their lease runs out.
async fn release_validation_claims(store: &Store, holder: &str) {
    match store.release_validation_claims(holder).await {
        Ok(0) => {}
        Ok(released) => tracing::info!(released, "unfinished validations given back"),
        Err(e) => tracing::warn!(error = %e, "could not give back unfinished validations"),
    }
}

/// On a clean shutdown, gives up the singleton jobs' leases this process holds, so another
/// replica (or this one restarted, under a new holder id) takes over at once instead of
/// waiting for them to expire.
async fn release_leases(store: &Store, holder: &str) {
    for name in [
        jobs::crl::LEASE_NAME,
        expiry_cleanup::LEASE_NAME,
        issuance_recovery::LEASE_NAME,
        jobs::serving_certificate::LEASE_NAME,
    ] {
        if let Err(e) = store.release_lease(name, holder).await {
            tracing::warn!(lease = name, error = %e, "could not release a lease at shutdown");
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
