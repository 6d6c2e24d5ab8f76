//! The command line: what to load, how hard, and for how long.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgGroup, Parser};

/// An ACME (RFC 8555) load generator: every worker loops newOrder → http-01 → finalize →
/// certificate download and the run ends with one JSON report.
#[derive(Debug, Clone, Parser)]
#[command(name = "basalt-load", version)]
#[command(group(ArgGroup::new("limit").required(true).args(["orders", "duration"])))]
#[command(group(ArgGroup::new("trust").required(true).args(["ca_bundle", "insecure"])))]
pub struct Options {
    /// The ACME directory URL, e.g. https://127.0.0.1:14000/acme/default/directory.
    #[arg(long)]
    pub directory: String,
    /// PEM file of the certificates that may anchor the ACME server's HTTPS certificate.
    #[arg(long, value_name = "PEM")]
    pub ca_bundle: Option<PathBuf>,
    /// Accept any HTTPS certificate from the ACME server (handshake signatures are still
    /// checked). Only for servers whose trust anchor is not at hand.
    #[arg(long)]
    pub insecure: bool,
    /// Number of workers, each with its own account, each running one order at a time.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub concurrency: u32,
    /// Start this many orders in total, then stop.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub orders: Option<u64>,
    /// Start new orders for this many seconds, then stop (in-flight orders get 60 s more).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub duration: Option<u64>,
    /// With --orders: the load ends this many seconds after the first order, finished or
    /// not (unfinished orders count as failed).
    #[arg(long, value_name = "SECS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
    /// DNS identifiers per order.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub names_per_order: u32,
    /// Port of the http-01 responder this tool runs on 127.0.0.1 and [::1]; it must be the
    /// port the CA's validator connects to.
    #[arg(long, default_value_t = 5002)]
    pub http_port: u16,
    /// Names are `l<worker>-<random>.load.<suffix>`; the CA's resolver must answer for them.
    #[arg(long, default_value = "test")]
    pub domain_suffix: String,
    /// Delay every http-01 answer by this many milliseconds, to keep validations in flight
    /// (failover tests).
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub http01_delay_ms: u64,
    /// Longest wait taken from a `Retry-After` on a pending or processing order; 0 ignores
    /// Retry-After and polls on the short backoff only (10 ms doubling to 250 ms).
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub retry_after_cap_ms: u64,
    /// Negotiate HTTP/2 with the ACME server (ALPN); HTTP/1.1 keep-alive otherwise.
    #[arg(long)]
    pub http2: bool,
    /// Run newOrder and the authorization fetches of one order at a time across all workers
    /// (Pebble 2.4 can deadlock when many run at once).
    #[arg(long)]
    pub serialize_order_setup: bool,
    /// Also write the JSON report to this file (it always goes to stdout).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

impl Options {
    pub(crate) fn http01_delay(&self) -> Duration {
        Duration::from_millis(self.http01_delay_ms)
    }

    pub(crate) fn retry_after_cap(&self) -> Duration {
        Duration::from_millis(self.retry_after_cap_ms)
    }
}
