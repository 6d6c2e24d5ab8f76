//! Shared application state: built once at start, then read by every request.

use std::sync::Arc;

use basalt_storage::Store;
use time::OffsetDateTime;

use crate::account_cache::AccountCache;
use crate::areas::AreaHandle;
use crate::clock::Clock;
use crate::config::ServerConfig;
use crate::jobs::crl::CrlWake;
use crate::jobs::validation::ValidationQueue;
use crate::nonces::Nonces;

/// What handlers share. Cheap to clone (an `Arc`).
#[derive(Clone)]
pub(crate) struct AppState(pub Arc<App>);

pub(crate) struct App {
    pub store: Store,
    pub nonces: Nonces,
    /// Accounts by id for `kid` requests; every handler that changes an account
    /// invalidates its entry.
    pub accounts: AccountCache,
    pub clock: Arc<dyn Clock>,
    pub config: ServerConfig,
    /// The areas now; replaced as a whole on reload.
    pub areas: AreaHandle,
    /// Wakes this replica's CRL job after a revocation here.
    pub crl_wake: CrlWake,
    pub validation: ValidationQueue,
    /// For checks outside a validation job (CAA again at finalize).
    pub validator: Arc<basalt_validation::Validator>,
    /// Set when a graceful shutdown starts: `/readyz` answers 503 from then on.
    pub shutting_down: std::sync::atomic::AtomicBool,
}

impl std::ops::Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}

impl App {
    pub(crate) fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }
}
