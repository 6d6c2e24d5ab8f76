//! `basalt eab list`: every key and its use. The records it reads hold no HMAC key, so
//! nothing here can print one.

use super::{expiry, to_json, usage};
use crate::cli::EabListArgs;
use crate::commands::admin::table::Table;
use crate::commands::admin::{print_json, store, timestamp, timestamp_or_dash};

pub(super) async fn run(args: &EabListArgs) -> anyhow::Result<()> {
    let store = store::open(&args.admin).await?;
    let keys = store.list_eab_keys(args.area.as_deref()).await?;
    if args.admin.json {
        return print_json(&keys.iter().map(to_json).collect::<Vec<_>>());
    }
    let mut table = Table::new(&[
        "KID", "AREA", "USE", "ACCOUNTS", "CREATED", "EXPIRES", "REVOKED", "NOTE",
    ]);
    for key in &keys {
        table.row(vec![
            key.kid.clone(),
            key.directory.clone(),
            usage(key).to_owned(),
            key.accounts_bound.to_string(),
            timestamp(key.created_at),
            expiry(key),
            timestamp_or_dash(key.revoked_at),
            key.note.clone().unwrap_or_else(|| "-".to_owned()),
        ]);
    }
    table.print()
}
