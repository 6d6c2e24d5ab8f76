//! Adding an area's table to basalt.toml without disturbing the rest of the file.
//!
//! The operator's file keeps its comments and layout: the new `[directories.NAME]` table is
//! appended as text, the result is parsed and validated as a whole before anything is
//! written, and it replaces the old file atomically (temporary file, fsync, rename), with the
//! old file's mode. [`ConfigEdit::undo`] puts the old text back if a later step fails.

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Serialize;

use crate::config::{Config, DirectorySection};

/// A config file rewritten with a new area; remembers what it replaced.
pub(crate) struct ConfigEdit {
    path: PathBuf,
    /// The file's text before the edit; `None` if there was no file.
    previous: Option<String>,
}

/// The text of `[directories.<name>]` (and its `names` table) for `section`.
pub(crate) fn area_table(name: &str, section: &DirectorySection) -> anyhow::Result<String> {
    #[derive(Serialize)]
    struct Directories<'a> {
        directories: std::collections::BTreeMap<&'a str, &'a DirectorySection>,
    }
    let text = toml::to_string_pretty(&Directories {
        directories: [(name, section)].into_iter().collect(),
    })?;
    Ok(text)
}

/// The config text with `name`'s table added, checked to parse and validate, or the reason
/// it cannot be.
pub(crate) fn with_area(
    path: &Path,
    name: &str,
    section: &DirectorySection,
) -> anyhow::Result<(Option<String>, String)> {
    let previous = match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let mut text = match &previous {
        Some(text) => text.clone(),
        None => Config::initial_file_text()?,
    };
    // A file without any [directories.*] table serves the built-in `default` area; adding a
    // table would silently drop it, so write it out first.
    let value: toml::Value =
        toml::from_str(&text).with_context(|| format!("in {}", path.display()))?;
    if value.get("directories").is_none() {
        for (existing, table) in &Config::default().directories {
            text.push('\n');
            text.push_str(&area_table(existing, table)?);
        }
    }
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&format!(
        "\n# Added by `basalt area add {name}`; every key is documented in docs/config.md.\n"
    ));
    text.push_str(&area_table(name, section)?);
    let parsed: Config = toml::from_str(&text)
        .with_context(|| format!("the new {} would not parse", path.display()))?;
    parsed.validate()?;
    if parsed.directories.get(name) != Some(section) {
        bail!("the new table for {name} did not read back as written");
    }
    Ok((previous, text))
}

impl ConfigEdit {
    /// Replaces the file at `path` with `text` atomically.
    pub(crate) fn write(path: &Path, previous: Option<String>, text: &str) -> anyhow::Result<Self> {
        replace_file(path, text)?;
        Ok(Self {
            path: path.to_path_buf(),
            previous,
        })
    }

    /// Restores the previous text (or removes a file this edit created).
    pub(crate) fn undo(self) -> anyhow::Result<()> {
        match &self.previous {
            Some(text) => replace_file(&self.path, text),
            None => std::fs::remove_file(&self.path)
                .with_context(|| format!("removing {}", self.path.display())),
        }
    }
}

/// Writes `text` to a temporary file beside `path` (same mode as the old file, else 0600:
/// a config may hold a database password; and the old file's owner and group, so that a
/// packaged `/etc/basalt/basalt.toml`, root:basalt 0640, stays readable by the service when
/// root edits it), fsyncs it, and renames it over `path`. Fails, writing nothing, if the
/// owner cannot be kept (someone else's file, writable through its group).
fn replace_file(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::MetadataExt as _;
    let old = std::fs::metadata(path).ok();
    let mode = old
        .as_ref()
        .map_or(0o600, |m| m.permissions().mode() & 0o777);
    let owner = old.as_ref().map(|m| (m.uid(), m.gid()));
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = path.file_name().context("the config path names no file")?;
    let temporary = dir.join(format!(".{}.basalt-new", file_name.to_string_lossy()));
    let _ = std::fs::remove_file(&temporary);
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&temporary)?;
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::fchown(&file, Some(uid), Some(gid))?;
        }
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::set_permissions(&temporary, std::fs::Permissions::from_mode(mode))?;
        std::fs::rename(&temporary, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(e).with_context(|| format!("writing {}", path.display()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};

    /// The packaged config is root:basalt 0640; rewriting it as root keeps both.
    #[test]
    fn a_rewritten_config_keeps_its_owner_group_and_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("basalt.toml");
        std::fs::write(&path, "# old\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let me = std::fs::metadata(&path).unwrap();
        // A group other than our own: only root may give it (CI runs as root); otherwise
        // the file keeps our own group, which still shows the group is carried over.
        let group = if me.uid() == 0 { 4242 } else { me.gid() };
        std::os::unix::fs::chown(&path, None, Some(group)).unwrap();

        super::replace_file(&path, "# new\n").unwrap();

        let now = std::fs::metadata(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "# new\n");
        assert_eq!((now.uid(), now.gid()), (me.uid(), group));
        assert_eq!(now.permissions().mode() & 0o777, 0o640);
    }
}
