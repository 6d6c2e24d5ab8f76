//! Opening the database for an admin command, exactly where `serve` would find it: the
//! config file (`--config`, default `DATA/basalt.toml`), `--database-url` over
//! `storage.database_url`, and the SQLite file in the data directory when neither names one.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use basalt_storage::{StorageConfig, Store};

use crate::cli::AdminArgs;
use crate::config::Config;

/// Connects to the database of the data directory (bringing its schema up to date, as
/// `serve` would). A SQLite file that does not exist is an error rather than a new empty
/// database: a mistyped `--data` must not look like a CA without certificates.
pub(crate) async fn open(args: &AdminArgs) -> anyhow::Result<Store> {
    let config = Config::load(&args.config_path())?;
    open_with(args, &config, Missing::Refuse).await
}

/// What to do when the SQLite file does not exist yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Missing {
    /// An error: listing or changing records of a database that is not there is a mistake.
    Refuse,
    /// Create it, as `serve` would: `area add` right after `init` registers the first rows.
    Create,
}

/// [`open`] with the config already read.
pub(crate) async fn open_with(
    args: &AdminArgs,
    config: &Config,
    missing: Missing,
) -> anyhow::Result<Store> {
    let data = &args.data.data;
    let mut config = config.clone();
    if let Some(url) = &args.database_url {
        config.storage.database_url = url.clone();
    }
    let url = config.database_url(data);
    if let Some(path) = sqlite_file(&url)
        && missing == Missing::Refuse
        && !path.exists()
    {
        bail!(
            "no database at {} (is --data, --config or --database-url right?)",
            path.display()
        );
    }
    Store::connect(&StorageConfig {
        url,
        max_connections: config.storage.max_connections.min(2),
        acquire_timeout: config.storage.acquire_timeout,
    })
    .await
    .context("connecting to the database")
}

/// The file of a `sqlite:` URL; `None` for other engines and in-memory databases.
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    Some(Path::new(path).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_files_are_found_in_urls() {
        assert_eq!(
            sqlite_file("sqlite:///var/lib/basalt/basalt.db?mode=rwc"),
            Some(PathBuf::from("/var/lib/basalt/basalt.db"))
        );
        assert_eq!(
            sqlite_file("sqlite://./d/basalt.db"),
            Some(PathBuf::from("./d/basalt.db"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://u@h/db"), None);
    }
}
