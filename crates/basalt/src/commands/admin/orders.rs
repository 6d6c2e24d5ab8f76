//! `basalt orders show ID`: one ACME order (RFC 8555 §7.1.3) with its status as a client
//! would see it now (§7.1.6: an expired pending or ready order is invalid).

use anyhow::bail;
use basalt_storage::OrderRecord;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::table::print_fields;
use super::{print_json, store, timestamp, timestamp_or_dash};
use crate::cli::{IdArgs, OrdersCommand};

pub(crate) async fn run(command: &OrdersCommand) -> anyhow::Result<()> {
    match command {
        OrdersCommand::Show(args) => show(args).await,
    }
}

async fn show(args: &IdArgs) -> anyhow::Result<()> {
    let store = store::open(&args.admin).await?;
    let Some(order) = store.order(args.id).await? else {
        bail!("no order with id {}", args.id);
    };
    let now = OffsetDateTime::now_utc();
    if args.admin.json {
        return print_json(&to_json(&order, now));
    }
    print_fields(&[
        ("id", order.id.to_string()),
        ("status", order.status.at(order.expires_at, now).to_string()),
        ("area", order.directory.clone()),
        ("account", order.account_id.to_string()),
        ("identifiers", identifiers(&order).join(", ")),
        ("not before", timestamp_or_dash(order.not_before)),
        ("not after", timestamp_or_dash(order.not_after)),
        ("expires", timestamp(order.expires_at)),
        ("created", timestamp(order.created_at)),
        (
            "authorizations",
            order
                .authorization_ids
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        ),
        (
            "profile",
            order
                .profile
                .clone()
                .unwrap_or_else(|| "- (placed before profiles: as the area's default)".to_owned()),
        ),
        (
            "certificate",
            order
                .certificate_serial
                .clone()
                .unwrap_or_else(|| "-".to_owned()),
        ),
        (
            "error",
            order
                .error
                .as_ref()
                .map_or_else(|| "-".to_owned(), |p| p.detail.clone()),
        ),
    ])?;
    Ok(())
}

fn to_json(order: &OrderRecord, now: OffsetDateTime) -> Value {
    json!({
        "id": order.id,
        "status": order.status.at(order.expires_at, now).as_str(),
        "stored_status": order.status.as_str(),
        "area": order.directory,
        "account_id": order.account_id,
        "identifiers": order.identifiers,
        "not_before": order.not_before.map(timestamp),
        "not_after": order.not_after.map(timestamp),
        "expires_at": timestamp(order.expires_at),
        "created_at": timestamp(order.created_at),
        "authorization_ids": order.authorization_ids,
        "certificate_serial": order.certificate_serial,
        "profile": order.profile,
        "error": order.error,
    })
}

fn identifiers(order: &OrderRecord) -> Vec<String> {
    order.identifiers.iter().map(ToString::to_string).collect()
}
