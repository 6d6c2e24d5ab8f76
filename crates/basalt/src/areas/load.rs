//! Builds the server's areas from basalt.toml (policy) and the database (intermediates).
//!
//! The database decides which intermediate of an area is active and which are retiring; the
//! config's `intermediate_cert` / `intermediate_key` only name an area's first intermediate,
//! registered ("adopted") the first time `serve` meets an area the database does not know.
//! Every key named by the database is loaded and checked against its certificate before the
//! set is used, so a missing or mismatched file stops `serve` (or a reload) and says which.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use basalt_server::{
    AreaSet, DirectoryConfig, DirectoryMetaConfig, IssuancePolicy, SigningIntermediate,
    intermediate_record,
};
use basalt_signer::Issuer;
use basalt_storage::{IntermediateRecord, IntermediateStatus, Store};
use time::OffsetDateTime;

use crate::config::{Config, DirectorySection};
use crate::keys::KeyContext;

/// Every configured area with its loaded intermediates.
pub(crate) async fn load_areas(
    data: &Path,
    config: &Config,
    store: &Store,
    keys: &KeyContext,
    now: OffsetDateTime,
) -> anyhow::Result<AreaSet> {
    let mut set = AreaSet::default();
    for (name, section) in &config.directories {
        let context = || format!("directories.{name}");
        let mut records = store
            .intermediates(Some(name))
            .await
            .with_context(|| format!("{}: reading its intermediates", context()))?;
        if records.is_empty() {
            records = adopt(data, name, section, store, now)
                .await
                .with_context(context)?;
        }
        let Some(active) = records
            .iter()
            .find(|r| r.status == IntermediateStatus::Active)
        else {
            bail!(
                "{}: the database lists no active intermediate for this area (see `basalt area show {name}`)",
                context()
            );
        };
        let issuer = load_intermediate(keys, active).with_context(context)?;
        for record in records
            .iter()
            .filter(|r| r.status == IntermediateStatus::Retiring)
        {
            set.retiring.push(SigningIntermediate {
                id: record.id,
                area: name.clone(),
                issuer: load_intermediate(keys, record).with_context(context)?,
            });
        }
        set.directories.push(directory_config(
            name,
            section,
            issuer,
            active.id,
            config.directory_egress(name)?,
        )?);
    }
    Ok(set)
}

/// Registers the intermediate the config names as the area's first, active one.
async fn adopt(
    data: &Path,
    name: &str,
    section: &DirectorySection,
    store: &Store,
    now: OffsetDateTime,
) -> anyhow::Result<Vec<IntermediateRecord>> {
    let cert = data.join(&section.intermediate_cert);
    let key = data.join(&section.intermediate_key);
    let issuer = Issuer::load(&cert, &key).context("loading the intermediate")?;
    let new = intermediate_record(
        name,
        &issuer,
        &section.intermediate_key.display().to_string(),
    );
    let records = store
        .adopt_intermediate(&new, now)
        .await
        .context("registering the intermediate in the database")?;
    tracing::info!(area = name, intermediate.key_id = %new.key_id, "intermediate registered");
    Ok(records)
}

/// Loads one intermediate's key (`key_ref`: a key file relative to the data directory, or a
/// `pkcs11:` URI) and checks it against the certificate the database holds.
pub(crate) fn load_intermediate(
    keys: &KeyContext,
    record: &IntermediateRecord,
) -> anyhow::Result<Arc<Issuer>> {
    let issuer = keys
        .source(&record.key_ref)
        .and_then(|source| {
            Ok(Issuer::from_certificate_pem(
                &record.certificate_pem,
                &source,
            )?)
        })
        .with_context(|| {
            format!(
                "loading the {} intermediate {} (key {})",
                record.status.as_str(),
                record.key_id,
                record.key_ref
            )
        })?;
    Ok(Arc::new(issuer))
}

/// The server's view of one area.
fn directory_config(
    name: &str,
    section: &DirectorySection,
    issuer: Arc<Issuer>,
    intermediate_id: i64,
    egress: Option<basalt_validation::EgressPolicy>,
) -> anyhow::Result<DirectoryConfig> {
    let policy = section.area_policy(name)?;
    Ok(DirectoryConfig {
        name: name.to_owned(),
        issuer,
        intermediate_id,
        policy: IssuancePolicy {
            certificate_lifetime: section.certificate_lifetime,
            max_certificate_lifetime: section.max_certificate_lifetime,
            backdate: section.backdate,
            order_lifetime: section.order_lifetime,
            pending_authorization_lifetime: section.pending_authorization_lifetime,
        },
        names: policy.names,
        challenge_types: policy.challenge_types,
        key_types: policy.key_types,
        pki_base_url: policy.pki_base_url,
        crl: policy.crl,
        meta: DirectoryMetaConfig {
            terms_of_service: section.terms_of_service.clone(),
            website: section.website.clone(),
            caa_identities: section.caa_identities.clone(),
        },
        check_caa: section.check_caa,
        egress,
        allow_reserved_identifiers: section.allow_reserved_identifiers,
        renewal: policy.renewal,
        external_account_binding: policy.external_account_binding,
        profiles: policy.profiles,
    })
}
