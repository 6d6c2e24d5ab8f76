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
    intermediate_table(rows.iter(), KeyIds::Short).print()?;
    for name in unregistered {
        println!("{name}: configured, not yet registered (`basalt serve` registers it at start)");
    }
    Ok(())
}

/// How a table shows key ids.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyIds {
    /// The first 16 hex digits (as in the rotated files' names), with the area.
    Short,
    /// Whole, for one area's view (what the PKI listener's paths use).
    Full,
}

/// Intermediates as a table: area (short form only), status, key id, expiry, counts, subject.
pub(crate) fn intermediate_table<'a>(
    rows: impl Iterator<Item = &'a IntermediateRow>,
    key_ids: KeyIds,
) -> Table {
    let short = key_ids == KeyIds::Short;
    let header = [
        "AREA",
        "STATUS",
        "KEY ID",
        "NOT AFTER",
        "VALID",
        "REVOKED",
        "SUBJECT",
    ];
    let mut table = Table::new(if short { &header } else { &header[1..] });
    for r in rows {
        let mut cells = vec![
            r.area.clone(),
            r.status.clone(),
            if short {
                r.key_id.chars().take(16).collect()
            } else {
                r.key_id.clone()
            },
            r.not_after.clone(),
            r.valid_certificates.to_string(),
            r.revoked_certificates.to_string(),
            r.subject.clone(),
        ];
        if !short {
            cells.remove(0);
        }
        table.row(cells);
    }
    table
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
