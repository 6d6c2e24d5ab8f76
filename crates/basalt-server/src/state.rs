//! Shared application state: built once at start, then read by every request.

use std::collections::HashMap;
use std::sync::Arc;

use basalt_storage::Store;
use time::OffsetDateTime;

use crate::account_cache::AccountCache;
use crate::clock::Clock;
use crate::config::{DirectoryConfig, ServerConfig};
use crate::jobs::validation::ValidationQueue;
use crate::nonces::Nonces;

/// What handlers share. Cheap to clone (an `Arc`).
#[derive(Clone)]
pub struct AppState(pub Arc<App>);

pub struct App {
    pub store: Store,
    pub nonces: Nonces,
    /// Accounts by id for `kid` requests; every handler that changes an account
    /// invalidates its entry.
    pub accounts: AccountCache,
    pub clock: Arc<dyn Clock>,
    pub config: ServerConfig,
    pub directories: HashMap<String, DirectoryConfig>,
    pub validation: ValidationQueue,
    /// For checks outside a validation job (CAA again at finalize).
    pub validator: Arc<basalt_validation::Validator>,
}

impl std::ops::Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}

impl App {
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }
}
