//! The `basalt` binary: parses the command line, sets up logging and the crypto provider,
//! and runs a subcommand. The only crate that reads flags, files and environment variables.

mod areas;
mod cli;
mod commands;
mod config;
mod duration;
mod keys;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command, LogFormat};

/// mimalloc instead of glibc's malloc. Under load a request's memory is allocated on tokio's
/// threads and sqlx's SQLite threads and often freed on the other kind, which glibc serves
/// slowly (malloc and free were about 8 % of basalt's CPU). In alternating A/B runs at C=32
/// mimalloc gave 1–17 % more certificates per second (BENCHMARKS.md). Built without
/// transparent huge pages (`no_thp`): with them idle RSS grew from 24 to 36 MiB.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    // One crypto provider for every rustls user in the process: with none installed, reqwest
    // (rustls-no-provider) panics at its first request.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let result = match &cli.command {
        Command::Init(args) => commands::init::run(args),
        Command::Root(args) => commands::root::run(args),
        Command::Certs(command) => block_on(commands::admin::certs::run(command)),
        Command::Accounts(command) => block_on(commands::admin::accounts::run(command)),
        Command::Orders(command) => block_on(commands::admin::orders::run(command)),
        Command::Serve(args) => block_on(commands::serve::run(args)),
        Command::Area(command) => block_on(commands::area::run(command)),
        Command::Eab(command) => block_on(commands::eab::run(command)),
        Command::Config(command) => commands::config::run(command),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("basalt: error: {e:#}");
            exit_code(&e)
        }
    }
}

/// `EX_CONFIG` (sysexits.h): a configuration that trying again would make worse. The systemd
/// unit does not restart on it (`RestartPreventExitStatus=78`).
const EX_CONFIG: u8 = 78;

/// 1 for any failure, except a PIN the token refused: each start would offer it again, and
/// tokens lock their PIN after a few wrong tries, so a supervisor must not restart on it.
fn exit_code(error: &anyhow::Error) -> std::process::ExitCode {
    let pin_refused = error.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<basalt_signer::Error>(),
            Some(basalt_signer::Error::PinRefused { .. })
        )
    });
    if pin_refused {
        std::process::ExitCode::from(EX_CONFIG)
    } else {
        std::process::ExitCode::FAILURE
    }
}

/// Runs an async command on a multi-threaded tokio runtime.
fn block_on(command: impl Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(command)
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        // cryptoki logs an ERROR for every session it cannot close, which is each pooled
        // session after a token outage (basalt restarts the module and reconnects; the
        // signer logs the outage itself).
        .unwrap_or_else(|_| {
            EnvFilter::new("info,sqlx=warn,sea_orm=warn,hickory=warn,cryptoki=off")
        });
    // Colour only on a terminal: under systemd, in a container or into a file, escape codes
    // would end up in the journal or the log collector. NO_COLOR (no-color.org) turns it off
    // on a terminal too.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Pretty => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
