//! `basalt-test-proxy`: a round-robin TCP proxy in front of several basalt replicas, for
//! the scale-out tests (`conformance-tests/scale-out`). Loopback only.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::{Context, bail};
use basalt_testkit::proxy::{run_proxy, stats_for};
use clap::Parser;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tracing_subscriber::EnvFilter;

/// Spreads TCP connections over the backends in turn, skipping any that refuse.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Address to accept connections on.
    #[arg(long)]
    listen: SocketAddr,
    /// A backend address; repeat for each replica.
    #[arg(long = "backend", required = true)]
    backends: Vec<SocketAddr>,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("basalt-test-proxy: error: {error:#}");
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
    for addr in std::iter::once(&args.listen).chain(&args.backends) {
        if !addr.ip().is_loopback() {
            bail!("{addr} is not a loopback address; basalt-test-proxy only works on loopback");
        }
    }
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    println!("basalt-test-proxy: {} -> {:?}", args.listen, args.backends);
    let stats = stats_for(args.backends.len());
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::select! {
        () = run_proxy(listener, args.backends.clone(), stats.clone()) => {}
        _ = terminate.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    // The scale-out test reads this line to see that every replica got connections.
    println!(
        "basalt-test-proxy: connections per backend {:?}, refused {}",
        stats.connections(),
        stats.refused()
    );
    Ok(())
}
