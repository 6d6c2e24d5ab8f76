//! `basalt eab revoke KID`: the key registers no new account from now on, on every
//! replica (the check reads the database). Accounts it registered keep working.

use anyhow::bail;
use basalt_storage::Error;
use time::OffsetDateTime;

use super::to_json;
use crate::cli::EabRevokeArgs;
use crate::commands::admin::{print_json, store};

pub(super) async fn run(args: &EabRevokeArgs) -> anyhow::Result<()> {
    let store = store::open(&args.admin).await?;
    let kid = &args.kid;
    let key = match store.revoke_eab_key(kid, OffsetDateTime::now_utc()).await {
        Ok(key) => key,
        Err(Error::NotFound) => bail!("no EAB key with kid {kid:?}"),
        Err(Error::WrongState { .. }) => {
            bail!("EAB key {kid:?} is already revoked; nothing changed")
        }
        Err(e) => return Err(e.into()),
    };
    if args.admin.json {
        return print_json(&to_json(&key));
    }
    println!(
        "basalt: revoked EAB key {kid} (area {}); the {} account(s) it registered stay valid",
        key.directory, key.accounts_bound
    );
    Ok(())
}
