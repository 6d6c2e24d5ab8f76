//! `instant-acme-client`: the instant-acme crate (0.8, crates.io) as a conformance client. It
//! is the client of the registries we reach that speaks ARI (RFC 9773) and profiles
//! (draft-ietf-acme-profiles), so the renewal and profiles suites drive basalt with it.
//!
//! Usage: `instant-acme-client SCENARIO --directory URL --root ROOT.pem [--http-port 5002]
//! [--name NAME ...]`. Each scenario prints one `PASS name` or `FAIL name: why` line per
//! check, like the shell suites, and the exit status is non-zero if any check failed.

mod ari;
mod common;
mod profiles;

use common::{Options, Report};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(e) => {
            eprintln!("instant-acme-client: {e:#}\n{}", Options::USAGE);
            return std::process::ExitCode::from(2);
        }
    };
    let mut report = Report::default();
    let outcome = match options.scenario.as_str() {
        "ari" => ari::run(&options, &mut report).await,
        "profiles" => profiles::run(&options, &mut report).await,
        other => Err(anyhow::anyhow!("unknown scenario {other:?}")),
    };
    if let Err(e) = outcome {
        report.fail(&options.scenario, &format!("{e:#}"));
    }
    report.exit_code()
}
