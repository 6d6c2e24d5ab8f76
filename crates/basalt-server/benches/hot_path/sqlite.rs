//! A real SQLite file in a temporary directory, connected and migrated by `Store::connect`
//! exactly as `basalt serve` does (WAL, `synchronous=NORMAL`, one writer connection and the
//! read-only readers), for the benchmarks that include database work. Shared by `nonces.rs`
//! and `orders.rs`.

use std::time::Duration;

use tempfile::TempDir;
use tokio::runtime::Runtime;

use basalt_storage::{StorageConfig, Store};

/// A migrated store on a fresh SQLite file; the file goes away on drop.
pub(crate) struct BenchDb {
    pub(crate) store: Store,
    _dir: TempDir,
}

impl BenchDb {
    pub(crate) async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("ca.db").display());
        let store = Store::connect(&StorageConfig {
            url,
            // basalt.toml's default `storage.max_connections`; SQLite opens min(4, it) readers.
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
        })
        .await
        .expect("connect and migrate SQLite");
        Self { store, _dir: dir }
    }
}

/// A single-threaded runtime: the benchmark awaits one store call at a time, as one request
/// does. sqlx still runs SQLite on its own worker thread, as in the server.
pub(crate) fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("build a tokio runtime")
}
