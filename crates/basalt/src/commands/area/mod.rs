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
    IntermediateOptions, Issuer, NameConstraints, Passphrase, PkiPaths, StagedFiles, TokenSelector,
    create_intermediate, create_intermediate_in_token, read_root_password,
};
use basalt_storage::NewIntermediate;

use crate::cli::{AreaCommand, RootKeyArgs};
use crate::keys::KeyContext;

pub(crate) async fn run(command: &AreaCommand) -> anyhow::Result<()> {
    match command {
        AreaCommand::Add(args) => add::run(args).await,
        AreaCommand::List(args) => list::run(args).await,
        AreaCommand::Show(args) => show::run(args).await,
        AreaCommand::Rotate(args) => rotate::run(args).await,
    }
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

/// Where a new intermediate's private key is kept (`area add` / `area rotate` flags).
pub(crate) enum KeyPlacement {
    /// A plaintext PKCS#8 file, 0600 (the default).
    File,
    /// A PKCS#8 file encrypted under `[keys]`'s passphrase (`--encrypt-key`).
    EncryptedFile,
    /// Generated inside the PKCS#11 token with this label, never extractable
    /// (`--pkcs11-token LABEL`); `[keys]` names the module and the PIN.
    Token(String),
}

impl KeyPlacement {
    pub(crate) fn from_flags(encrypt_key: bool, token: Option<&str>) -> anyhow::Result<Self> {
        match (encrypt_key, token) {
            (true, Some(_)) => bail!("--encrypt-key and --pkcs11-token exclude each other"),
            (true, None) => Ok(Self::EncryptedFile),
            (false, Some(label)) => Ok(Self::Token(label.to_owned())),
            (false, None) => Ok(Self::File),
        }
    }
}

/// A new intermediate for an area, on disk (and in the token) and checked.
pub(crate) struct MadeIntermediate {
    /// Its database row.
    pub(crate) record: NewIntermediate,
    pub(crate) cert_path: PathBuf,
    /// `None` for a key in a token.
    pub(crate) key_path: Option<PathBuf>,
}

impl MadeIntermediate {
    /// Removes its files (a later step failed). A token key stays in the token, unused; its
    /// label names the area and key id.
    pub(crate) fn remove(&self) {
        remove_files(&[&self.cert_path]);
        if let Some(key) = &self.key_path {
            remove_files(&[key]);
        }
    }
}

/// Decrypts the root key, makes an intermediate for `options.area` with its key where
/// `placement` says, writes the certificate (0644) and a key file (0600) to the paths `files`
/// picks once the key id is known (relative to the data directory; published together or not
/// at all), and loads the result back through the signer exactly as `serve` will, so the row
/// only ever names a key `serve` can use.
pub(crate) fn make_intermediate(
    data: &Path,
    root: &RootKeyArgs,
    keys: &KeyContext,
    placement: &KeyPlacement,
    mut options: IntermediateOptions,
    files: impl FnOnce(&str) -> (String, String),
) -> anyhow::Result<MadeIntermediate> {
    let password = read_root_passphrase(&root.root_password_file)?;
    let paths = PkiPaths::new(data);
    let root_key = root.root_key(data);
    if let KeyPlacement::EncryptedFile = placement {
        options.key_passphrase = Some(keys.passphrase().context(
            "--encrypt-key needs a passphrase: set keys.passphrase_file, passphrase_env or passphrase_credential",
        )?);
    }
    let (created, token_uri) = match placement {
        KeyPlacement::Token(label) => {
            let token = keys.token(&TokenSelector::Label(label.clone()))?;
            let (created, uri) =
                create_intermediate_in_token(&paths, &root_key, &password, &options, &token)
                    .context("making the intermediate in the token")?;
            (created, Some(uri))
        }
        KeyPlacement::File | KeyPlacement::EncryptedFile => (
            create_intermediate(&paths, &root_key, &password, &options)
                .context("making the intermediate")?,
            None,
        ),
    };
    let (cert_ref, key_file_ref) = files(&created.key_id);
    let cert_path = data.join(&cert_ref);
    let mut stage = StagedFiles::default();
    stage.create_dir(&paths.directory_dir(&options.area), 0o755, false)?;
    let (key_ref, key_path) = match token_uri {
        Some(uri) => (uri.to_string(), None),
        None => {
            let key_path = data.join(&key_file_ref);
            stage.write(&key_path, created.key_pem.as_bytes(), 0o600)?;
            (key_file_ref, Some(key_path))
        }
    };
    stage.write(&cert_path, created.certificate_pem.as_bytes(), 0o644)?;
    stage.commit().context("writing the intermediate's files")?;
    let loaded = keys.source(&key_ref).and_then(|source| {
        Ok(Issuer::from_certificate_pem(
            &created.certificate_pem,
            &source,
        )?)
    });
    match loaded {
        Ok(issuer) => Ok(MadeIntermediate {
            record: intermediate_record(&options.area, &issuer, &key_ref),
            cert_path,
            key_path,
        }),
        Err(e) => {
            remove_files(&[&cert_path]);
            if let Some(key_path) = &key_path {
                remove_files(&[key_path]);
            }
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
