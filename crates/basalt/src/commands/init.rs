//! `basalt init`: the offline root, the default directory's intermediate, and basalt.toml.

use std::path::Path;

use anyhow::{Context, bail};
use basalt_signer::{InitOptions, PkiPaths, init_pki};

use crate::cli::InitArgs;
use crate::config::Config;

/// Creates the data directory's PKI and config; refuses to overwrite either.
pub(crate) fn run(args: &InitArgs) -> anyhow::Result<()> {
    let data = &args.data.data;
    let config_path = data.join("basalt.toml");
    if config_path.exists() {
        bail!(
            "{} already exists; basalt init never overwrites a configuration",
            config_path.display()
        );
    }
    let root_password = match &args.root_password_file {
        Some(path) => Some(read_password(path)?),
        None => None,
    };
    std::fs::create_dir_all(data).with_context(|| format!("creating {}", data.display()))?;
    let paths = PkiPaths::new(data);
    let report = init_pki(
        &paths,
        &InitOptions {
            root_password,
            organization: "basalt".to_owned(),
            directory: "default".to_owned(),
        },
    )
    .context("creating the PKI")?;
    std::fs::write(&config_path, Config::initial_file_text()?)
        .with_context(|| format!("writing {}", config_path.display()))?;

    println!("basalt: created a new PKI in {}", data.display());
    println!("  root certificate:         {}", report.root_cert.display());
    println!(
        "  root SHA-256 fingerprint: {}",
        report.root_fingerprint_sha256
    );
    println!(
        "  intermediate (default):   {}",
        report.intermediate_cert.display()
    );
    println!("  configuration:            {}", config_path.display());
    match &report.generated_password_file {
        Some(file) => println!(
            "  The root key is encrypted with a generated passphrase in {}.\n  \
             Move the folder {} off this machine (and keep it safe): `basalt serve` never needs it.",
            file.display(),
            paths.offline_dir().display()
        ),
        None => println!(
            "  The root key in {} is encrypted with your passphrase.\n  \
             Move that folder off this machine: `basalt serve` never needs it.",
            paths.offline_dir().display()
        ),
    }
    Ok(())
}

fn read_password(path: &Path) -> anyhow::Result<String> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let password = text.trim_end_matches(['\r', '\n']).to_owned();
    if password.len() < 12 {
        bail!(
            "{}: the root passphrase must be at least 12 characters",
            path.display()
        );
    }
    Ok(password)
}
