//! `basalt accounts list|show|deactivate`: ACME accounts (RFC 8555 §7.1.2), and
//! deactivation by the operator through the same `Store::deactivate_account` as the
//! account's own deactivation request (§7.3.6).

use anyhow::bail;
use basalt_protocol::AccountStatus;
use basalt_storage::{AccountFilter, AccountRecord, CertificateFilter, Error};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::table::{Table, print_fields};
use super::{limit, note_limit, print_json, store, timestamp};
use crate::cli::{AccountStatusArg, AccountsCommand, AccountsListArgs, IdArgs};

pub(crate) async fn run(command: &AccountsCommand) -> anyhow::Result<()> {
    match command {
        AccountsCommand::List(args) => list(args).await,
        AccountsCommand::Show(args) => show(args).await,
        AccountsCommand::Deactivate(args) => deactivate(args).await,
    }
}

async fn list(args: &AccountsListArgs) -> anyhow::Result<()> {
    let store = store::open(&args.admin).await?;
    let filter = AccountFilter {
        area: args.area.clone(),
        status: args.status.map(|s| match s {
            AccountStatusArg::Valid => AccountStatus::Valid,
            AccountStatusArg::Deactivated => AccountStatus::Deactivated,
            AccountStatusArg::Revoked => AccountStatus::Revoked,
        }),
        limit: limit(args.limit),
    };
    let accounts = store.list_accounts(&filter).await?;
    if args.admin.json {
        return print_json(&Value::Array(accounts.iter().map(to_json).collect()));
    }
    let mut table = Table::new(&["ID", "AREA", "STATUS", "CREATED", "CONTACT"]);
    for a in &accounts {
        table.row(vec![
            a.id.to_string(),
            a.directory.clone(),
            a.status.to_string(),
            timestamp(a.created_at),
            contact(a),
        ]);
    }
    table.print()?;
    note_limit(accounts.len(), args.limit);
    Ok(())
}

async fn show(args: &IdArgs) -> anyhow::Result<()> {
    let store = store::open(&args.admin).await?;
    let Some(account) = store.account(args.id).await? else {
        bail!("no account with id {}", args.id);
    };
    let certificates = store
        .list_certificates(&CertificateFilter {
            account_id: Some(account.id),
            ..CertificateFilter::all(OffsetDateTime::now_utc())
        })
        .await?
        .len();
    if args.admin.json {
        let mut value = to_json(&account);
        value["jwk"] = serde_json::from_str(&account.jwk).unwrap_or(json!(account.jwk));
        value["certificates"] = json!(certificates);
        return print_json(&value);
    }
    print_fields(&[
        ("id", account.id.to_string()),
        ("status", account.status.to_string()),
        ("area", account.directory.clone()),
        ("contact", contact(&account)),
        ("created", timestamp(account.created_at)),
        ("key thumbprint", account.key_thumbprint.clone()),
        ("terms agreed", account.terms_of_service_agreed.to_string()),
        // RFC 8555 §7.3.4: the External Account Binding key that registered it.
        (
            "eab kid",
            account.eab_kid.clone().unwrap_or_else(|| "-".to_owned()),
        ),
        ("certificates", certificates.to_string()),
    ])?;
    Ok(())
}

async fn deactivate(args: &IdArgs) -> anyhow::Result<()> {
    let store = store::open(&args.admin).await?;
    let account = match store
        .deactivate_account(args.id, OffsetDateTime::now_utc())
        .await
    {
        Ok(account) => account,
        Err(Error::NotFound) => bail!("no account with id {}", args.id),
        Err(Error::WrongState { current, .. }) => {
            bail!(
                "account {} is {current}, not valid; nothing changed",
                args.id
            )
        }
        Err(e) => return Err(e.into()),
    };
    if args.admin.json {
        return print_json(&to_json(&account));
    }
    println!(
        "basalt: deactivated account {} ({}); its pending authorizations and orders are cancelled",
        account.id, account.directory
    );
    Ok(())
}

fn to_json(a: &AccountRecord) -> Value {
    json!({
        "id": a.id,
        "status": a.status.as_str(),
        "area": a.directory,
        "contact": a.contact,
        "created_at": timestamp(a.created_at),
        "key_thumbprint": a.key_thumbprint,
        "terms_of_service_agreed": a.terms_of_service_agreed,
        "eab_kid": a.eab_kid,
    })
}

fn contact(a: &AccountRecord) -> String {
    if a.contact.is_empty() {
        "-".to_owned()
    } else {
        a.contact.join(",")
    }
}
