//! The HTTPS certificate basalt issues to itself from its own intermediate, and its renewal.
//!
//! It lives in the database (`serving_certificates`), so every replica serves the same one
//! and a restart reuses it. Its private key is stored only as the signer sealed it, under a
//! key derived from the intermediate (docs/secrets.md): reading the database is not enough to
//! impersonate basalt. One replica at a time renews it, holding a lease; the others pick the
//! new one up on their next check. Renewal happens after two thirds of the lifetime, and the
//! new certificate is swapped in without a restart. A stored certificate whose key does not
//! open here (purged, or sealed under another intermediate) is treated as due for renewal.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use basalt_protocol::Identifier;
use basalt_signer::Issuer;
use basalt_storage::{NewServingCertificate, ServingCertificateRecord, Store};
use rustls::sign::CertifiedKey;

use crate::areas::AreaHandle;
use crate::clock::Clock;
use crate::tls::{ServingCertResolver, certified_key};

pub(crate) const LEASE_NAME: &str = "serving-certificate";
const LEASE_TTL: Duration = Duration::from_secs(60);

/// Why the serving certificate could not be put in place.
#[derive(Debug, thiserror::Error)]
pub enum ServingCertificateError {
    #[error("storage: {0}")]
    Storage(#[from] basalt_storage::Error),
    #[error("signing: {0}")]
    Signer(#[from] basalt_signer::Error),
    #[error("{0}")]
    Tls(String),
    #[error("another replica holds the renewal lease and no serving certificate exists yet")]
    NotYetAvailable,
}

/// Which intermediate signs the serving certificate and which may open a stored one.
enum IssuerSource {
    /// One fixed intermediate (tests).
    Fixed(Arc<Issuer>),
    /// The first area's active intermediate signs; any loaded intermediate opens (a
    /// certificate issued before a rotation stays usable until it is due).
    Areas(AreaHandle),
}

impl IssuerSource {
    fn signing(&self) -> Arc<Issuer> {
        match self {
            Self::Fixed(issuer) => issuer.clone(),
            Self::Areas(areas) => areas.current().first().issuer.clone(),
        }
    }

    /// Opens a sealed serving key with whichever loaded intermediate sealed it.
    fn open(
        &self,
        chain_pem: &str,
        sealed: &str,
    ) -> Result<zeroize::Zeroizing<String>, basalt_signer::Error> {
        match self {
            Self::Fixed(issuer) => issuer.open_serving_key(chain_pem, sealed),
            Self::Areas(areas) => {
                let snapshot = areas.current();
                let mut last = None;
                for (_, _, issuer) in snapshot.signing_intermediates() {
                    match issuer.open_serving_key(chain_pem, sealed) {
                        Ok(key) => return Ok(key),
                        Err(e) => last = Some(e),
                    }
                }
                Err(last.unwrap_or(basalt_signer::Error::SealedKey(
                    "no intermediate is loaded".into(),
                )))
            }
        }
    }
}

/// Keeps the serving certificate current.
pub struct ServingCertificates {
    store: Store,
    issuer: IssuerSource,
    names: Vec<Identifier>,
    lifetime: Duration,
    holder: String,
    clock: Arc<dyn Clock>,
}

impl ServingCertificates {
    pub fn new(
        store: Store,
        issuer: Arc<Issuer>,
        names: Vec<Identifier>,
        lifetime: Duration,
        holder: String,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            issuer: IssuerSource::Fixed(issuer),
            names,
            lifetime,
            holder,
            clock,
        }
    }

    /// From now on signs with the first area's active intermediate as it is at each renewal
    /// (and opens a stored key with any loaded intermediate), not with the one given to `new`.
    pub(crate) fn following(mut self, areas: AreaHandle) -> Self {
        self.issuer = IssuerSource::Areas(areas);
        self
    }

    /// The certificate's names: the listen host (unless unspecified), `localhost`,
    /// `127.0.0.1`, `::1`, and configured extra names; duplicates removed.
    pub fn names_for(listen_host: IpAddr, extra: &[String]) -> Vec<Identifier> {
        let mut names: Vec<Identifier> = Vec::new();
        let mut push = |id: Identifier| {
            if !names.contains(&id) {
                names.push(id);
            }
        };
        if !listen_host.is_unspecified() {
            push(Identifier::ip(listen_host));
        }
        // A literal that parse accepts (reserved, but this certificate is basalt's own).
        if let Ok(localhost) = Identifier::dns("localhost") {
            push(localhost);
        }
        push(Identifier::ip(IpAddr::from([127, 0, 0, 1])));
        push(Identifier::ip(IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1])));
        for name in extra {
            match name.parse::<IpAddr>() {
                Ok(ip) => push(Identifier::ip(ip)),
                Err(_) => match Identifier::dns(name) {
                    Ok(id) => push(id),
                    Err(refused) => {
                        tracing::warn!(name = %name, reason = %refused.detail, "serving name ignored");
                    }
                },
            }
        }
        names
    }

    /// A usable certificate: stored, covering our names, not due for renewal, and with a key
    /// this replica can open.
    fn is_fresh(&self, record: &ServingCertificateRecord) -> bool {
        let renew_at = record.not_after - self.lifetime / 3;
        let covers = self
            .names
            .iter()
            .all(|n| record.names.iter().any(|stored| stored == n.value()));
        covers && renew_at > self.clock.now() && self.opens(record)
    }

    fn opens(&self, record: &ServingCertificateRecord) -> bool {
        record
            .sealed_key
            .as_deref()
            .is_some_and(|sealed| self.issuer.open(&record.chain_pem, sealed).is_ok())
    }

    /// The rustls key for a stored certificate: its sealed key opened by the signer.
    pub fn certified_key(
        &self,
        record: &ServingCertificateRecord,
    ) -> Result<CertifiedKey, ServingCertificateError> {
        let sealed = record.sealed_key.as_deref().ok_or_else(|| {
            ServingCertificateError::Tls("the stored serving key was purged".into())
        })?;
        let key_pem = self.issuer.open(&record.chain_pem, sealed)?;
        certified_key(&record.chain_pem, &key_pem).map_err(ServingCertificateError::Tls)
    }

    /// Returns the record to serve, issuing a new one if needed (and if we win the lease).
    pub async fn current(&self) -> Result<ServingCertificateRecord, ServingCertificateError> {
        let latest = self.store.latest_serving_certificate().await?;
        if let Some(record) = &latest
            && self.is_fresh(record)
        {
            return Ok(record.clone());
        }
        let now = self.clock.now();
        if self
            .store
            .try_lease(LEASE_NAME, &self.holder, now, LEASE_TTL)
            .await?
        {
            let issued =
                self.issuer
                    .signing()
                    .issue_serving_certificate(&self.names, self.lifetime, now)?;
            let record = self
                .store
                .insert_serving_certificate(&NewServingCertificate {
                    chain_pem: issued.chain_pem,
                    sealed_key: issued.sealed_key,
                    names: self.names.iter().map(|n| n.value().to_owned()).collect(),
                    not_after: issued.not_after,
                    now,
                })
                .await?;
            let _ = self.store.release_lease(LEASE_NAME, &self.holder).await;
            tracing::info!(cert.serial = %issued.serial, not_after = %record.not_after, "serving certificate issued");
            return Ok(record);
        }
        // Another replica is renewing; keep serving the old one while it is still valid.
        match latest {
            Some(record) if record.not_after > now && self.opens(&record) => Ok(record),
            _ => Err(ServingCertificateError::NotYetAvailable),
        }
    }

    /// Loads the current certificate into a new resolver, waiting briefly if another replica
    /// is issuing the very first one.
    pub async fn initial_resolver(
        &self,
    ) -> Result<(Arc<ServingCertResolver>, i64), ServingCertificateError> {
        let mut attempts = 0;
        loop {
            match self.current().await {
                Ok(record) => {
                    let key = self.certified_key(&record)?;
                    return Ok((Arc::new(ServingCertResolver::new(key)), record.id));
                }
                Err(ServingCertificateError::NotYetAvailable) if attempts < 20 => {
                    attempts += 1;
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Checks periodically and swaps in a renewed certificate.
    pub async fn run(self, resolver: Arc<ServingCertResolver>, mut current_id: i64) {
        let check_every =
            (self.lifetime / 20).clamp(Duration::from_secs(10), Duration::from_secs(3600));
        loop {
            tokio::time::sleep(check_every).await;
            match self.current().await {
                Ok(record) if record.id != current_id => match self.certified_key(&record) {
                    Ok(key) => {
                        resolver.set(key);
                        current_id = record.id;
                        tracing::info!(not_after = %record.not_after, "serving certificate swapped in");
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "stored serving certificate is unusable")
                    }
                },
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "serving certificate check failed; will retry")
                }
            }
        }
    }
}
