//! How to reach the database.

use std::time::Duration;

/// Connection settings. The URL selects the engine:
/// * `sqlite://PATH?mode=rwc` (`mode=rwc` creates the file): single node; one pooled
///   connection, so writers are serialised in-process (see `connect.rs`).
/// * `postgres://user:password@host:port/database`: any number of replicas; `max_connections`
///   per replica.
/// * `mysql://user:password@host:port/database` (MySQL 8 or MariaDB, InnoDB): as for
///   PostgreSQL. TLS options go in the query string (`?ssl-mode=...`, see sqlx).
#[derive(Clone, PartialEq, Eq)]
pub struct StorageConfig {
    pub url: String,
    /// Pool size for PostgreSQL and MySQL; SQLite uses one writer connection and at most
    /// `min(4, max_connections)` read-only ones.
    pub max_connections: u32,
    /// How long a call waits for a pooled connection before failing with
    /// `Error::Unavailable`.
    pub acquire_timeout: Duration,
}

/// `Debug` hides the password in the URL, so configurations can be logged.
impl std::fmt::Debug for StorageConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageConfig")
            .field("url", &redact_url(&self.url))
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .finish()
    }
}

/// Replaces the password of `scheme://user:password@host/...` with `***`.
pub(crate) fn redact_url(url: &str) -> String {
    let Some(authority_start) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[authority_start..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match (authority.rfind('@'), authority.find(':')) {
        (Some(at), Some(colon)) if colon < at => format!(
            "{}{}:***{}",
            &url[..authority_start],
            &authority[..colon],
            &url[authority_start + at..]
        ),
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://basalt:s3cret@db:5432/acme"),
            "postgres://basalt:***@db:5432/acme"
        );
        assert_eq!(
            redact_url("postgres://basalt@db/acme"),
            "postgres://basalt@db/acme"
        );
        assert_eq!(
            redact_url("sqlite:///var/lib/basalt/ca.db?mode=rwc"),
            "sqlite:///var/lib/basalt/ca.db?mode=rwc"
        );
        let config = StorageConfig {
            url: "postgres://u:pw@h/d".into(),
            max_connections: 4,
            acquire_timeout: Duration::from_secs(1),
        };
        assert!(!format!("{config:?}").contains("pw"));
    }
}
