//! `basalt area rotate NAME`: a successor intermediate for an area, without client changes.
//!
//! The new intermediate gets the area's current name constraints (if the area uses them)
//! and its own files (`intermediate-<KEYID16>.pem`, key 0600). One database transaction
//! makes it active and the old one `retiring` and bumps `pki_state.revision`, so every
//! replica signs with it within `server.area_refresh_interval`; until then they sign with the
//! old one, which stays valid. Certificates of the old one keep their stored chain and stay
//! on its CRL; the CRL job retires it when its last certificate has expired.

use anyhow::{Context, bail};
use basalt_signer::IntermediateOptions;
use serde::Serialize;

use crate::cli::AreaRotateArgs;
use crate::commands::admin::print_json;
use crate::commands::admin::store::{Missing, open_with};
use crate::commands::area::{KeyPlacement, make_intermediate, name_constraints};
use crate::config::Config;
use crate::keys::KeyContext;

pub(crate) async fn run(args: &AreaRotateArgs) -> anyhow::Result<()> {
    let name = &args.name;
    let data = &args.admin.data.data;
    let config = Config::load(&args.admin.config_path())?;
    let Some(section) = config.directories.get(name) else {
        bail!(
            "there is no area {name} in {}",
            args.admin.config_path().display()
        );
    };
    let policy = section.area_policy(name)?;
    let constraints = if section.name_constraints {
        Some(name_constraints(
            name,
            &policy.names,
            &format!(
                "Fix the policy, or set directories.{name}.name_constraints = false to make \
                 intermediates without them."
            ),
        )?)
    } else {
        None
    };
    let store = open_with(&args.admin, &config, Missing::Create).await?;
    let old = store
        .intermediates(Some(name))
        .await?
        .into_iter()
        .find(|r| r.status == basalt_storage::IntermediateStatus::Active)
        .with_context(|| {
            format!("area {name}: the database has no active intermediate (has `basalt serve` run since the area was configured?)")
        })?;

    let keys = KeyContext::from_config(data, &config.keys)?;
    let placement =
        KeyPlacement::from_flags(args.key.encrypt_key, args.key.pkcs11_token.as_deref())?;
    let made = make_intermediate(
        data,
        &args.root,
        &keys,
        &placement,
        IntermediateOptions {
            area: name.clone(),
            algorithm: args.key.algorithm(),
            name_constraints: constraints.clone(),
            key_passphrase: None,
        },
        |key_id| {
            let short_id: String = key_id.chars().take(16).collect();
            (
                format!("directories/{name}/intermediate-{short_id}.pem"),
                format!("directories/{name}/intermediate-{short_id}-key.pem"),
            )
        },
    )?;
    let (retiring, active) = match store
        .rotate_intermediate(&made.record, time::OffsetDateTime::now_utc())
        .await
    {
        Ok(pair) => pair,
        Err(e) => {
            made.remove();
            return Err(e).context("recording the rotation in the database");
        }
    };
    if retiring.id != old.id {
        // Another rotation ran at the same moment; both are recorded, say so.
        eprintln!("basalt: note: another rotation of {name} happened meanwhile");
    }

    let report = RotateReport {
        area: name.clone(),
        active_key_id: active.key_id,
        active_subject: active.subject,
        retiring_key_id: retiring.key_id,
        retiring_subject: retiring.subject,
        certificate: made.cert_path.display().to_string(),
        key: made.record.key_ref.clone(),
        name_constraints: constraints.is_some(),
    };
    if args.admin.json {
        return print_json(&report);
    }
    println!("basalt: area {name} rotated");
    println!(
        "  active:   {} ({})",
        report.active_key_id, report.active_subject
    );
    println!(
        "  retiring: {} ({})",
        report.retiring_key_id, report.retiring_subject
    );
    println!("  cert:     {}", report.certificate);
    println!("  key:      {}", report.key);
    println!("  Running servers on this database sign with the new intermediate within seconds;");
    println!("  certificates of the old one stay valid, keep their chain and stay on its CRL.");
    Ok(())
}

#[derive(Serialize)]
struct RotateReport {
    area: String,
    active_key_id: String,
    active_subject: String,
    retiring_key_id: String,
    retiring_subject: String,
    certificate: String,
    key: String,
    name_constraints: bool,
}
