//! `basalt area …`: make, inspect and rotate areas. One file per subcommand; what they share
//! is here.

mod add;
mod config_file;
mod list;
mod rotate;
mod show;

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use basalt_server::{NamePolicy, intermediate_record};
use basalt_signer::{
    IntermediateOptions, Issuer, NameConstraints, Passphrase, PkiPaths, StagedFiles,
    create_intermediate, read_root_password,
};
use basalt_storage::NewIntermediate;

use crate::cli::{AreaCommand, RootKeyArgs};

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

/// The area's name constraints, or every reason its policy cannot be expressed as them;
/// `remedy` says what the operator can do instead.
pub(crate) fn name_constraints(
    name: &str,
    policy: &NamePolicy,
    remedy: &str,
) -> anyhow::Result<NameConstraints> {
    policy.name_constraints().map_err(|reasons| {
        anyhow::anyhow!(
            "area {name}: the policy cannot be expressed as RFC 5280 name constraints:\n  - {}\n{remedy}",
            reasons.join("\n  - ")
        )
    })
}

/// A new intermediate for an area, on disk and checked.
pub(crate) struct MadeIntermediate {
    /// Its database row.
    pub(crate) record: NewIntermediate,
    pub(crate) cert_path: PathBuf,
    pub(crate) key_path: PathBuf,
}

impl MadeIntermediate {
    /// Removes its files (a later step failed).
    pub(crate) fn remove(&self) {
        remove_files(&[&self.key_path, &self.cert_path]);
    }
}

/// Decrypts the root key, makes an intermediate for `area`, writes its certificate (0644) and
/// key (0600) to `cert_ref` and `key_ref` (relative to the data directory; both published or
/// neither), and loads them back through the signer, so the row only ever names files that
/// `serve` can load. `files` picks the paths once the key id is known.
pub(crate) fn make_intermediate(
    data: &Path,
    root: &RootKeyArgs,
    options: &IntermediateOptions,
    files: impl FnOnce(&str) -> (String, String),
) -> anyhow::Result<MadeIntermediate> {
    let password = read_root_passphrase(&root.root_password_file)?;
    let paths = PkiPaths::new(data);
    let created = create_intermediate(&paths, &root.root_key(data), &password, options)
        .context("making the intermediate")?;
    let (cert_ref, key_ref) = files(&created.key_id);
    let (cert_path, key_path) = (data.join(&cert_ref), data.join(&key_ref));
    let mut stage = StagedFiles::default();
    stage.create_dir(&paths.directory_dir(&options.area), 0o755, false)?;
    stage.write(&key_path, created.key_pem.as_bytes(), 0o600)?;
    stage.write(&cert_path, created.certificate_pem.as_bytes(), 0o644)?;
    stage.commit().context("writing the intermediate's files")?;
    let made = |issuer: &Issuer| MadeIntermediate {
        record: intermediate_record(&options.area, issuer, &key_ref),
        cert_path: cert_path.clone(),
        key_path: key_path.clone(),
    };
    match Issuer::load(&cert_path, &key_path) {
        Ok(issuer) => Ok(made(&issuer)),
        Err(e) => {
            remove_files(&[&key_path, &cert_path]);
            Err(e).context("loading the new intermediate back")
        }
    }
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
