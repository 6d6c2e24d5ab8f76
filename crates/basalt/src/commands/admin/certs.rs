//! `basalt certs list|show|revoke`: issued certificates, and revocation by the operator
//! through the same `Store::revoke_certificate` as ACME revocation (RFC 8555 §7.6), so the
//! CRL follows.

use std::collections::HashMap;
use std::net::IpAddr;

use anyhow::{anyhow, bail};
use basalt_protocol::Identifier;
use basalt_storage::{
    CertificateFilter, CertificateRecord, CertificateStatus, Error, RevokeOutcome, Store,
};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::table::{Table, print_fields};
use super::{limit, note_limit, print_json, reason, store, timestamp, timestamp_or_dash};
use crate::cli::{CertStatusArg, CertsCommand, CertsListArgs, CertsRevokeArgs, SerialArgs};

pub(crate) async fn run(command: &CertsCommand) -> anyhow::Result<()> {
    match command {
        CertsCommand::List(args) => list(args).await,
        CertsCommand::Show(args) => show(args).await,
        CertsCommand::Revoke(args) => revoke(args).await,
        CertsCommand::RenewEarly(args) => super::renew_early::run(args).await,
    }
}

async fn list(args: &CertsListArgs) -> anyhow::Result<()> {
    let store = store::open(&args.admin).await?;
    let now = OffsetDateTime::now_utc();
    let filter = CertificateFilter {
        area: args.area.clone(),
        account_id: args.account,
        name: args.name.as_deref().map(name_filter).transpose()?,
        status: args.status.map(|s| match s {
            CertStatusArg::Valid => CertificateStatus::Valid,
            CertStatusArg::Revoked => CertificateStatus::Revoked,
            CertStatusArg::Expired => CertificateStatus::Expired,
        }),
        expiring_within: args.expiring_within,
        limit: limit(args.limit),
        ..CertificateFilter::all(now)
    };
    let certificates = store.list_certificates(&filter).await?;
    if args.admin.json {
        let key_ids = key_ids(&store).await?;
        let list: Vec<Value> = certificates
            .iter()
            .map(|c| to_json(c, now, &key_ids))
            .collect();
        return print_json(&Value::Array(list));
    }
    let mut table = Table::new(&["SERIAL", "AREA", "ACCOUNT", "STATUS", "NOT AFTER", "NAMES"]);
    for c in &certificates {
        table.row(vec![
            c.serial.clone(),
            c.directory.clone(),
            c.account_id.to_string(),
            status(c, now).to_string(),
            timestamp(c.not_after),
            names(c).join(","),
        ]);
    }
    table.print()?;
    note_limit(certificates.len(), args.limit);
    Ok(())
}

async fn show(args: &SerialArgs) -> anyhow::Result<()> {
    let store = store::open(&args.admin).await?;
    let serial = normalise_serial(&args.serial)?;
    let Some(certificate) = store.certificate_by_serial(&serial).await? else {
        bail!("no certificate with serial {serial}");
    };
    print_certificate(&store, &certificate, args.admin.json, true).await
}

async fn revoke(args: &CertsRevokeArgs) -> anyhow::Result<()> {
    let code = reason::parse(&args.reason)?;
    let serial = normalise_serial(&args.serial.serial)?;
    let store = store::open(&args.serial.admin).await?;
    let now = OffsetDateTime::now_utc();
    let certificate = match store.revoke_certificate(&serial, code, now).await {
        Ok(RevokeOutcome::Revoked(certificate)) => certificate,
        Ok(RevokeOutcome::AlreadyRevoked(certificate)) => bail!(
            "certificate {serial} was already revoked at {} ({}); nothing changed",
            timestamp_or_dash(certificate.revoked_at),
            certificate
                .revocation_reason
                .map_or_else(|| "no reason".to_owned(), reason::name),
        ),
        Err(Error::NotFound) => bail!("no certificate with serial {serial}"),
        Err(e) => return Err(e.into()),
    };
    if !args.serial.admin.json {
        println!(
            "basalt: revoked certificate {serial} ({}); its intermediate's CRL is regenerated at the next CRL run",
            reason::name(code)
        );
    }
    print_certificate(&store, &certificate, args.serial.admin.json, false).await
}

