//! `basalt area list`: every area and its intermediates, with certificate counts.

use serde::Serialize;

use crate::cli::AreaListArgs;
use crate::commands::admin::print_json;
use crate::commands::admin::store::{Missing, open_with};
use crate::commands::admin::table::Table;
use crate::config::Config;

/// One intermediate as `area list` shows it.
#[derive(Serialize)]
pub(crate) struct IntermediateRow {
    pub(crate) area: String,
    pub(crate) status: String,
    pub(crate) key_id: String,
    pub(crate) subject: String,
    pub(crate) not_after: String,
    pub(crate) valid_certificates: u64,
    pub(crate) revoked_certificates: u64,
}

pub(crate) async fn run(args: &AreaListArgs) -> anyhow::Result<()> {
    let config = Config::load(&args.admin.config_path())?;
    let store = open_with(&args.admin, &config, Missing::Refuse).await?;
    let rows = intermediate_rows(&store, None).await?;
    // Areas configured but not yet registered (serve registers them at start).
    let unregistered: Vec<&String> = config
        .directories
        .keys()
        .filter(|name| !rows.iter().any(|r| &r.area == *name))
        .collect();
    if args.admin.json {
        #[derive(Serialize)]
        struct Listing<'a> {
            intermediates: &'a [IntermediateRow],
            unregistered_areas: Vec<&'a String>,
        }
        return print_json(&Listing {
            intermediates: &rows,
            unregistered_areas: unregistered,
        });
    }
    let mut table = Table::new(&[
        "AREA",
        "STATUS",
        "KEY ID",
        "NOT AFTER",
        "VALID",
        "REVOKED",
        "SUBJECT",
    ]);
    for r in rows.iter() {
        table.row(vec![
            r.area.clone(),
            r.status.clone(),
            r.key_id.chars().take(16).collect(),
            r.not_after.clone(),
            r.valid_certificates.to_string(),
            r.revoked_certificates.to_string(),
            r.subject.clone(),
        ]);
    }
    table.print()?;
    for name in unregistered {
        println!("{name}: configured, not yet registered (`basalt serve` registers it at start)");
    }
    Ok(())
}

/// The intermediates (of one area, or all) with their certificate counts.
pub(crate) async fn intermediate_rows(
    store: &basalt_storage::Store,
    area: Option<&str>,
) -> anyhow::Result<Vec<IntermediateRow>> {
    let now = time::OffsetDateTime::now_utc();
    let counts = store.certificate_counts(now).await?;
    Ok(store
        .intermediates(area)
        .await?
        .into_iter()
        .map(|r| {
            let count = counts.get(&r.id).copied().unwrap_or_default();
            IntermediateRow {
                area: r.area,
                status: r.status.as_str().to_owned(),
                key_id: r.key_id,
                subject: r.subject,
                not_after: r.not_after.to_string(),
                valid_certificates: count.valid,
                revoked_certificates: count.revoked,
            }
        })
        .collect())
}
