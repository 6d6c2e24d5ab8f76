//! `basalt certs renew-early`: an operator's incident notice. Every unexpired, unrevoked
//! certificate the selection matches is marked in one statement; from then on every
//! replica's renewalInfo (RFC 9773 §4.2) suggests a window in the past for them, with an
//! `explanationURL` that serves the note.

use anyhow::bail;
use basalt_protocol::Identifier;
use basalt_storage::{RenewEarlyOutcome, RenewEarlyScope};
use serde_json::json;
use time::OffsetDateTime;

use super::certs::normalise_serial;
use super::table::print_fields;
use super::{print_json, store, timestamp};
use crate::cli::CertsRenewEarlyArgs;

/// Longest note accepted: it is served to clients as a page of text.
const MAX_NOTE_CHARS: usize = 4096;

pub(crate) async fn run(args: &CertsRenewEarlyArgs) -> anyhow::Result<()> {
    let scope = scope(args)?;
    let note = args.note.trim();
    if note.is_empty() {
        bail!("--note: say why the certificates must be renewed (clients are shown it)");
    }
    if note.chars().count() > MAX_NOTE_CHARS {
        bail!("--note: at most {MAX_NOTE_CHARS} characters");
    }
    let store = store::open(&args.admin).await?;
    let notice = match store
        .renew_early(&scope, note, OffsetDateTime::now_utc())
        .await?
    {
        RenewEarlyOutcome::Marked(notice) => notice,
        RenewEarlyOutcome::NoneMatched => {
            bail!("no unexpired, unrevoked certificate matches {scope}; nothing was changed")
        }
    };
    if args.admin.json {
        return print_json(&json!({
            "notice_id": notice.id,
            "scope": notice.scope,
            "note": notice.note,
            "certificates": notice.certificates,
            "created_at": timestamp(notice.created_at),
            "explanation_path": format!("/acme/<area>/renewal-notice/{}", notice.id),
        }));
    }
    println!(
        "basalt: {} certificate(s) asked to renew now; ACME clients that read renewal information see a window in the past",
        notice.certificates
    );
    print_fields(&[
        ("notice", notice.id.to_string()),
        ("selection", notice.scope),
        ("certificates", notice.certificates.to_string()),
        (
            "explanation",
            format!("/acme/<area>/renewal-notice/{}", notice.id),
        ),
        ("note", notice.note),
    ])
}

/// The one selection flag, normalised as stored.
fn scope(args: &CertsRenewEarlyArgs) -> anyhow::Result<RenewEarlyScope> {
    if let Some(serial) = &args.serial {
        return Ok(RenewEarlyScope::Serial(normalise_serial(serial)?));
    }
    if let Some(area) = &args.area {
        return Ok(RenewEarlyScope::Area(area.clone()));
    }
    if let Some(key_id) = &args.intermediate {
        let key_id: String = key_id
            .chars()
            .filter(|c| *c != ':')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if key_id.is_empty() || !key_id.chars().all(|c| c.is_ascii_hexdigit()) {
            bail!("--intermediate {key_id:?} is not a key id (hex digits)");
        }
        return Ok(RenewEarlyScope::Intermediate(key_id));
    }
    if let Some(suffix) = &args.name_suffix {
        let bare = suffix.trim_start_matches("*.").trim_start_matches('.');
        let name = Identifier::dns(bare).map_err(|e| {
            anyhow::anyhow!("--name-suffix {suffix:?} is not a DNS name: {}", e.detail)
        })?;
        return Ok(RenewEarlyScope::NameSuffix(name.value().to_owned()));
    }
    // clap requires exactly one of them.
    bail!("give one of --serial, --area, --intermediate, --name-suffix")
}
