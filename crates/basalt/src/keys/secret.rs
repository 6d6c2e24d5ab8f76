//! Reading a secret (a key passphrase, a token PIN) from where `[keys]` says: a file, an
//! environment variable, or a systemd credential. Exactly one source may be set.
//!
//! A file follows the same one rule as the root passphrase file (the whole file without one
//! trailing line ending; `basalt_signer::read_root_password`). A systemd credential is the
//! file `$CREDENTIALS_DIRECTORY/<name>` (systemd.exec(5), `LoadCredential=`), read the same
//! way. The value is held in a `Passphrase`, wiped from memory when dropped.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use basalt_signer::{Passphrase, read_root_password};

/// The places one secret may come from; the key names are for error messages.
pub(crate) struct SecretSource<'a> {
    pub(crate) what: &'a str,
    pub(crate) file: Option<(&'a str, &'a Path)>,
    pub(crate) env: Option<(&'a str, &'a str)>,
    pub(crate) credential: Option<(&'a str, &'a str)>,
}

impl SecretSource<'_> {
    /// The secret, `None` when no source is configured; an error names the key and why.
    pub(crate) fn read(&self) -> anyhow::Result<Option<Passphrase>> {
        let set = [
            self.file.is_some(),
            self.env.is_some(),
            self.credential.is_some(),
        ]
        .iter()
        .filter(|s| **s)
        .count();
        if set > 1 {
            bail!(
                "{}: set only one of its file, environment variable and credential",
                self.what
            );
        }
        if let Some((key, path)) = self.file {
            return read_file(path)
                .with_context(|| format!("{key}: {}", self.what))
                .map(Some);
        }
        if let Some((key, name)) = self.env {
            let value = std::env::var(name)
                .with_context(|| format!("{key}: the environment variable {name} is not set"))?;
            if value.is_empty() {
                bail!("{key}: the environment variable {name} is empty");
            }
            return Ok(Some(Passphrase::from(value)));
        }
        if let Some((key, name)) = self.credential {
            let directory = std::env::var_os("CREDENTIALS_DIRECTORY").with_context(|| {
                format!("{key}: $CREDENTIALS_DIRECTORY is not set (is basalt running under systemd with LoadCredential={name}:…?)")
            })?;
            if name.is_empty() || name.contains('/') {
                bail!("{key}: {name:?} is not a credential name");
            }
            let path = PathBuf::from(directory).join(name);
            return read_file(&path)
                .with_context(|| format!("{key}: {}", self.what))
                .map(Some);
        }
        Ok(None)
    }
}

fn read_file(path: &Path) -> anyhow::Result<Passphrase> {
    let secret = read_root_password(path)?;
    if secret.is_empty() {
        bail!("{} is empty", path.display());
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source<'a>(file: Option<&'a Path>, env: Option<&'a str>) -> SecretSource<'a> {
        SecretSource {
            what: "the test secret",
            file: file.map(|p| ("keys.test_file", p)),
            env: env.map(|n| ("keys.test_env", n)),
            credential: None,
        }
    }

    #[test]
    fn a_file_is_read_by_the_passphrase_rule_and_an_empty_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "s3cret pin\n").unwrap();
        let read = source(Some(&path), None).read().unwrap().unwrap();
        assert_eq!(&*read, "s3cret pin");
        std::fs::write(&path, "").unwrap();
        let err = source(Some(&path), None).read().unwrap_err();
        assert!(format!("{err:#}").contains("keys.test_file"), "{err:#}");
        let missing = dir.path().join("missing");
        assert!(source(Some(&missing), None).read().is_err());
    }

    #[test]
    fn two_sources_are_refused_and_none_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "x").unwrap();
        let err = source(Some(&path), Some("PATH")).read().unwrap_err();
        assert!(err.to_string().contains("only one"), "{err}");
        assert!(source(None, None).read().unwrap().is_none());
        let err = source(None, Some("BASALT_TEST_SURELY_UNSET_VARIABLE"))
            .read()
            .unwrap_err();
        assert!(err.to_string().contains("is not set"), "{err}");
    }
}
