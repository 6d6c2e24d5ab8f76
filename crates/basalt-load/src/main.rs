//! `basalt-load`: parses the options, runs the load, prints the JSON report.
//!
//! Exit status: 0 if every order succeeded, 1 if any failed, 2 if setup failed.

use std::process::ExitCode;

use basalt_load::{Options, run};
use clap::Parser as _;

fn main() -> ExitCode {
    let options = Options::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("basalt-load: cannot start the async runtime: {error}");
            return ExitCode::from(2);
        }
    };
    let report = match runtime.block_on(run(&options)) {
        Ok(report) => report,
        Err(error) => {
            eprintln!("basalt-load: setup failed: {error}");
            return ExitCode::from(2);
        }
    };
    // The responder's tasks are still running; they end with the runtime.
    runtime.shutdown_background();

    let json = match serde_json::to_string_pretty(&report) {
        Ok(json) => json,
        Err(error) => {
            eprintln!("basalt-load: cannot render the report: {error}");
            return ExitCode::from(2);
        }
    };
    println!("{json}");
    if let Some(path) = &options.output
        && let Err(error) = std::fs::write(path, format!("{json}\n"))
    {
        eprintln!("basalt-load: cannot write {}: {error}", path.display());
        return ExitCode::from(2);
    }
    if report.all_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
