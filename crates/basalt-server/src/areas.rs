//! The areas a running server serves, replaceable without a restart.
//!
//! Requests, the validation worker, the serving certificate and the CRL job all read the
//! current [`AreaSnapshot`] through one [`AreaHandle`]; the binary swaps in a new one when
//! basalt.toml or the database's intermediates change (SIGHUP, or another process's
//! `area add` / `area rotate` seen through `pki_state.revision`). A request keeps the
//! snapshot it started with, so a swap never changes an area under a running finalize.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use basalt_signer::Issuer;
use basalt_storage::NewIntermediate;

use crate::config::{AreaSet, DirectoryConfig, SigningIntermediate};

/// The database row for a loaded intermediate of `area` whose key is `key_ref` (relative to
/// the data directory): what `serve`'s adoption, `area add` and `area rotate` record.
pub fn intermediate_record(area: &str, issuer: &Issuer, key_ref: &str) -> NewIntermediate {
    NewIntermediate {
        area: area.to_owned(),
        key_id: issuer.key_id(),
        subject: issuer.subject(),
        certificate_pem: issuer.chain_pem().to_owned(),
        key_ref: key_ref.to_owned(),
        not_before: issuer.not_before(),
        not_after: issuer.not_after(),
    }
}

/// One consistent view of every area.
pub(crate) struct AreaSnapshot {
    directories: HashMap<String, Arc<DirectoryConfig>>,
    /// Directory names in configuration order; the first one's intermediate signs the
    /// serving certificate.
    order: Vec<String>,
    retiring: Vec<SigningIntermediate>,
}

impl AreaSnapshot {
    fn build(set: AreaSet) -> Result<Self, String> {
        if set.directories.is_empty() {
            return Err("at least one ACME directory is required".into());
        }
        let mut directories = HashMap::new();
        let mut order = Vec::new();
        for directory in set.directories {
            let name = directory.name.clone();
            if directories
                .insert(name.clone(), Arc::new(directory))
                .is_some()
            {
                return Err(format!("directory {name:?} is configured twice"));
            }
            order.push(name);
        }
        Ok(Self {
            directories,
            order,
            retiring: set.retiring,
        })
    }

    pub(crate) fn directory(&self, name: &str) -> Option<&Arc<DirectoryConfig>> {
        self.directories.get(name)
    }

    /// The areas in configuration order.
    pub(crate) fn directories(&self) -> impl Iterator<Item = &Arc<DirectoryConfig>> {
        self.order
            .iter()
            .filter_map(|name| self.directories.get(name))
    }

    /// The first area (configuration order).
    pub(crate) fn first(&self) -> &Arc<DirectoryConfig> {
        // `build` refuses an empty set.
        &self.directories[&self.order[0]]
    }

    /// Every loaded intermediate that may sign a CRL: each area's active one, then the
    /// retiring ones, as (id, area, issuer).
    pub(crate) fn signing_intermediates(&self) -> Vec<(i64, &str, &Arc<Issuer>)> {
        self.directories()
            .map(|d| (d.intermediate_id, d.name.as_str(), &d.issuer))
            .chain(
                self.retiring
                    .iter()
                    .map(|r| (r.id, r.area.as_str(), &r.issuer)),
            )
            .collect()
    }
}

/// Shared access to the current areas. Cheap to clone.
#[derive(Clone)]
pub struct AreaHandle(Arc<ArcSwap<AreaSnapshot>>);

impl AreaHandle {
    pub(crate) fn new(set: AreaSet) -> Result<Self, String> {
        Ok(Self(Arc::new(ArcSwap::from_pointee(AreaSnapshot::build(
            set,
        )?))))
    }

    /// Replaces every area at once. Requests already running finish with the areas they
    /// started with. An invalid set is refused and the current one stays.
    pub fn replace(&self, set: AreaSet) -> Result<(), String> {
        let names: Vec<String> = set.directories.iter().map(|d| d.name.clone()).collect();
        self.0.store(Arc::new(AreaSnapshot::build(set)?));
        tracing::info!(areas = ?names, "areas reloaded");
        Ok(())
    }

    /// The areas now.
    pub(crate) fn current(&self) -> Arc<AreaSnapshot> {
        self.0.load_full()
    }

    /// One area now.
    pub(crate) fn directory(&self, name: &str) -> Option<Arc<DirectoryConfig>> {
        self.0.load().directory(name).cloned()
    }

    /// Whether an area of that name exists now.
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.0.load().directory(name).is_some()
    }
}
