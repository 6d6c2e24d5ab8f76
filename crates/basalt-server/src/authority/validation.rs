//! Scheduling validations: the challenge POST only marks the challenge `processing` in the
//! database; a worker claims it by lease and runs the validator.
//!
//! The database is the queue: a job is a challenge in `processing`, owned by whoever holds
//! its lease. The replica that received the POST is told through a channel and claims the job
//! at once (no polling delay). A periodic sweep claims jobs nobody holds, or whose holder's
//! lease ran out (a replica that died mid-validation), so every job completes exactly once
//! somewhere.
//!
//! The challenge POST may wait a little for its own job ([`ValidationQueue::validate_now`]):
//! a validation on a healthy network takes milliseconds, so answering with the result saves
//! the client a poll and, for clients that honour `Retry-After`, a whole second.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, mpsc, oneshot};

use basalt_protocol::KeyAuthorization;
use basalt_storage::{Store, ValidationJob, ValidationResult};
use basalt_validation::{CaaPolicy, ValidationRequest, Validator};

use crate::clock::Clock;

/// How often the sweep looks for jobs nobody holds.
const SWEEP_INTERVAL: Duration = Duration::from_secs(2);

/// A job for the local worker: the challenge, and whom to tell when its result is stored.
struct Request {
    challenge_id: i64,
    done: Option<oneshot::Sender<()>>,
}

/// The handle handlers use to ask for a validation.
#[derive(Clone)]
pub struct ValidationQueue {
    sender: mpsc::UnboundedSender<Request>,
}

impl ValidationQueue {
    /// Asks the local worker to claim and run the job for this challenge now. If the worker
    /// is gone (shutting down), the sweep of this or another replica picks the job up.
    pub fn enqueue(&self, challenge_id: i64) {
        let _ = self.sender.send(Request {
            challenge_id,
            done: None,
        });
    }

    /// Like [`Self::enqueue`], then waits at most `max_wait` for the result to be stored.
    /// True if it was (read it from the database); false if the job is still running, ran
    /// out of workers, or was claimed elsewhere — the client polls as usual.
    pub async fn validate_now(&self, challenge_id: i64, max_wait: Duration) -> bool {
        let (done, stored) = oneshot::channel();
        let sent = self.sender.send(Request {
            challenge_id,
            done: Some(done),
        });
        sent.is_ok() && matches!(tokio::time::timeout(max_wait, stored).await, Ok(Ok(())))
    }
}

/// Settings of the worker.
#[derive(Clone)]
pub struct WorkerSettings {
    /// Identifies this process in `lease_holder`.
    pub holder: String,
    pub concurrency: usize,
    pub lease: Duration,
    pub valid_authorization_lifetime: Duration,
    /// The CAA identities of each directory that checks CAA (RFC 8659); a directory
    /// missing here does not check it.
    pub caa_identities: HashMap<String, Vec<String>>,
}

/// Runs validations claimed from the database.
pub struct ValidationWorker {
    store: Store,
    validator: Arc<Validator>,
    clock: Arc<dyn Clock>,
    settings: WorkerSettings,
    receiver: mpsc::UnboundedReceiver<Request>,
}

/// Creates the queue handle and the worker that serves it.
pub fn validation_channel(
    store: Store,
    validator: Arc<Validator>,
    clock: Arc<dyn Clock>,
    settings: WorkerSettings,
) -> (ValidationQueue, ValidationWorker) {
    let (sender, receiver) = mpsc::unbounded_channel();
    (
        ValidationQueue { sender },
        ValidationWorker {
            store,
            validator,
            clock,
            settings,
            receiver,
        },
    )
}

