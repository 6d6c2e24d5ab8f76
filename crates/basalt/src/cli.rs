//! Command-line interface (clap). Every serve flag is also a key of `basalt.toml`; flags win.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "basalt",
    version,
    about = "A private certificate authority that speaks ACME (RFC 8555)"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
    /// Log output format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Pretty, env = "BASALT_LOG_FORMAT")]
    pub(crate) log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create the PKI (offline root, intermediate) and basalt.toml in the data directory.
    Init(InitArgs),
    /// Run the ACME server (initialising the data directory first if it holds no PKI).
    Serve(ServeArgs),
    /// Print the root certificate (PEM): the file ACME clients must trust.
    Root(DataArgs),
    /// List, show and revoke issued certificates.
    #[command(subcommand)]
    Certs(CertsCommand),
    /// List, show and deactivate ACME accounts.
    #[command(subcommand)]
    Accounts(AccountsCommand),
    /// Show ACME orders.
    #[command(subcommand)]
    Orders(OrdersCommand),
    /// Areas: an ACME directory each, with its own intermediate and policy.
    #[command(subcommand)]
    Area(AreaCommand),
    /// External Account Binding keys (RFC 8555 §7.3.4): create, list, revoke.
    #[command(subcommand)]
    Eab(EabCommand),
    /// The configuration file.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Report every problem of a config file at once (with the environment's
    /// BASALT_SECTION__KEY overrides applied, as serve applies them); exits 1 if any.
    Check(ConfigCheckArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ConfigCheckArgs {
    #[command(flatten)]
    pub(crate) data: DataArgs,
    /// Configuration file (default: DATA/basalt.toml).
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
    /// Print the problems as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum EabCommand {
    /// Make a key for an area; prints the key id and HMAC key once, with client snippets.
    Create(EabCreateArgs),
    /// Every key (never the HMAC keys), newest first.
    List(EabListArgs),
    /// Revoke a key: it registers no new account (accounts it made stay).
    Revoke(EabRevokeArgs),
}

#[derive(Debug, Args)]
pub(crate) struct EabCreateArgs {
    #[command(flatten)]
    pub(crate) admin: AdminArgs,
    /// The area (ACME directory) whose newAccount accepts the key.
    #[arg(long)]
    pub(crate) area: String,
    /// The key may register any number of accounts (default: one).
    #[arg(long)]
    pub(crate) reusable: bool,
    /// The key registers no account after this long, e.g. 30d (default: never expires).
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse_flag)]
    pub(crate) expires: Option<std::time::Duration>,
    /// A note for the operator (whom the key was given to).
    #[arg(long, value_name = "TEXT")]
    pub(crate) note: Option<String>,
    /// How clients reach basalt, e.g. https://ca.corp.internal:8443, for the snippets
    /// (default: from server.serving_names / server.listen).
    #[arg(long, value_name = "URL")]
    pub(crate) server_url: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct EabListArgs {
    #[command(flatten)]
    pub(crate) admin: AdminArgs,
    /// Only keys of this area.
    #[arg(long)]
    pub(crate) area: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct EabRevokeArgs {
    #[command(flatten)]
    pub(crate) admin: AdminArgs,
    /// The key id.
    pub(crate) kid: String,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AreaCommand {
    /// Make a new area: its intermediate (signed by the offline root), files and config table.
    Add(Box<AreaAddArgs>),
    /// Every area and its intermediates.
    List(AreaListArgs),
    /// One area: policy, intermediates, name constraints, certificate counts.
    Show(AreaShowArgs),
    /// Give an area a new intermediate; the old one retires once its certificates expire.
    Rotate(AreaRotateArgs),
}

/// The offline root key, for the commands that sign an intermediate.
#[derive(Debug, Clone, Args)]
pub(crate) struct RootKeyArgs {
    /// The encrypted root key (default: DATA/offline/root-key.pem).
    #[arg(long, value_name = "FILE")]
    pub(crate) root_key: Option<PathBuf>,
    /// File holding the root key's passphrase.
    #[arg(long, value_name = "FILE")]
    pub(crate) root_password_file: PathBuf,
}

impl RootKeyArgs {
    pub(crate) fn root_key(&self, data: &std::path::Path) -> PathBuf {
        self.root_key
            .clone()
            .unwrap_or_else(|| basalt_signer::PkiPaths::new(data).root_key())
    }
}

/// An area's policy, as flags of `area add` (each a key of `[directories.NAME]`).
#[derive(Debug, Clone, Args)]
pub(crate) struct AreaPolicyArgs {
    /// Allowed DNS name: `name` exactly, or `.domain` for every name below it; repeatable
    /// (names.allow). None: any name.
    #[arg(long, value_name = "NAME")]
    pub(crate) allow: Vec<String>,
    /// Denied DNS name, same forms; repeatable (names.deny).
    #[arg(long, value_name = "NAME")]
    pub(crate) deny: Vec<String>,
    /// Refuse wildcard names (names.wildcards = false).
    #[arg(long)]
    pub(crate) no_wildcards: bool,
    /// Refuse single-label names such as `db` (names.single_label = false).
    #[arg(long)]
    pub(crate) no_single_label: bool,
    /// Allowed IP range for IP identifiers; repeatable (names.ip_ranges). None: any.
    #[arg(long, value_name = "CIDR")]
    pub(crate) ip_range: Vec<String>,
    /// Allowed identifier types, comma-separated: dns,ip (names.identifier_types).
    #[arg(long, value_delimiter = ',', value_name = "TYPES")]
    pub(crate) identifier_types: Option<Vec<String>>,
    /// Allowed challenge types, comma-separated: http-01,dns-01,tls-alpn-01 (challenge_types).
    #[arg(long, value_delimiter = ',', value_name = "TYPES")]
    pub(crate) challenge_types: Option<Vec<String>>,
    /// Allowed CSR key types, comma-separated: ecdsa-p256,ecdsa-p384,rsa-2048,rsa-3072,rsa-4096,ed25519 (key_types).
    #[arg(long, value_delimiter = ',', value_name = "TYPES")]
    pub(crate) key_types: Option<Vec<String>>,
    /// Default certificate lifetime, e.g. 24h (certificate_lifetime).
    #[arg(long, value_name = "DURATION")]
    pub(crate) certificate_lifetime: Option<humantime::Duration>,
    /// Longest lifetime a client may ask for (max_certificate_lifetime).
    #[arg(long, value_name = "DURATION")]
    pub(crate) max_certificate_lifetime: Option<humantime::Duration>,
    /// Base URL of the PKI listener as relying parties reach it, e.g. http://ca.corp:8080;
    /// leaves then carry a CRL Distribution Point and AIA (pki_base_url).
    #[arg(long, value_name = "URL")]
    pub(crate) pki_base_url: Option<String>,
    /// Make no CRLs: passive revocation for short-lived certificates (crl = false).
    #[arg(long)]
    pub(crate) no_crl: bool,
    /// Do not check CAA (check_caa = false), for internal zones that never publish it.
    #[arg(long)]
    pub(crate) no_caa: bool,
    /// Make the intermediate without name constraints (name_constraints = false).
    #[arg(long)]
    pub(crate) no_name_constraints: bool,
}

#[derive(Debug, Args)]
pub(crate) struct AreaAddArgs {
    /// The area's name: 1-32 of a-z, 0-9, '-', '_'; its directory is /acme/NAME/directory.
    pub(crate) name: String,
    #[command(flatten)]
    pub(crate) admin: AdminArgs,
    #[command(flatten)]
    pub(crate) root: RootKeyArgs,
    #[command(flatten)]
    pub(crate) policy: AreaPolicyArgs,
    #[command(flatten)]
    pub(crate) key: NewKeyArgs,
}

/// Where and how `area add` / `area rotate` make the intermediate's key.
#[derive(Debug, Args)]
pub(crate) struct NewKeyArgs {
    /// Give the intermediate a P-384 key (default P-256, which signs faster).
    #[arg(long)]
    pub(crate) p384: bool,
    /// Keep the intermediate's key in an encrypted file (PKCS#8, scrypt), under
    /// `[keys]`'s passphrase.
    #[arg(long)]
    pub(crate) encrypt_key: bool,
    /// Generate the intermediate's key inside the PKCS#11 token with this label (never
    /// extractable); `[keys]` names the module and the PIN.
    #[arg(long, value_name = "LABEL")]
    pub(crate) pkcs11_token: Option<String>,
}

impl NewKeyArgs {
    pub(crate) fn algorithm(&self) -> basalt_signer::IntermediateKeyAlgorithm {
        if self.p384 {
            basalt_signer::IntermediateKeyAlgorithm::P384
        } else {
            basalt_signer::IntermediateKeyAlgorithm::P256
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct AreaListArgs {
    #[command(flatten)]
    pub(crate) admin: AdminArgs,
}

#[derive(Debug, Args)]
pub(crate) struct AreaShowArgs {
    /// The area.
    pub(crate) name: String,
    #[command(flatten)]
    pub(crate) admin: AdminArgs,
}

#[derive(Debug, Args)]
pub(crate) struct AreaRotateArgs {
    /// The area.
    pub(crate) name: String,
    #[command(flatten)]
    pub(crate) admin: AdminArgs,
    #[command(flatten)]
    pub(crate) root: RootKeyArgs,
    #[command(flatten)]
    pub(crate) key: NewKeyArgs,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct DataArgs {
    /// The data directory.
    #[arg(long, env = "BASALT_DATA", default_value = "./basalt-data")]
    pub(crate) data: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct InitArgs {
    #[command(flatten)]
    pub(crate) data: DataArgs,
    /// File holding the passphrase that encrypts the root key; without it a passphrase is
    /// generated and written beside the key in DATA/offline/.
    #[arg(long)]
    pub(crate) root_password_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    pub(crate) init: InitArgs,
    /// Configuration file (default: DATA/basalt.toml).
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
    /// HTTPS listen address (server.listen).
    #[arg(long)]
    pub(crate) listen: Option<SocketAddr>,
    /// Plain-HTTP address for /metrics, /healthz and /readyz (server.metrics_listen).
    #[arg(long)]
    pub(crate) metrics_listen: Option<SocketAddr>,
    /// Port http-01 validation connects to (validation.http01_port).
    #[arg(long)]
    pub http01_port: Option<u16>,
    /// Port tls-alpn-01 validation connects to (validation.tlsalpn01_port).
    #[arg(long)]
    pub tlsalpn01_port: Option<u16>,
    /// DNS resolver IP:PORT for every lookup the CA makes; repeatable (validation.resolvers).
    #[arg(long = "resolver")]
    pub(crate) resolvers: Vec<SocketAddr>,
    /// Address range validation may connect to although the default egress policy refuses
    /// it, e.g. 127.0.0.0/8 for tests on loopback; repeatable, replaces
    /// validation.egress_allow.
    #[arg(long = "egress-allow", value_name = "CIDR")]
    pub(crate) egress_allow: Vec<String>,
    /// Database URL: sqlite://PATH, postgres://… (storage.database_url).
    #[arg(long, env = "BASALT_DATABASE_URL")]
    pub(crate) database_url: Option<String>,
}

/// What every admin command (`certs`, `accounts`, `orders`) needs: the database, found the
/// way `serve` finds it, and the output format.
#[derive(Debug, Clone, Args)]
pub(crate) struct AdminArgs {
    #[command(flatten)]
    pub(crate) data: DataArgs,
    /// Configuration file (default: DATA/basalt.toml).
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
    /// Database URL: sqlite://PATH, postgres://… (storage.database_url).
    #[arg(long, env = "BASALT_DATABASE_URL")]
    pub(crate) database_url: Option<String>,
    /// Print JSON (for scripts) instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

impl AdminArgs {
    /// The config file: `--config`, or `DATA/basalt.toml`.
    pub(crate) fn config_path(&self) -> PathBuf {
        self.config
            .clone()
            .unwrap_or_else(|| self.data.data.join("basalt.toml"))
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum CertsCommand {
    /// List certificates, newest first.
    List(CertsListArgs),
    /// Show one certificate.
    Show(SerialArgs),
    /// Revoke a certificate; its intermediate's CRL is regenerated.
    Revoke(CertsRevokeArgs),
    /// Ask certificates to be renewed now (an incident): their ACME Renewal Information
    /// (RFC 9773) window moves into the past, explained by --note.
    RenewEarly(CertsRenewEarlyArgs),
}

/// Exactly one selection: which unexpired, unrevoked certificates to renew early.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("selection").required(true).multiple(false)))]
pub(crate) struct CertsRenewEarlyArgs {
    #[command(flatten)]
    pub(crate) admin: AdminArgs,
    /// One certificate, by serial (hex, colons allowed, case ignored).
    #[arg(long, group = "selection")]
    pub(crate) serial: Option<String>,
    /// Every certificate of this area (ACME directory).
    #[arg(long, group = "selection", value_name = "NAME")]
    pub(crate) area: Option<String>,
    /// Every certificate signed by this intermediate (its key id, as `basalt area show`
    /// prints it).
    #[arg(long, group = "selection", value_name = "KEYID")]
    pub(crate) intermediate: Option<String>,
    /// Every certificate with a DNS name equal to SUFFIX or below it (`example.com`:
    /// `example.com`, `www.example.com`, `*.example.com`).
    #[arg(long, group = "selection", value_name = "SUFFIX")]
    pub(crate) name_suffix: Option<String>,
    /// Why: the text clients' explanationURL shows.
    #[arg(long, value_name = "TEXT")]
    pub(crate) note: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum CertStatusArg {
    Valid,
    Revoked,
    Expired,
}

#[derive(Debug, Args)]
pub(crate) struct CertsListArgs {
    #[command(flatten)]
    pub(crate) admin: AdminArgs,
    /// Only certificates of this area (ACME directory).
    #[arg(long)]
    pub(crate) area: Option<String>,
    /// Only certificates ordered by this account id.
    #[arg(long, value_name = "ID")]
    pub(crate) account: Option<i64>,
    /// Only certificates containing exactly this name (DNS name, `*.` wildcard, or IP).
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Only certificates with this status now.
    #[arg(long, value_enum)]
    pub(crate) status: Option<CertStatusArg>,
    /// Only unrevoked certificates expiring within this time, e.g. 1h, 7days.
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse_flag)]
    pub(crate) expiring_within: Option<std::time::Duration>,
    /// At most this many (0: all).
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub(crate) limit: u64,
}

#[derive(Debug, Args)]
pub(crate) struct SerialArgs {
    #[command(flatten)]
    pub(crate) admin: AdminArgs,
    /// The serial number in hex (colons allowed, case ignored).
    pub(crate) serial: String,
}

#[derive(Debug, Args)]
pub(crate) struct CertsRevokeArgs {
    #[command(flatten)]
    pub(crate) serial: SerialArgs,
    /// RFC 5280 §5.3.1 reason: unspecified, keyCompromise, cACompromise,
    /// affiliationChanged, superseded, cessationOfOperation, privilegeWithdrawn, or its
    /// number.
    #[arg(long)]
    pub(crate) reason: String,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AccountsCommand {
    /// List accounts, newest first.
    List(AccountsListArgs),
    /// Show one account.
    Show(IdArgs),
    /// Deactivate an account (RFC 8555 §7.3.6): it can no longer sign requests; its
    /// pending authorizations and orders are cancelled. Its certificates stay valid.
    Deactivate(IdArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum AccountStatusArg {
    Valid,
    Deactivated,
    Revoked,
}

#[derive(Debug, Args)]
pub(crate) struct AccountsListArgs {
    #[command(flatten)]
    pub(crate) admin: AdminArgs,
    /// Only accounts of this area (ACME directory).
    #[arg(long)]
    pub(crate) area: Option<String>,
    /// Only accounts with this status.
    #[arg(long, value_enum)]
    pub(crate) status: Option<AccountStatusArg>,
    /// At most this many (0: all).
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub(crate) limit: u64,
}

#[derive(Debug, Args)]
pub(crate) struct IdArgs {
    #[command(flatten)]
    pub(crate) admin: AdminArgs,
    /// The id (the last segment of its ACME URL).
    pub(crate) id: i64,
}

#[derive(Debug, Subcommand)]
pub(crate) enum OrdersCommand {
    /// Show one order.
    Show(IdArgs),
}
