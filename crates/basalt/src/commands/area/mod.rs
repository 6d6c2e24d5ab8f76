//! `basalt area …`: make, inspect and rotate areas. One file per subcommand; what they share
//! is here.

mod add;
mod config_file;
mod list;
mod rotate;
mod show;

use std::path::Path;

use anyhow::{Context, bail};
use basalt_signer::{Passphrase, read_root_password};

use crate::cli::AreaCommand;

pub(crate) async fn run(command: &AreaCommand) -> anyhow::Result<()> {
    match command {
        AreaCommand::Add(args) => add::run(args).await,
        AreaCommand::List(args) => list::run(args).await,
        AreaCommand::Show(args) => show::run(args).await,
        AreaCommand::Rotate(args) => rotate::run(args).await,
    }
}

/// Longest area name: it becomes a path component and part of the intermediate's CN, which
/// RFC 5280's ub-common-name (64) bounds.
const MAX_AREA_NAME: usize = 32;

/// An area name: 1–32 of a-z, 0-9, '-', '_' (a path component, a URL segment, part of a CN).
pub(crate) fn check_area_name(name: &str) -> anyhow::Result<()> {
    let ok = (1..=MAX_AREA_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !ok {
        bail!("area name {name:?}: use 1-{MAX_AREA_NAME} characters of a-z, 0-9, '-' and '_'");
    }
    Ok(())
}

/// The root key's passphrase, by the signer's one rule for passphrase files.
pub(crate) fn read_root_passphrase(path: &Path) -> anyhow::Result<Passphrase> {
    read_root_password(path)
        .with_context(|| format!("reading the root passphrase from {}", path.display()))
}

/// Removes files this command created, when a later step failed (best effort, reported).
pub(crate) fn remove_files(paths: &[&Path]) {
    for path in paths {
        if let Err(e) = std::fs::remove_file(path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            eprintln!("basalt: error: could not remove {}: {e}", path.display());
        }
    }
}
