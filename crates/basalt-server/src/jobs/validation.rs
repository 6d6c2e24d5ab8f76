//! Scheduling validations: the challenge POST marks the challenge `processing` in the
//! database, claimed by this replica's lease, and hands the job to the local worker.
//!
//! The database is the queue: a job is a challenge in `processing`, owned by whoever holds
//! its lease. The replica that received the POST claims the job in the same statement that
//! starts it and runs it at once (no polling delay, no statement to read the job back). A
//! periodic sweep claims jobs nobody holds, or whose holder's lease ran out (a replica that
//! died mid-validation), so every job completes exactly once somewhere.
//!
//! The challenge POST may wait a little for its own job ([`ValidationQueue::start`]):
//! a validation on a healthy network takes milliseconds, so answering with the result saves
//! the client a poll and, for clients that honour `Retry-After`, a whole second.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, mpsc, oneshot};

use basalt_protocol::KeyAuthorization;
use basalt_storage::{Store, ValidationJob, ValidationResult};
use basalt_validation::{CaaPolicy, EgressPolicy, ValidationRequest, Validator};
use time::OffsetDateTime;

use crate::clock::Clock;

/// How often the sweep looks for jobs nobody holds.
const SWEEP_INTERVAL: Duration = Duration::from_secs(2);

/// A job for the local worker, already claimed by this replica, and whom to tell what was
/// stored.
struct Request {
    job: ValidationJob,
    done: Option<oneshot::Sender<StoredResult>>,
}

/// The result of a validation as [`Store::record_validation`] stored it, so the challenge
/// POST can answer with it without reading it back.
#[derive(Debug, Clone)]
pub struct StoredResult {
    pub result: ValidationResult,
    /// What was checked (JSON), as stored in `validation_record`.
    pub validation_record: Option<String>,
    /// When it was recorded, in whole seconds as stored.
    pub at: OffsetDateTime,
}

/// What became of a client's request to validate a challenge.
#[derive(Debug, Clone)]
pub enum Started {
    /// The challenge was not pending, or its authorization no longer was (another request
    /// got there first, or it expired): nothing was started.
    NotStarted,
    /// Started and claimed here; no result within the wait (the client polls).
    Running,
    /// Started here, and its result is stored.
    Finished(StoredResult),
}

/// The handle handlers use to start validations.
#[derive(Clone)]
pub struct ValidationQueue {
    sender: mpsc::UnboundedSender<Request>,
    holder: Arc<str>,
    lease: Duration,
}

impl ValidationQueue {
    /// Starts validating a challenge the client answered (RFC 8555 §7.5.1): one statement
    /// moves it to `processing` and claims it for this replica, the local worker runs `job`
    /// at once (no polling delay, no statement to read the job back), and this waits at
    /// most `max_wait` for the stored result. If the worker cannot run it (shutting down),
    /// the lease runs out and a sweep, here or on another replica, validates it.
    pub async fn start(
        &self,
        store: &Store,
        job: ValidationJob,
        now: OffsetDateTime,
        max_wait: Duration,
    ) -> Result<Started, basalt_storage::Error> {
        let account_uri = job.account_uri.clone().unwrap_or_default();
        let started = store
            .start_validation(
                job.challenge_id,
                &account_uri,
                &self.holder,
                now,
                self.lease,
            )
            .await?;
        if !started {
            return Ok(Started::NotStarted);
        }
        let (done, stored) = oneshot::channel();
        if self
            .sender
            .send(Request {
                job,
                done: Some(done),
            })
            .is_err()
        {
            return Ok(Started::Running);
        }
        Ok(match tokio::time::timeout(max_wait, stored).await {
            Ok(Ok(result)) => Started::Finished(result),
            _ => Started::Running,
        })
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
    /// The egress policy of each directory that has its own; the others use the
    /// validator's.
    pub egress: HashMap<String, EgressPolicy>,
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
        ValidationQueue {
            sender,
            holder: settings.holder.as_str().into(),
            lease: settings.lease,
        },
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
                    let Some(Request { job, done }) = received else { break };
                    let Ok(permit) = permits.clone().acquire_owned().await else { break };
                    self.spawn(job, permit, done);
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

    /// Runs `job`; `done` hears what was stored (dropped unheard if nothing was).
    fn spawn(
        &self,
        job: ValidationJob,
        permit: tokio::sync::OwnedSemaphorePermit,
        done: Option<oneshot::Sender<StoredResult>>,
    ) {
        let store = self.store.clone();
        let validator = self.validator.clone();
        let clock = self.clock.clone();
        let valid_for = self.settings.valid_authorization_lifetime;
        let caa = caa_policy(&self.settings.caa_identities, &job);
        let egress = self.settings.egress.get(&job.directory).cloned();
        tokio::spawn(async move {
            let stored = run_job(
                &store,
                &validator,
                clock.as_ref(),
                valid_for,
                caa,
                egress,
                job,
            )
            .await;
            drop(permit);
            if let (Some(stored), Some(done)) = (stored, done) {
                let _ = done.send(stored);
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

/// Validates and stores the result; what was stored, if it was.
async fn run_job(
    store: &Store,
    validator: &Validator,
    clock: &dyn Clock,
    valid_for: Duration,
    caa: Option<CaaPolicy>,
    egress: Option<EgressPolicy>,
    job: ValidationJob,
) -> Option<StoredResult> {
    let started = Instant::now();
    let request = ValidationRequest {
        identifier: job.identifier.clone(),
        challenge_type: job.challenge_type,
        token: job.token.clone(),
        key_authorization: KeyAuthorization::new(&job.token, &job.account_key_thumbprint),
        wildcard: job.wildcard,
        caa,
        egress,
    };
    let outcome = validator.validate(&request).await;
    let result = match &outcome.problem {
        None => ValidationResult::Valid,
        Some(problem) => ValidationResult::Invalid(problem.clone()),
    };
    let record = serde_json::to_string(&outcome.records).ok();
    // Whole seconds, as the database keeps it, so the answer matches later reads.
    let now = clock.now();
    let now = now.replace_nanosecond(0).unwrap_or(now);
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
        return None;
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
    Some(StoredResult {
        result,
        validation_record: record,
        at: now,
    })
}
