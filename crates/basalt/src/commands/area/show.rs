//! `basalt area show NAME`: one area's policy (from basalt.toml) and its intermediates (from
//! the database), with each intermediate's name constraints read from its certificate.

use anyhow::bail;
use serde::Serialize;

use crate::cli::AreaShowArgs;
use crate::commands::admin::print_json;
use crate::commands::admin::store::{Missing, open_with};
use crate::commands::area::list::{IntermediateRow, KeyIds, intermediate_rows, intermediate_table};
use crate::config::{Config, DirectorySection};

#[derive(Serialize)]
struct AreaView<'a> {
    area: &'a str,
    directory_path: String,
    policy: &'a DirectorySection,
    intermediates: Vec<IntermediateView>,
}

#[derive(Serialize)]
struct IntermediateView {
    #[serde(flatten)]
    row: IntermediateRow,
    /// RFC 5280 §4.2.1.10 subtrees, as `permitted DNS:x`, `excluded IP:0.0.0.0/0`.
    name_constraints: Vec<String>,
}

pub(crate) async fn run(args: &AreaShowArgs) -> anyhow::Result<()> {
    let name = &args.name;
    let config = Config::load(&args.admin.config_path())?;
    let Some(section) = config.directories.get(name) else {
        bail!(
            "there is no area {name} in {}",
            args.admin.config_path().display()
        );
    };
    let store = open_with(&args.admin, &config, Missing::Refuse).await?;
    let records = store.intermediates(Some(name)).await?;
    let rows = intermediate_rows(&store, Some(name)).await?;
    let mut intermediates = Vec::new();
    for row in rows {
        let pem = records
            .iter()
            .find(|r| r.key_id == row.key_id)
            .map(|r| r.certificate_pem.as_str())
            .unwrap_or_default();
        let name_constraints = basalt_signer::certificate_name_constraints(pem)?
            .map(|nc| nc.describe())
            .unwrap_or_default();
        intermediates.push(IntermediateView {
            row,
            name_constraints,
        });
    }
    let view = AreaView {
        area: name,
        directory_path: format!("/acme/{name}/directory"),
        policy: section,
        intermediates,
    };
    if args.admin.json {
        return print_json(&view);
    }
    println!("area {name}: /acme/{name}/directory");
    let names = &section.names;
    println!("  identifier types:  {}", names.identifier_types.join(", "));
    println!("  allow:             {}", list_or(&names.allow, "any name"));
    println!("  deny:              {}", list_or(&names.deny, "none"));
    println!("  wildcards:         {}", yes_no(names.wildcards));
    println!("  single-label:      {}", yes_no(names.single_label));
    println!("  IP ranges:         {}", list_or(&names.ip_ranges, "any"));
    println!(
        "  challenge types:   {}",
        section.challenge_types.join(", ")
    );
    println!("  key types:         {}", section.key_types.join(", "));
    println!(
        "  lifetime:          {} (at most {})",
        humantime::format_duration(section.certificate_lifetime),
        humantime::format_duration(section.max_certificate_lifetime)
    );
    println!("  CAA:               {}", yes_no(section.check_caa));
    println!(
        "  CRL:               {}",
        if section.crl {
            format!(
                "yes, {} each",
                humantime::format_duration(section.crl_lifetime)
            )
        } else {
            "no (passive revocation)".to_owned()
        }
    );
    println!(
        "  PKI base URL:      {}",
        section
            .pki_base_url
            .as_deref()
            .unwrap_or("none (no CRL Distribution Point, no AIA)")
    );
    println!(
        "  EAB:               {}",
        section.external_account_binding.as_deref().unwrap_or("off")
    );
    println!();
    intermediate_table(view.intermediates.iter().map(|i| &i.row), KeyIds::Full).print()?;
    for i in &view.intermediates {
        let constraints = if i.name_constraints.is_empty() {
            "none".to_owned()
        } else {
            i.name_constraints.join(", ")
        };
        println!(
            "  {} name constraints: {constraints}",
            &i.row.key_id[..i.row.key_id.len().min(16)]
        );
    }
    if view.intermediates.is_empty() {
        println!(
            "  (no intermediate registered yet: `basalt serve` registers the configured one at start)"
        );
    }
    Ok(())
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

fn list_or(items: &[String], empty: &str) -> String {
    if items.is_empty() {
        empty.to_owned()
    } else {
        items.join(", ")
    }
}