impl ValidationWorker {
    /// Runs until the queue handle is dropped and the process ends.
    pub async fn run(mut self) {
        let permits = Arc::new(Semaphore::new(self.settings.concurrency.max(1)));
        let mut sweep = tokio::time::interval(SWEEP_INTERVAL);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                received = self.receiver.recv() => {
                    let Some(Request { challenge_id, done }) = received else { break };
                    let Ok(permit) = permits.clone().acquire_owned().await else { break };
                    let job = self.store.claim_validation(challenge_id, &self.settings.holder, self.clock.now(), self.settings.lease).await;
                    match job {
                        Ok(Some(job)) => self.spawn(job, permit, done),
                        Ok(None) => {}
                        Err(e) => tracing::warn!(challenge.id = challenge_id, error = %e, "could not claim validation; the sweep will retry"),
                    }
                }
                _ = sweep.tick() => self.sweep(&permits).await,
            }
        }
    }

    async fn sweep(&self, permits: &Arc<Semaphore>) {
        let free = permits.available_permits() as u64;
        if free == 0 {
            return;
        }
        let jobs = self
            .store
            .claim_validation_jobs(
                &self.settings.holder,
                self.clock.now(),
                self.settings.lease,
                free,
            )
            .await;
        match jobs {
            Ok(jobs) => {
                for job in jobs {
                    let Ok(permit) = permits.clone().acquire_owned().await else {
                        return;
                    };
                    self.spawn(job, permit, None);
                }
            }
            Err(e) => tracing::warn!(error = %e, "validation sweep failed"),
        }
    }

    /// Runs `job`; `done` hears when its result is stored (dropped unheard if it is not).
    fn spawn(
        &self,
        job: ValidationJob,
        permit: tokio::sync::OwnedSemaphorePermit,
        done: Option<oneshot::Sender<()>>,
    ) {
        let store = self.store.clone();
        let validator = self.validator.clone();
        let clock = self.clock.clone();
        let valid_for = self.settings.valid_authorization_lifetime;
        let caa = caa_policy(&self.settings.caa_identities, &job);
        tokio::spawn(async move {
            let stored = run_job(&store, &validator, clock.as_ref(), valid_for, caa, job).await;
            drop(permit);
            if let (true, Some(done)) = (stored, done) {
                let _ = done.send(());
            }
        });
    }
}

/// The CAA policy for a job: its directory's identities, and the account URL the client
/// used when it asked for validation (RFC 8657 `accounturi`).
fn caa_policy(identities: &HashMap<String, Vec<String>>, job: &ValidationJob) -> Option<CaaPolicy> {
    identities.get(&job.directory).map(|identities| CaaPolicy {
        identities: identities.clone(),
        account_uri: job.account_uri.clone().unwrap_or_default(),
    })
}

/// Validates and stores the result; true if it was stored.
async fn run_job(
    store: &Store,
    validator: &Validator,
    clock: &dyn Clock,
    valid_for: Duration,
    caa: Option<CaaPolicy>,
    job: ValidationJob,
) -> bool {
    let started = Instant::now();
    let request = ValidationRequest {
        identifier: job.identifier.clone(),
        challenge_type: job.challenge_type,
        token: job.token.clone(),
        key_authorization: KeyAuthorization::new(&job.token, &job.account_key_thumbprint),
        wildcard: job.wildcard,
        caa,
    };
    let outcome = validator.validate(&request).await;
    let result = match &outcome.problem {
        None => ValidationResult::Valid,
        Some(problem) => ValidationResult::Invalid(problem.clone()),
    };
    let record = serde_json::to_string(&outcome.records).ok();
    let now = clock.now();
    if let Err(e) = store
        .record_validation(
            job.challenge_id,
            &result,
            record.as_deref(),
            now,
            now + valid_for,
        )
        .await
    {
        // The lease runs out and the job is validated again, here or on another replica.
        tracing::error!(challenge.id = job.challenge_id, error = %e, "could not record validation result");
        return false;
    }
    tracing::info!(
        authz.id = job.authorization_id,
        challenge.id = job.challenge_id,
        challenge.type = job.challenge_type.as_str(),
        identifier = %job.identifier.value,
        result = if outcome.problem.is_none() { "valid" } else { "invalid" },
        problem.type = outcome.problem.as_ref().map(|p| p.problem_type.name()),
        problem.detail = outcome.problem.as_ref().map(|p| p.detail.as_str()),
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        "validation"
    );
    true
}
