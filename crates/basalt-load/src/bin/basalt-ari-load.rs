//! `basalt-ari-load`: GETs one renewalInfo URL (RFC 9773 §4.1) over C keep-alive
//! connections for a fixed time and prints a JSON report with GETs per second
//! (benches/ari.sh). Exit status: 0 if every GET succeeded, 1 if any failed, 2 if setup
//! failed.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use basalt_load::{RenewalInfoLoad, run_renewal_info};
use clap::Parser;

/// Load on the renewalInfo resource.
#[derive(Debug, Parser)]
#[command(name = "basalt-ari-load", version)]
struct Args {
    /// The renewalInfo URL of one certificate: `<directory renewalInfo>/<CertID>`.
    #[arg(long)]
    url: String,
    /// PEM file of the certificates that may anchor the server's HTTPS certificate.
    #[arg(long, value_name = "PEM")]
    ca_bundle: PathBuf,
    /// Keep-alive connections, one request in flight on each.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    connections: u32,
    /// Seconds to send requests for.
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    duration: u64,
    /// Negotiate HTTP/2 (ALPN); HTTP/1.1 keep-alive otherwise.
    #[arg(long)]
    http2: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let load = RenewalInfoLoad {
        url: args.url,
        ca_bundle: args.ca_bundle,
        connections: args.connections,
        duration: Duration::from_secs(args.duration),
        http2: args.http2,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("basalt-ari-load: cannot start the async runtime: {error}");
            return ExitCode::from(2);
        }
    };
    let report = match runtime.block_on(run_renewal_info(&load)) {
        Ok(report) => report,
        Err(error) => {
            eprintln!("basalt-ari-load: setup failed: {error}");
            return ExitCode::from(2);
        }
    };
    match serde_json::to_string_pretty(&report) {
        Ok(json) => println!("{json}"),
        Err(error) => {
            eprintln!("basalt-ari-load: cannot render the report: {error}");
            return ExitCode::from(2);
        }
    }
    if report.errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
