//! `basalt eab create|list|revoke`: External Account Binding keys (RFC 8555 §7.3.4). Like
//! the admin commands, they open the database as `serve` does and make one `Store` call; a
//! running server sees a new or revoked key at the next newAccount (no cache).

mod create;
mod list;
mod revoke;
mod snippets;

use basalt_storage::EabKeyRecord;
use serde_json::{Value, json};

use super::admin::{timestamp, timestamp_or_dash};
use crate::cli::EabCommand;

pub(crate) async fn run(command: &EabCommand) -> anyhow::Result<()> {
    match command {
        EabCommand::Create(args) => create::run(args).await,
        EabCommand::List(args) => list::run(args).await,
        EabCommand::Revoke(args) => revoke::run(args).await,
    }
}

/// A key as `list`, `create --json` and `revoke --json` show it: never its HMAC key (the
/// record has none).
fn to_json(key: &EabKeyRecord) -> Value {
    json!({
        "kid": key.kid,
        "area": key.directory,
        "reusable": key.reusable,
        "accounts_bound": key.accounts_bound,
        "created_at": timestamp(key.created_at),
        "expires_at": key.expires_at.map(timestamp),
        "revoked_at": key.revoked_at.map(timestamp),
        "last_used_at": key.last_used_at.map(timestamp),
        "note": key.note,
    })
}

/// "single-use" or "reusable", for tables and messages.
fn usage(key: &EabKeyRecord) -> &'static str {
    if key.reusable {
        "reusable"
    } else {
        "single-use"
    }
}

fn expiry(key: &EabKeyRecord) -> String {
    timestamp_or_dash(key.expires_at)
}
