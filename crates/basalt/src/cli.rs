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
}

#[derive(Debug, Args)]
pub(crate) struct DataArgs {
    /// The data directory.
    #[arg(long, env = "BASALT_DATA", default_value = "./basalt-data")]
    pub(crate) data: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    #[command(flatten)]
    pub(crate) data: DataArgs,
    /// File holding the passphrase that encrypts the root key; without it a passphrase is
    /// generated and written beside the key in DATA/offline/.
    #[arg(long)]
    pub(crate) root_password_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    pub(crate) init: InitArgs,
    /// Configuration file (default: DATA/basalt.toml).
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
    /// HTTPS listen address (server.listen).
    #[arg(long)]
    pub(crate) listen: Option<SocketAddr>,
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
#[derive(Debug, Args)]
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

#[derive(Debug, Subcommand)]
pub(crate) enum CertsCommand {
    /// List certificates, newest first.
    List(CertsListArgs),
    /// Show one certificate.
    Show(SerialArgs),
    /// Revoke a certificate; its intermediate's CRL is regenerated.
    Revoke(CertsRevokeArgs),
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
