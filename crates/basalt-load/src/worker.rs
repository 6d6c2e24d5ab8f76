//! A worker: one account, one order at a time, until the plan says stop.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use ring::rand::SystemRandom;
use tokio::time::Instant;

use crate::error::Error;
use crate::names::random_names;
use crate::order_flow::{OrderContext, Progress, complete_order};
use crate::plan::Plan;
use crate::session::Session;

/// The report keeps this many failure reasons; the count covers them all.
const KEPT_FAILURE_REASONS: usize = 20;

/// What a worker hands back.
#[derive(Debug, Default)]
pub(crate) struct WorkerOutcome {
    /// Newest-order-to-chain-downloaded time of each order that succeeded.
    pub(crate) latencies: Vec<Duration>,
    pub(crate) failed: u64,
}

/// The first failure reasons of the whole run, in the order they happened.
#[derive(Debug, Default)]
pub(crate) struct FailureLog(Mutex<Vec<String>>);

impl FailureLog {
    fn record(&self, reason: String) {
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if kept.len() < KEPT_FAILURE_REASONS {
            kept.push(reason);
        }
    }

    pub(crate) fn into_reasons(self) -> Vec<String> {
        self.0.into_inner().unwrap_or_else(PoisonError::into_inner)
    }
}

pub(crate) struct WorkerSettings<'a> {
    pub(crate) index: u32,
    pub(crate) names_per_order: u32,
    pub(crate) domain_suffix: &'a str,
    pub(crate) plan: &'a Plan,
    pub(crate) failures: &'a FailureLog,
    pub(crate) order: OrderContext<'a>,
}

pub(crate) async fn run_worker(
    mut session: Session,
    settings: WorkerSettings<'_>,
) -> WorkerOutcome {
    let rng = SystemRandom::new();
    let mut outcome = WorkerOutcome::default();
    while settings.plan.may_start() {
        let result = match random_names(
            &rng,
            settings.index,
            settings.domain_suffix,
            settings.names_per_order,
        ) {
            Ok(names) => {
                let started = Instant::now();
                let progress = Progress::default();
                let order = complete_order(&mut session, &names, &settings.order, &progress);
                match tokio::time::timeout_at(settings.plan.hard_deadline(), order).await {
                    Ok(Ok(())) => Ok(started.elapsed()),
                    Ok(Err(error)) => Err(error),
                    Err(_elapsed) => Err(Error::Deadline {
                        step: progress.step(),
                    }),
                }
            }
            Err(error) => Err(error),
        };
        match result {
            Ok(latency) => outcome.latencies.push(latency),
            Err(error) => {
                outcome.failed += 1;
                let at_deadline = matches!(error, Error::Deadline { .. });
                settings
                    .failures
                    .record(format!("worker {}: {error}", settings.index));
                if at_deadline {
                    break;
                }
            }
        }
    }
    outcome
}
