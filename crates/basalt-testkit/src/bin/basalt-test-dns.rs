//! `basalt-test-dns`: the test DNS server as a process, for scripts and manual runs; records
//! are changed through the HTTP control API.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::{Context, bail};
use basalt_testkit::dns::{TestDns, serve_control};
use clap::Parser;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

/// A programmable DNS server for basalt tests (loopback only).
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Address for DNS over UDP and TCP (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8053")]
    listen: SocketAddr,
    /// Address for the HTTP control API.
    #[arg(long, default_value = "127.0.0.1:8055")]
    control: SocketAddr,
}

/// Errors go out as one line (`{:#}` joins the causes), without the backtrace that anyhow's
/// default report would add when RUST_BACKTRACE is set: scripts show this line to people.
#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("basalt-test-dns: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();

    // The control API can rewrite any answer, so it must never be reachable from elsewhere;
    // the DNS side is held to the same rule so a test server never answers real clients.
    for (what, addr) in [("--listen", args.listen), ("--control", args.control)] {
        if !addr.ip().is_loopback() {
            bail!(
                "{what} {addr} is not a loopback address; basalt-test-dns only listens on loopback"
            );
        }
    }

    // A taken port is an error, never a fallback: the caller configured that port elsewhere.
    let dns = TestDns::start(args.listen)
        .await
        .with_context(|| format!("cannot listen for DNS on {} (udp+tcp)", args.listen))?;
    let control = TcpListener::bind(args.control)
        .await
        .with_context(|| format!("cannot listen for the control API on {}", args.control))?;
    let control_addr = control.local_addr()?;

    println!(
        "basalt-test-dns: DNS on {} (udp+tcp), control on http://{control_addr}",
        dns.addr()
    );

    tokio::select! {
        result = serve_control(control, dns.records()) => {
            result.context("control API failed")?;
        }
        signal = shutdown_signal() => {
            signal.context("cannot listen for shutdown signals")?;
            tracing::info!("shutting down");
        }
    }
    dns.shutdown().await;
    Ok(())
}

/// Resolves on SIGINT or SIGTERM (what `kill` and process supervisors send).
async fn shutdown_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
