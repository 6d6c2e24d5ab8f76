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
