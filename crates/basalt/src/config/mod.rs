//! `basalt.toml`: every key, its default, and how flags override it.
//!
//! Precedence is defaults < file < environment (`BASALT_SECTION__KEY`, `env.rs`) < flags.
//! Unknown keys are refused so a typo never silently falls back to a default; every table has
//! good zero values so an older file still starts a newer binary. `docs/config.md` documents
//! every key; a test checks it does. `check.rs` finds every problem of a file at once.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use basalt_server::{ConnectionSettings, ValidationQueueLimits};
use basalt_validation::{Cidr, EgressPolicy};
use serde::{Deserialize, Serialize};

const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Config {
    pub(crate) server: ServerSection,
    pub(crate) storage: StorageSection,
    pub(crate) validation: ValidationSection,
    /// Where intermediate keys' secrets and the PKCS#11 module come from.
    pub(crate) keys: KeysSection,
    /// One table per ACME directory, served at /acme/<name>/directory.
    pub(crate) directories: BTreeMap<String, DirectorySection>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ServerSection {
    /// HTTPS listen address.
    pub(crate) listen: SocketAddr,
    /// Extra DNS names or IPs for the serving certificate.
    pub(crate) serving_names: Vec<String>,
    /// Lifetime of the serving certificate; renewed after two thirds.
    #[serde(with = "crate::duration")]
    pub(crate) serving_certificate_lifetime: Duration,
    /// How long a nonce may be redeemed.
    #[serde(with = "crate::duration")]
    pub(crate) nonce_lifetime: Duration,
    /// How long an account looked up by `kid` stays cached; "0s" turns the cache off.
    /// Another replica's change to an account may go unseen here for this long.
    #[serde(with = "crate::duration")]
    pub(crate) account_cache_ttl: Duration,
    /// Orders per page of an account's orders list.
    pub(crate) orders_per_page: u64,
    /// Largest request body accepted, in bytes.
    pub(crate) max_request_bytes: usize,
    /// From accept to the end of the TLS handshake.
    #[serde(with = "crate::duration")]
    pub(crate) tls_handshake_timeout: Duration,
    /// From the handshake to a complete first request head; for HTTP/1.1 also per later
    /// request head, which closes keep-alive connections idle this long.
    #[serde(with = "crate::duration")]
    pub(crate) header_read_timeout: Duration,
    /// HTTP/2 PING interval on a quiet connection.
    #[serde(with = "crate::duration")]
    pub(crate) http2_keep_alive_interval: Duration,
    /// How long an HTTP/2 PING may go unanswered.
    #[serde(with = "crate::duration")]
    pub(crate) http2_keep_alive_timeout: Duration,
    /// HTTP/2 streams open at once per connection.
    pub(crate) http2_max_concurrent_streams: u32,
    /// Connections open at once; more are closed unread.
    pub(crate) max_connections: usize,
    /// Connections open at once from one source address (IPv6: one /64).
    pub(crate) max_connections_per_ip: usize,
    /// On SIGTERM/SIGINT, how long in-flight requests and validations may take to finish.
    #[serde(with = "crate::duration")]
    pub(crate) shutdown_timeout: Duration,
    /// Plain-HTTP listener for CRLs, the root and the intermediates; unset: none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) pki_listen: Option<SocketAddr>,
    /// Plain-HTTP listener for /metrics, /healthz and /readyz; unset: none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) metrics_listen: Option<SocketAddr>,
    /// How long an issuance may stay reserved but unstored before it is abandoned and its
    /// order made ready again.
    #[serde(with = "crate::duration")]
    pub(crate) issuance_stale_after: Duration,
    /// How often the database is asked whether areas or intermediates changed.
    #[serde(with = "crate::duration")]
    pub(crate) area_refresh_interval: Duration,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct StorageSection {
    /// Database URL; empty means the SQLite file `basalt.db` in the data directory.
    pub(crate) database_url: String,
    /// Connection pool size (PostgreSQL, MySQL; SQLite: one writer and up to 4 readers).
    pub(crate) max_connections: u32,
    /// How long a request waits for a database connection.
    #[serde(with = "crate::duration")]
    pub(crate) acquire_timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ValidationSection {
    /// Port http-01 validation connects to.
    pub http01_port: u16,
    /// Port tls-alpn-01 validation connects to.
    pub tlsalpn01_port: u16,
    /// DNS resolvers (IP:PORT); empty means the system resolver.
    pub(crate) resolvers: Vec<SocketAddr>,
    /// Validations running at once per process.
    pub(crate) concurrency: usize,
    /// Connect timeout of one validation.
    #[serde(with = "crate::duration")]
    pub(crate) connect_timeout: Duration,
    /// Deadline of one whole validation attempt.
    #[serde(with = "crate::duration")]
    pub(crate) attempt_timeout: Duration,
    /// How long a replica owns a validation job before another may take it over.
    #[serde(with = "crate::duration")]
    pub(crate) lease: Duration,
    /// How long a valid authorization is reused for new orders.
    #[serde(with = "crate::duration")]
    pub(crate) valid_authorization_lifetime: Duration,
    /// Validations waiting or running at once per process.
    pub(crate) queue_limit: usize,
    /// Validations of one account waiting or running at once per process.
    pub(crate) queue_limit_per_account: usize,
    /// Address ranges validation may connect to although the default egress policy refuses
    /// them (loopback, link-local, ...), e.g. `["127.0.0.0/8", "::1"]` for tests.
    pub(crate) egress_allow: Vec<String>,
    /// Address ranges validation must never connect to, on top of the default refusals;
    /// wins over `egress_allow`.
    pub(crate) egress_deny: Vec<String>,
}

/// `[keys]`: secrets for intermediate keys that are not plaintext files. Each secret comes
/// from one of a file, an environment variable or a systemd credential
/// (`$CREDENTIALS_DIRECTORY/<name>`, `LoadCredential=` in the unit); never from this file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct KeysSection {
    /// File holding the passphrase of encrypted intermediate key files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) passphrase_file: Option<PathBuf>,
    /// Environment variable holding that passphrase.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) passphrase_env: Option<String>,
    /// systemd credential holding that passphrase.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) passphrase_credential: Option<String>,
    /// PKCS#11 module (shared library) of the token holding `pkcs11:` keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) pkcs11_module: Option<PathBuf>,
    /// File holding the token's user PIN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) pkcs11_pin_file: Option<PathBuf>,
    /// Environment variable holding the PIN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) pkcs11_pin_env: Option<String>,
    /// systemd credential holding the PIN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) pkcs11_pin_credential: Option<String>,
    /// Logged-in sessions per token, so finalizations sign concurrently.
    pub(crate) pkcs11_sessions: usize,
}

impl Default for KeysSection {
    fn default() -> Self {
        Self {
            passphrase_file: None,
            passphrase_env: None,
            passphrase_credential: None,
            pkcs11_module: None,
            pkcs11_pin_file: None,
            pkcs11_pin_env: None,
            pkcs11_pin_credential: None,
            pkcs11_sessions: 8,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct DirectorySection {
    /// Intermediate certificate (PEM), relative to the data directory.
    pub(crate) intermediate_cert: PathBuf,
    /// Intermediate private key (PKCS#8 PEM), relative to the data directory.
    pub(crate) intermediate_key: PathBuf,
    /// Default certificate lifetime.
    #[serde(with = "crate::duration")]
    pub(crate) certificate_lifetime: Duration,
    /// Longest lifetime a client may request with notBefore/notAfter.
    #[serde(with = "crate::duration")]
    pub(crate) max_certificate_lifetime: Duration,
    /// How far notBefore is backdated.
    #[serde(with = "crate::duration")]
    pub(crate) backdate: Duration,
    /// How long a new order stays open.
    #[serde(with = "crate::duration")]
    pub(crate) order_lifetime: Duration,
    /// How long a pending authorization stays open.
    #[serde(with = "crate::duration")]
    pub(crate) pending_authorization_lifetime: Duration,
    /// meta.termsOfService; when set, newAccount requires termsOfServiceAgreed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) terms_of_service: Option<String>,
    /// meta.website.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) website: Option<String>,
    /// meta.caaIdentities: the CAA issuer domain names of this CA.
    pub(crate) caa_identities: Vec<String>,
    /// Check CAA (RFC 8659) before issuing; off only for zones that never publish CAA.
    pub(crate) check_caa: bool,
    /// This directory's `validation.egress_allow`; unset: the validation section's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) egress_allow: Option<Vec<String>>,
    /// This directory's `validation.egress_deny`; unset: the validation section's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) egress_deny: Option<Vec<String>>,
    /// Accept orders for reserved identifiers (127.0.0.1, ::1, 169.254.0.0/16, multicast,
    /// `localhost`, ...); off by default, for test set-ups only.
    pub(crate) allow_reserved_identifiers: bool,
    /// Challenge types this area's authorizations offer.
    pub(crate) challenge_types: Vec<String>,
    /// Subject key types a CSR may carry.
    pub(crate) key_types: Vec<String>,
    /// Base URL of the PKI listener as relying parties reach it; set, leaves carry a CRL
    /// Distribution Point and an AIA caIssuers URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) pki_base_url: Option<String>,
    /// Make a CRL for each of the area's intermediates.
    pub(crate) crl: bool,
    /// nextUpdate − thisUpdate of the area's CRLs.
    #[serde(with = "crate::duration")]
    pub(crate) crl_lifetime: Duration,
    /// Whether `area add` / `area rotate` put name constraints derived from `names` into
    /// the area's intermediates.
    pub(crate) name_constraints: bool,
    /// RFC 9773: fraction of a certificate's lifetime after which renewing is ideal; unset:
    /// Boulder's (two thirds, one half under ten days).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) renewal_at: Option<f64>,
    /// RFC 9773: half the suggested window's width, as a fraction of the lifetime.
    pub(crate) renewal_margin: f64,
    /// RFC 9773: `Retry-After` of renewalInfo answers.
    #[serde(with = "crate::duration")]
    pub(crate) renewal_retry_after: Duration,
    /// External Account Binding (RFC 8555 §7.3.4): `off` (default), `optional`, `required`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) external_account_binding: Option<String>,
    /// The profile an order without `profile` gets (draft-ietf-acme-profiles).
    pub(crate) default_profile: String,
    /// Which identifiers the area certifies. (A table: keep the tables last, TOML writes
    /// tables after plain keys.)
    pub(crate) names: NamesSection,
    /// The area's certificate profiles by name; empty: the shipped ones (docs/profiles.md).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) profiles: BTreeMap<String, ProfileSection>,
}

/// `[directories.NAME.names]`: the area's name policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct NamesSection {
    /// `dns`, `ip`.
    pub(crate) identifier_types: Vec<String>,
    /// `name` (exactly) or `.domain` (every name below it); empty: any name.
    pub(crate) allow: Vec<String>,
    /// Same forms; wins over `allow`.
    pub(crate) deny: Vec<String>,
    /// Allow wildcard names (`*.x`).
    pub(crate) wildcards: bool,
    /// Allow names of one label (`db`).
    pub(crate) single_label: bool,
    /// CIDRs IP identifiers must fall in; empty: any.
    pub(crate) ip_ranges: Vec<String>,
}

impl Default for NamesSection {
    fn default() -> Self {
        Self {
            identifier_types: vec!["dns".to_owned(), "ip".to_owned()],
            allow: Vec::new(),
            deny: Vec::new(),
            wildcards: true,
            single_label: true,
            ip_ranges: Vec::new(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            server: ServerSection::default(),
            storage: StorageSection::default(),
            validation: ValidationSection::default(),
            keys: KeysSection::default(),
            directories: BTreeMap::from([(
                "default".to_owned(),
                DirectorySection::named("default"),
            )]),
        }
    }
}

impl Default for ServerSection {
    fn default() -> Self {
        // The listener's limits have one set of defaults, the server crate's.
        let connections = ConnectionSettings::default();
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            serving_names: Vec::new(),
            serving_certificate_lifetime: Duration::from_secs(7 * DAY),
            nonce_lifetime: Duration::from_secs(HOUR),
            account_cache_ttl: Duration::from_secs(5),
            orders_per_page: 100,
            max_request_bytes: 64 * 1024,
            tls_handshake_timeout: connections.tls_handshake_timeout,
            header_read_timeout: connections.header_read_timeout,
            http2_keep_alive_interval: connections.http2_keep_alive_interval,
            http2_keep_alive_timeout: connections.http2_keep_alive_timeout,
            http2_max_concurrent_streams: connections.http2_max_concurrent_streams,
            max_connections: connections.max_connections,
            max_connections_per_ip: connections.max_connections_per_ip,
            shutdown_timeout: connections.shutdown_timeout,
            pki_listen: None,
            metrics_listen: None,
            issuance_stale_after: basalt_server::DEFAULT_ISSUANCE_STALE_AFTER,
            area_refresh_interval: Duration::from_secs(2),
        }
    }
}

impl Default for StorageSection {
    fn default() -> Self {
        Self {
            database_url: String::new(),
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

impl Default for ValidationSection {
    fn default() -> Self {
        let queue = ValidationQueueLimits::default();
        Self {
            http01_port: 80,
            tlsalpn01_port: 443,
            resolvers: Vec::new(),
            concurrency: 64,
            connect_timeout: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(10),
            lease: Duration::from_secs(60),
            valid_authorization_lifetime: Duration::from_secs(30 * DAY),
            queue_limit: queue.total,
            queue_limit_per_account: queue.per_account,
            egress_allow: Vec::new(),
            egress_deny: Vec::new(),
        }
    }
}

impl Default for DirectorySection {
    fn default() -> Self {
        Self::named("default")
    }
}

impl DirectorySection {
    /// The defaults for a directory, with the key paths `basalt init` writes for it.
    pub(crate) fn named(name: &str) -> Self {
        Self {
            intermediate_cert: PathBuf::from(format!("directories/{name}/intermediate.pem")),
            intermediate_key: PathBuf::from(format!("directories/{name}/intermediate-key.pem")),
            certificate_lifetime: Duration::from_secs(DAY),
            max_certificate_lifetime: Duration::from_secs(DAY),
            backdate: Duration::from_secs(60),
            order_lifetime: Duration::from_secs(7 * DAY),
            pending_authorization_lifetime: Duration::from_secs(7 * DAY),
            terms_of_service: None,
            website: None,
            caa_identities: vec!["basalt".to_owned()],
            check_caa: true,
            egress_allow: None,
            egress_deny: None,
            allow_reserved_identifiers: false,
            challenge_types: ["http-01", "dns-01", "tls-alpn-01"]
                .map(String::from)
                .to_vec(),
            key_types: basalt_signer::KeyType::ALL
                .iter()
                .map(ToString::to_string)
                .collect(),
            pki_base_url: None,
            crl: true,
            crl_lifetime: Duration::from_secs(DAY),
            name_constraints: true,
            renewal_at: None,
            renewal_margin: 0.01,
            renewal_retry_after: Duration::from_secs(6 * HOUR),
            external_account_binding: None,
            default_profile: basalt_server::DEFAULT_PROFILE.to_owned(),
            names: NamesSection::default(),
            profiles: BTreeMap::new(),
        }
    }
}

impl Config {
    /// Reads a config file, applies the environment's overrides (`env.rs`) and checks it;
    /// a missing file means all defaults. The error lists every problem.
    pub(crate) fn load(path: &Path) -> anyhow::Result<Self> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        check::parse(&text, &env::overrides(std::env::vars())).map_err(|problems| {
            let list = problems
                .iter()
                .map(|p| format!("  {p}"))
                .collect::<Vec<_>>()
                .join("\n");
            anyhow::anyhow!(
                "{} has {} problem(s) (`basalt config check` lists them too):\n{list}",
                path.display(),
                problems.len()
            )
        })
    }

    /// Checks values serde cannot; the error names the key path (the first problem of
    /// [`Config::problems`]).
    pub(crate) fn validate(&self) -> anyhow::Result<()> {
        match self.problems().into_iter().next() {
            Some(problem) => Err(anyhow::anyhow!(problem)),
            None => Ok(()),
        }
    }

    /// Every problem serde cannot see, each `key.path: what is wrong` (`basalt config check`
    /// reports them all at once; `serve` stops at the first).
    pub(crate) fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut check = |outcome: anyhow::Result<()>| {
            if let Err(e) = outcome {
                problems.push(format!("{e:#}"));
            }
        };
        if self.directories.is_empty() {
            check(Err(anyhow::anyhow!(
                "directories: at least one directory is required"
            )));
        }
        for (name, dir) in &self.directories {
            check(directory_problem(name, dir));
            check(dir.area_policy(name).map(drop));
            check(self.directory_egress(name).map(drop));
        }
        check(self.egress().map(drop));
        check(self.other_problem());
        for limit in self.limit_problems() {
            check(Err(limit));
        }
        problems
    }

    /// The checks of `[validation]` and `[server]` that relate two keys or bound one.
    fn other_problem(&self) -> anyhow::Result<()> {
        if self.validation.concurrency == 0 {
            bail!("validation.concurrency: must be at least 1");
        }
        if self.validation.lease <= self.validation.attempt_timeout {
            bail!("validation.lease: must be longer than validation.attempt_timeout");
        }
        if self.server.issuance_stale_after < Duration::from_secs(1) {
            bail!("server.issuance_stale_after: must be at least one second");
        }
        if self.server.area_refresh_interval.is_zero() {
            bail!("server.area_refresh_interval: must be longer than zero");
        }
        if self.server.serving_certificate_lifetime < Duration::from_secs(HOUR) {
            bail!("server.serving_certificate_lifetime: must be at least one hour");
        }
        Ok(())
    }

    /// The listener's and the validation queue's limits: a zero would refuse everything
    /// (or, for a timeout, every client), so each must be positive.
    fn limit_problems(&self) -> Vec<anyhow::Error> {
        let server = &self.server;
        let mut problems = Vec::new();
        for (key, value) in [
            ("server.tls_handshake_timeout", server.tls_handshake_timeout),
            ("server.header_read_timeout", server.header_read_timeout),
            (
                "server.http2_keep_alive_interval",
                server.http2_keep_alive_interval,
            ),
            (
                "server.http2_keep_alive_timeout",
                server.http2_keep_alive_timeout,
            ),
            ("server.shutdown_timeout", server.shutdown_timeout),
        ] {
            if value.is_zero() {
                problems.push(anyhow::anyhow!("{key}: must be longer than zero"));
            }
        }
        for (key, value) in [
            (
                "server.http2_max_concurrent_streams",
                server.http2_max_concurrent_streams as usize,
            ),
            ("server.max_connections", server.max_connections),
            (
                "server.max_connections_per_ip",
                server.max_connections_per_ip,
            ),
            ("validation.queue_limit", self.validation.queue_limit),
            (
                "validation.queue_limit_per_account",
                self.validation.queue_limit_per_account,
            ),
        ] {
            if value == 0 {
                problems.push(anyhow::anyhow!("{key}: must be at least 1"));
            }
        }
        problems
    }

    /// The listener's limits as the server takes them.
    pub(crate) fn connection_settings(&self) -> ConnectionSettings {
        let server = &self.server;
        ConnectionSettings {
            tls_handshake_timeout: server.tls_handshake_timeout,
            header_read_timeout: server.header_read_timeout,
            http2_keep_alive_interval: server.http2_keep_alive_interval,
            http2_keep_alive_timeout: server.http2_keep_alive_timeout,
            http2_max_concurrent_streams: server.http2_max_concurrent_streams,
            max_connections: server.max_connections,
            max_connections_per_ip: server.max_connections_per_ip,
            shutdown_timeout: server.shutdown_timeout,
        }
    }

    /// The validation queue's bounds as the server takes them.
    pub(crate) fn validation_queue_limits(&self) -> ValidationQueueLimits {
        ValidationQueueLimits {
            total: self.validation.queue_limit,
            per_account: self.validation.queue_limit_per_account,
        }
    }

    /// The validator's egress policy, from `validation.egress_allow`/`egress_deny`.
    pub(crate) fn egress(&self) -> anyhow::Result<EgressPolicy> {
        Ok(EgressPolicy {
            allow: cidrs("validation.egress_allow", &self.validation.egress_allow)?,
            deny: cidrs("validation.egress_deny", &self.validation.egress_deny)?,
        })
    }

    /// The egress policy of directory `name` when it sets either key (the other inherited
    /// from `[validation]`); `None` when it sets neither, so it uses the validator's.
    pub(crate) fn directory_egress(&self, name: &str) -> anyhow::Result<Option<EgressPolicy>> {
        let Some(dir) = self.directories.get(name) else {
            return Ok(None);
        };
        if dir.egress_allow.is_none() && dir.egress_deny.is_none() {
            return Ok(None);
        }
        let allow = dir
            .egress_allow
            .as_ref()
            .unwrap_or(&self.validation.egress_allow);
        let deny = dir
            .egress_deny
            .as_ref()
            .unwrap_or(&self.validation.egress_deny);
        Ok(Some(EgressPolicy {
            allow: cidrs(&format!("directories.{name}.egress_allow"), allow)?,
            deny: cidrs(&format!("directories.{name}.egress_deny"), deny)?,
        }))
    }

    /// The database URL, defaulting to the SQLite file in the data directory.
    pub(crate) fn database_url(&self, data: &Path) -> String {
        if self.storage.database_url.is_empty() {
            format!("sqlite://{}?mode=rwc", data.join("basalt.db").display())
        } else {
            self.storage.database_url.clone()
        }
    }

    /// The file `basalt init` writes: the defaults, as TOML.
    pub(crate) fn initial_file_text() -> anyhow::Result<String> {
        let body = toml::to_string_pretty(&Self::default())?;
        Ok(format!(
            "# basalt configuration. Every key is documented in docs/config.md.\n\
             # Precedence: defaults < this file < command-line flags.\n\n{body}"
        ))
    }
}

/// Address ranges from their strings; the error names the key.
fn cidrs(key: &str, values: &[String]) -> anyhow::Result<Vec<Cidr>> {
    values
        .iter()
        .map(|value| value.parse::<Cidr>().with_context(|| key.to_owned()))
        .collect()
}

mod area_policy;
pub(crate) mod check;
pub(crate) mod env;
mod profiles;

pub(crate) use profiles::ProfileSection;
/// The checks of one `[directories.NAME]` table that are not its policy's.
fn directory_problem(name: &str, dir: &DirectorySection) -> anyhow::Result<()> {
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        bail!("directories.{name}: a directory name uses only letters, digits, '-' and '_'");
    }
    if dir.certificate_lifetime > dir.max_certificate_lifetime {
        bail!("directories.{name}.certificate_lifetime: longer than max_certificate_lifetime");
    }
    if dir.check_caa && dir.caa_identities.is_empty() {
        bail!(
            "directories.{name}.caa_identities: CAA checking needs at least one identity (or set check_caa = false)"
        );
    }
    if dir.certificate_lifetime < Duration::from_secs(60) {
        bail!("directories.{name}.certificate_lifetime: must be at least one minute");
    }
    Ok(())
}

#[cfg(test)]
mod tests;
