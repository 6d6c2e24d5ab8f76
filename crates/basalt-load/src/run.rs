//! The run: responder, directory and accounts first, then the timed load, then the report.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::counters::Counters;
use crate::error::Error;
use crate::http_client::{Trust, build_http_client};
use crate::options::Options;
use crate::order_flow::OrderContext;
use crate::plan::Plan;
use crate::report::Report;
use crate::responder::start_responder;
use crate::session::{AcmeServer, fetch_directory};
use crate::worker::{FailureLog, WorkerOutcome, WorkerSettings, run_worker};

/// Directory fetch and account creation must finish within this, or the run fails setup.
const SETUP_LIMIT: Duration = Duration::from_secs(120);

/// Runs the load described by `options`. `Err` means setup failed and no load ran; order
/// failures are in the report.
pub async fn run(options: &Options) -> Result<Report, Error> {
    check(options)?;
    let trust = match &options.ca_bundle {
        Some(path) => Trust::CaBundle(path),
        None => Trust::Insecure,
    };
    let http = build_http_client(trust, options.http2)?;
    let key_authorizations = start_responder(options.http_port, options.http01_delay()).await?;
    let counters = Arc::new(Counters::default());

    let setup = async {
        let directory = fetch_directory(&http, &counters, &options.directory).await?;
        let server = Arc::new(AcmeServer {
            http: http.clone(),
            directory,
            counters: Arc::clone(&counters),
        });
        crate::setup::create_accounts(server, options.concurrency).await
    };
    let sessions = tokio::time::timeout(SETUP_LIMIT, setup)
        .await
        .map_err(|_| {
            Error::Usage(format!(
                "setup (directory and {} accounts) did not finish within {} s",
                options.concurrency,
                SETUP_LIMIT.as_secs()
            ))
        })??;
    counters.reset();

    let start = Instant::now();
    let plan = match (options.orders, options.duration) {
        (Some(count), _) => Plan::orders(count, start, Duration::from_secs(options.timeout)),
        (None, Some(seconds)) => Plan::duration(Duration::from_secs(seconds), start),
        (None, None) => return Err(Error::Usage("give --orders or --duration".into())),
    };
    let plan = Arc::new(plan);
    let failures = Arc::new(FailureLog::default());
    let setup_lock = Arc::new(tokio::sync::Mutex::new(()));

    let mut workers = Vec::with_capacity(sessions.len());
    for (index, session) in (0u32..).zip(sessions) {
        let plan = Arc::clone(&plan);
        let failures = Arc::clone(&failures);
        let key_authorizations = key_authorizations.clone();
        let setup_lock = Arc::clone(&setup_lock);
        let options = options.clone();
        workers.push(tokio::spawn(async move {
            let settings = WorkerSettings {
                index,
                names_per_order: options.names_per_order,
                domain_suffix: &options.domain_suffix,
                plan: &plan,
                failures: &failures,
                order: OrderContext {
                    key_authorizations: &key_authorizations,
                    retry_after_cap: options.retry_after_cap(),
                    setup_lock: options.serialize_order_setup.then_some(&*setup_lock),
                },
            };
            run_worker(session, settings).await
        }));
    }

    let mut latencies = Vec::new();
    let mut failed = 0;
    for worker in workers {
        let outcome: WorkerOutcome = worker
            .await
            .map_err(|e| Error::Internal(format!("a worker task failed: {e}")))?;
        latencies.extend(outcome.latencies);
        failed += outcome.failed;
    }
    let wall = start.elapsed();

    let failures = Arc::try_unwrap(failures)
        .map(FailureLog::into_reasons)
        .unwrap_or_default();
    Ok(Report::new(
        latencies,
        failed,
        failures,
        wall,
        &counters,
        options.concurrency,
        options.names_per_order,
    ))
}

/// What clap cannot express.
fn check(options: &Options) -> Result<(), Error> {
    let suffix = options.domain_suffix.trim_matches('.');
    if suffix.is_empty() || suffix.contains(char::is_whitespace) {
        return Err(Error::Usage(format!(
            "--domain-suffix {:?} is not a DNS name",
            options.domain_suffix
        )));
    }
    if !options.directory.starts_with("https://") && !options.directory.starts_with("http://") {
        return Err(Error::Usage(format!(
            "--directory {:?} is not an http(s) URL",
            options.directory
        )));
    }
    Ok(())
}