async fn print_certificate(
    store: &Store,
    c: &CertificateRecord,
    json: bool,
    with_pem: bool,
) -> anyhow::Result<()> {
    let now = OffsetDateTime::now_utc();
    let key_ids = key_ids(store).await?;
    if json {
        let mut value = to_json(c, now, &key_ids);
        if with_pem {
            value["chain_pem"] = json!(c.chain_pem);
        }
        return print_json(&value);
    }
    let intermediate = match c.intermediate_id {
        Some(id) => match key_ids.get(&id) {
            Some(key_id) => format!("{key_id} (id {id})"),
            None => format!("id {id}"),
        },
        None => "-".to_owned(),
    };
    let mut fields = vec![
        ("serial", c.serial.clone()),
        ("status", status(c, now).to_string()),
        ("area", c.directory.clone()),
        ("account", c.account_id.to_string()),
        ("order", c.order_id.to_string()),
        ("names", names(c).join(", ")),
        ("not before", timestamp(c.not_before)),
        ("not after", timestamp(c.not_after)),
        ("issued", timestamp(c.created_at)),
        ("intermediate", intermediate),
        ("profile", profile(c)),
    ];
    if let Some(revoked_at) = c.revoked_at {
        fields.push(("revoked", timestamp(revoked_at)));
        fields.push((
            "reason",
            c.revocation_reason
                .map_or_else(|| "-".to_owned(), reason::name),
        ));
    }
    print_fields(&fields)?;
    if with_pem {
        super::write_stdout(&format!("\n{}", c.chain_pem))?;
    }
    Ok(())
}

/// Intermediate ids to their key ids (the few rows of `intermediates`).
async fn key_ids(store: &Store) -> anyhow::Result<HashMap<i64, String>> {
    Ok(store
        .intermediates(None)
        .await?
        .into_iter()
        .map(|i| (i.id, i.key_id))
        .collect())
}

fn to_json(c: &CertificateRecord, now: OffsetDateTime, key_ids: &HashMap<i64, String>) -> Value {
    json!({
        "serial": c.serial,
        "status": status(c, now).as_str(),
        "area": c.directory,
        "account_id": c.account_id,
        "order_id": c.order_id,
        "names": names(c),
        "not_before": timestamp(c.not_before),
        "not_after": timestamp(c.not_after),
        "issued_at": timestamp(c.created_at),
        "intermediate_id": c.intermediate_id,
        "intermediate_key_id": c.intermediate_id.and_then(|id| key_ids.get(&id)),
        "profile": c.profile,
        "revoked_at": c.revoked_at.map(timestamp),
        "revocation_reason": c.revocation_reason.map(reason::name),
        "revocation_reason_code": c.revocation_reason,
    })
}

/// The certificate's profile; certificates from before profiles had the leaf the shipped
/// `default` profile describes.
fn profile(c: &CertificateRecord) -> String {
    c.profile
        .clone()
        .unwrap_or_else(|| "- (issued before profiles: as default)".to_owned())
}

fn status(c: &CertificateRecord, now: OffsetDateTime) -> CertificateStatus {
    CertificateStatus::at(c.revoked_at, c.not_after, now)
}

fn names(c: &CertificateRecord) -> Vec<String> {
    c.names.iter().map(|n| n.value().to_owned()).collect()
}

/// `--name` as stored: a normalised DNS name (lower case, `*.` for wildcards) or IP
/// address, so `A.Test.` finds `a.test`.
fn name_filter(text: &str) -> anyhow::Result<String> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(Identifier::ip(ip).value().to_owned());
    }
    Identifier::dns(text)
        .map(|identifier| identifier.value().to_owned())
        .map_err(|e| {
            anyhow!(
                "--name {text:?} is not a DNS name or IP address: {}",
                e.detail
            )
        })
}

/// A serial as stored (`basalt_signer`'s form): lowercase hex of the serial's magnitude,
/// an even number of digits, without leading zero octets. Accepts what tools print:
/// upper case, colons between octets, leading zeros.
pub(super) fn normalise_serial(text: &str) -> anyhow::Result<String> {
    let digits: String = text
        .trim()
        .chars()
        .filter(|c| *c != ':')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        bail!("{text:?} is not a certificate serial (hex digits, optionally with colons)");
    }
    let significant = digits.trim_start_matches('0');
    Ok(match significant.len() {
        0 => "00".to_owned(),
        n if n % 2 == 1 => format!("0{significant}"),
        _ => significant.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::normalise_serial;

    #[test]
    fn serials_are_normalised_as_stored() {
        assert_eq!(normalise_serial("0a1b").unwrap(), "0a1b");
        assert_eq!(normalise_serial("0A:1B").unwrap(), "0a1b");
        assert_eq!(normalise_serial("00:0a:1b").unwrap(), "0a1b");
        assert_eq!(normalise_serial("a1b").unwrap(), "0a1b");
        assert_eq!(normalise_serial("00").unwrap(), "00");
        assert!(normalise_serial("xyz").is_err());
        assert!(normalise_serial("").is_err());
        assert!(normalise_serial(":").is_err());
    }
}
