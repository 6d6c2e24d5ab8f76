//! `basalt area add NAME`: a new area with its own intermediate, signed by the offline root.
//!
//! Everything that can be checked is checked before anything is written: the name, the
//! policy (and whether it can be expressed as name constraints), that neither the config
//! nor the database knows the area, the root passphrase. Then, in this order, each step
//! undone if a later one fails: the intermediate's files, the config table, the database
//! row. The database row comes last because it bumps `pki_state.revision`, which makes
//! every running replica reload — by then the config and the files must be in place.

use anyhow::{Context, bail};
use basalt_signer::{IntermediateOptions, PkiPaths, check_directory_name};
use serde::Serialize;

use crate::cli::AreaAddArgs;
use crate::commands::admin::print_json;
use crate::commands::admin::store::{Missing, open_with};
use crate::commands::area::config_file::{ConfigEdit, with_area};
use crate::commands::area::{KeyPlacement, make_intermediate, name_constraints};
use crate::config::{Config, DirectorySection};
use crate::keys::KeyContext;

pub(crate) async fn run(args: &AreaAddArgs) -> anyhow::Result<()> {
    let name = &args.name;
    let data = &args.admin.data.data;
    // The signer's rule for directory names: a path component and part of the CN.
    check_directory_name(&PkiPaths::new(data), name)?;
    let config_path = args.admin.config_path();
    let config = Config::load(&config_path)?;
    if config.directories.contains_key(name) {
        bail!(
            "area {name} already exists in {} ([directories.{name}])",
            config_path.display()
        );
    }
    let section = args.policy.section(name)?;
    let policy = section
        .area_policy(name)
        .with_context(|| format!("area {name}: the policy is not valid"))?;
    let constraints = if args.policy.no_name_constraints {
        None
    } else {
        Some(name_constraints(
            name,
            &policy.names,
            "Change the policy, or pass --no-name-constraints to make the intermediate without \
             them (basalt still enforces the policy; relying parties would not).",
        )?)
    };
    let cert_path = data.join(&section.intermediate_cert);
    let key_path = data.join(&section.intermediate_key);
    for path in [&cert_path, &key_path] {
        if path.exists() {
            bail!(
                "area {name}: {} already exists; remove it or pick another name",
                path.display()
            );
        }
    }
    let (previous_config, new_config) = with_area(&config_path, name, &section)?;

    let store = open_with(&args.admin, &config, Missing::Create).await?;
    if !store.intermediates(Some(name)).await?.is_empty() {
        bail!(
            "area {name}: the database already has intermediates for it (basalt area show {name})"
        );
    }

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
        |_| {
            (
                section.intermediate_cert.display().to_string(),
                section.intermediate_key.display().to_string(),
            )
        },
    )?;
    let edit = match ConfigEdit::write(&config_path, previous_config, &new_config) {
        Ok(edit) => edit,
        Err(e) => {
            made.remove();
            return Err(e);
        }
    };
    if let Err(e) = store
        .add_area(&made.record, time::OffsetDateTime::now_utc())
        .await
    {
        if let Err(undo) = edit.undo() {
            eprintln!(
                "basalt: error: could not restore {}: {undo:#}",
                config_path.display()
            );
        }
        made.remove();
        return Err(e).context("recording the intermediate in the database");
    }

    let report = AddReport {
        area: name.clone(),
        directory_path: format!("/acme/{name}/directory"),
        intermediate_subject: made.record.subject,
        intermediate_key_id: made.record.key_id,
        not_after: made.record.not_after.to_string(),
        name_constraints: constraints.is_some(),
        certificate: made.cert_path.display().to_string(),
        key: made.record.key_ref.clone(),
        config: config_path.display().to_string(),
    };
    if args.admin.json {
        return print_json(&report);
    }
    println!("basalt: area {name} added");
    println!(
        "  ACME directory:   https://<server>{}",
        report.directory_path
    );
    println!("  intermediate:     {}", report.intermediate_subject);
    println!("  key id:           {}", report.intermediate_key_id);
    println!("  valid until:      {}", report.not_after);
    println!(
        "  name constraints: {}",
        if report.name_constraints {
            "yes (critical)"
        } else {
            "none (--no-name-constraints)"
        }
    );
    println!("  certificate:      {}", report.certificate);
    println!("  key:              {}", report.key);
    println!("  config:           {} [directories.{name}]", report.config);
    println!("  Running servers on this database load the area within seconds.");
    Ok(())
}

#[derive(Serialize)]
struct AddReport {
    area: String,
    directory_path: String,
    intermediate_subject: String,
    intermediate_key_id: String,
    not_after: String,
    name_constraints: bool,
    certificate: String,
    key: String,
    config: String,
}

impl crate::cli::AreaPolicyArgs {
    /// The area's `[directories.NAME]` table: the defaults with these flags applied.
    pub(crate) fn section(&self, name: &str) -> anyhow::Result<DirectorySection> {
        let mut section = DirectorySection::named(name);
        let names = &mut section.names;
        names.allow = self.allow.clone();
        names.deny = self.deny.clone();
        names.wildcards = !self.no_wildcards;
        names.single_label = !self.no_single_label;
        names.ip_ranges = self.ip_range.clone();
        if let Some(types) = &self.identifier_types {
            names.identifier_types = types.clone();
        }
        if let Some(types) = &self.challenge_types {
            section.challenge_types = types.clone();
        }
        if let Some(types) = &self.key_types {
            section.key_types = types.clone();
        }
        if let Some(lifetime) = self.certificate_lifetime {
            section.certificate_lifetime = lifetime.into();
            if section.max_certificate_lifetime < section.certificate_lifetime {
                section.max_certificate_lifetime = section.certificate_lifetime;
            }
        }
        if let Some(lifetime) = self.max_certificate_lifetime {
            section.max_certificate_lifetime = lifetime.into();
        }
        section.pki_base_url = self.pki_base_url.clone();
        section.crl = !self.no_crl;
        section.check_caa = !self.no_caa;
        section.name_constraints = !self.no_name_constraints;
        Ok(section)
    }
}
