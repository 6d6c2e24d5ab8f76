//! `basalt init`: the offline root, the default directory's intermediate, and basalt.toml.

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

use anyhow::{Context, bail};
use basalt_signer::{InitOptions, Passphrase, PkiPaths, init_pki, read_root_password};

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
    create_data_dir(data)?;
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
    write_private_file(&config_path, Config::initial_file_text()?.as_bytes())?;

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

/// The root passphrase from `--root-password-file`, by the signer's one rule (the whole file
/// without one trailing line ending; docs/config.md), at least 12 characters.
fn read_password(path: &Path) -> anyhow::Result<Passphrase> {
    let password = read_root_password(path).context("reading the root passphrase")?;
    if password.char_count() < 12 {
        bail!(
            "{}: the root passphrase must be at least 12 characters",
            path.display()
        );
    }
    Ok(password)
}

/// Creates the data directory 0700: it holds the intermediate keys and the SQLite database,
/// which only the server's user may read. A directory that already exists keeps its mode;
/// if group or others may enter it, say so.
fn create_data_dir(data: &Path) -> anyhow::Result<()> {
    if data.is_dir() {
        let mode = std::fs::metadata(data)
            .with_context(|| format!("reading {}", data.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            eprintln!(
                "basalt: warning: {} is accessible to group or others (mode {:o}); chmod 700 it",
                data.display(),
                mode & 0o777
            );
        }
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(data)
        .with_context(|| format!("creating {}", data.display()))?;
    std::fs::set_permissions(data, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("setting the mode of {}", data.display()))
}

/// Writes a new file readable by the owner only (the configuration may hold a database
/// URL with a password).
fn write_private_file(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;
    use std::path::Path;

    use super::*;
    use crate::cli::DataArgs;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn init_creates_an_owner_only_data_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("new").join("data");
        let password = tmp.path().join("pass");
        std::fs::write(&password, "a long root passphrase\n").unwrap();
        run(&InitArgs {
            data: DataArgs { data: data.clone() },
            root_password_file: Some(password),
        })
        .unwrap();
        let paths = PkiPaths::new(&data);
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&data.join("basalt.toml")), 0o600);
        assert_eq!(mode(&paths.intermediate_key("default")), 0o600);
        assert_eq!(mode(&paths.root_key()), 0o600);
        // The passphrase is the file without its trailing newline.
        assert!(basalt_signer::decrypt_root_key(&paths, "a long root passphrase").is_ok());
    }

    #[test]
    fn a_passphrase_file_follows_the_one_rule() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("pass");
        for (contents, ok) in [
            ("twelve chars", true),
            ("twelve chars\n", true),
            ("twelve chars\r\n", true),
            ("twelve chars\n\n", false),
            ("twelve chars\nsecond line", false),
            ("short\n", false),
        ] {
            std::fs::write(&file, contents).unwrap();
            let read = read_password(&file);
            assert_eq!(read.is_ok(), ok, "{contents:?}: {read:?}");
            if let Ok(p) = read {
                assert_eq!(&*p, "twelve chars");
            }
        }
    }
}
