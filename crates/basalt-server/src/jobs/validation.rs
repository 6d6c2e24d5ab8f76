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
//!
//! The work this process takes on is bounded (issue 12: names that black-hole cost up to
//! the attempt timeout each, and an unbounded queue let one account starve the others): at
//! most `total` jobs wait or run here at once, and at most `per_account` of one account. A
//! challenge POST takes its place ([`Slot`]) before anything is written, so a POST over
//! either bound changes nothing and is answered `rateLimited`; the sweep claims only as many
//! jobs as there are free places. The bound is per process, like `concurrency`: each
//! replica protects its own worker.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, mpsc, oneshot};
use tracing::Instrument as _;

use basalt_protocol::KeyAuthorization;
use basalt_storage::{ChallengeRecord, Store, ValidationJob, ValidationResult};
use basalt_validation::{CaaPolicy, EgressPolicy, ValidationRequest, Validator};
use time::OffsetDateTime;

use crate::areas::AreaHandle;
use crate::clock::Clock;
use crate::config::{DirectoryConfig, ValidationQueueLimits};

/// How often the sweep looks for jobs nobody holds.
const SWEEP_INTERVAL: Duration = Duration::from_secs(2);

/// A job for the local worker, already claimed by this replica, and whom to tell what was
/// stored.
struct Request {
    job: ValidationJob,
    done: Option<oneshot::Sender<ChallengeRecord>>,
    slot: Slot,
    /// The span of the request that started the job, so its log lines carry the request id.
    span: tracing::Span,
}

/// What became of a client's request to validate a challenge.
#[derive(Debug, Clone)]
pub(crate) enum Started {
    /// The challenge was not pending, or its authorization no longer was (another request
    /// got there first, or it expired): nothing was started.
    Skipped,
    /// Started and claimed here; no result within the wait (the client polls).
    Running,
    /// Started here, and its result is stored: the challenge as
    /// [`Store::record_validation`] wrote it.
    Finished(Box<ChallengeRecord>),
}

/// Seconds a client whose challenge POST found the queue full should wait before answering
/// the challenge again: places free as validations finish, each within the attempt timeout
/// (10 s by default).
pub(crate) const QUEUE_FULL_RETRY_AFTER_SECS: u64 = 10;

/// Which bound a challenge POST found reached; nothing was started or stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QueueFull {
    /// `limit` validations of this account are waiting or running here.
    Account { limit: usize },
    /// `limit` validations are waiting or running here.
    Total { limit: usize },
}

/// Why [`ValidationQueue::start`] did not start a validation it was asked to.
#[derive(Debug)]
pub(crate) enum ValidationStartError {
    /// The queue is full; the challenge is unchanged.
    Full(QueueFull),
    /// Storage failed.
    Storage(basalt_storage::Error),
}

impl From<basalt_storage::Error> for ValidationStartError {
    fn from(e: basalt_storage::Error) -> Self {
        Self::Storage(e)
    }
}

/// The handle handlers use to start validations.
#[derive(Clone)]
pub(crate) struct ValidationQueue {
    sender: mpsc::UnboundedSender<Request>,
    holder: Arc<str>,
    lease: Duration,
    slots: QueueSlots,
}

/// How many validations wait or run in this process, in all and per account.
#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_account: HashMap<i64, usize>,
}

/// The places of the bounded queue, shared by the queue handle and the worker.
#[derive(Clone)]
struct QueueSlots {
    counts: Arc<Mutex<Counts>>,
    limits: ValidationQueueLimits,
}

/// One place in the queue, held from before the job is started in the database until its
/// result is recorded (or it is given up); dropping it frees the place.
struct Slot {
    counts: Arc<Mutex<Counts>>,
    account: Option<i64>,
}

impl QueueSlots {
    fn new(limits: ValidationQueueLimits) -> Self {
        Self {
            counts: Arc::default(),
            limits,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A place for one more validation of `account`, checked and taken under one lock so
    /// concurrent POSTs cannot both take the last one.
    fn try_reserve(&self, account: i64) -> Result<Slot, QueueFull> {
        let mut counts = self.lock();
        let of_account = counts.per_account.get(&account).copied().unwrap_or(0);
        if of_account >= self.limits.per_account {
            return Err(QueueFull::Account {
                limit: self.limits.per_account,
            });
        }
        if counts.total >= self.limits.total {
            return Err(QueueFull::Total {
                limit: self.limits.total,
            });
        }
        counts.total += 1;
        counts.per_account.insert(account, of_account + 1);
        Ok(Slot {
            counts: self.counts.clone(),
            account: Some(account),
        })
    }

    /// Up to `wanted` places for jobs the sweep has yet to claim (their accounts are known
    /// only once claimed; see [`Slot::attribute`]).
    fn reserve_free(&self, wanted: usize) -> Vec<Slot> {
        let mut counts = self.lock();
        let n = wanted.min(self.limits.total.saturating_sub(counts.total));
        counts.total += n;
        (0..n)
            .map(|_| Slot {
                counts: self.counts.clone(),
                account: None,
            })
            .collect()
    }
}

impl Slot {
    /// Counts a swept job against its account too. It may take the account over its share:
    /// the job is already in the database (a POST admitted it, here or on a replica that
    /// died), so it is run rather than left; the account's new POSTs wait until it is done.
    fn attribute(&mut self, account: i64) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        *counts.per_account.entry(account).or_insert(0) += 1;
        self.account = Some(account);
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts.total = counts.total.saturating_sub(1);
        if let Some(account) = self.account
            && let Some(n) = counts.per_account.get_mut(&account)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.per_account.remove(&account);
            }
        }
    }
}

impl ValidationQueue {
    /// Starts validating a challenge the client answered (RFC 8555 §7.5.1): one statement
    /// moves it to `processing` and claims it for this replica, the local worker runs `job`
    /// at once (no polling delay, no statement to read the job back), and this waits at
    /// most `max_wait` for the stored result. If the worker cannot run it (shutting down),
    /// the lease runs out and a sweep, here or on another replica, validates it.
    ///
    /// A place in the bounded queue is taken first: when there is none, nothing is written
    /// and the answer is [`ValidationStartError::Full`] (the challenge stays `pending`).
    pub(crate) async fn start(
        &self,
        store: &Store,
        job: ValidationJob,
        now: OffsetDateTime,
        max_wait: Duration,
    ) -> Result<Started, ValidationStartError> {
        let slot = self
            .slots
            .try_reserve(job.account_id)
            .map_err(ValidationStartError::Full)?;
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
            return Ok(Started::Skipped);
        }
        let (done, stored) = oneshot::channel();
        if self
            .sender
            .send(Request {
                span: tracing::Span::current(),
                job,
                done: Some(done),
                slot,
            })
            .is_err()
        {
            return Ok(Started::Running);
        }
        Ok(match tokio::time::timeout(max_wait, stored).await {
            Ok(Ok(result)) => Started::Finished(Box::new(result)),
            _ => Started::Running,
        })
    }
}

/// Settings of the worker.
#[derive(Clone)]
pub(crate) struct WorkerSettings {
    /// Identifies this process in `lease_holder`.
    pub holder: String,
    pub concurrency: usize,
    pub lease: Duration,
    pub valid_authorization_lifetime: Duration,
    /// Bounds on validations waiting or running here.
    pub queue: ValidationQueueLimits,
    /// The areas now: each job's CAA identities (RFC 8659; an area with `check_caa` off
    /// checks none) and egress policy come from its area as it is when the job runs.
    pub areas: AreaHandle,
    /// At shutdown, how long running validations may take to record their results.
    pub shutdown_timeout: Duration,
    /// Where results and durations are counted.
    pub metrics: crate::Metrics,
}

/// Runs validations claimed from the database.
pub(crate) struct ValidationWorker {
    store: Store,
    validator: Arc<Validator>,
    clock: Arc<dyn Clock>,
    settings: WorkerSettings,
    receiver: mpsc::UnboundedReceiver<Request>,
    slots: QueueSlots,
}

/// Creates the queue handle and the worker that serves it.
pub(crate) fn validation_channel(
    store: Store,
    validator: Arc<Validator>,
    clock: Arc<dyn Clock>,
    settings: WorkerSettings,
) -> (ValidationQueue, ValidationWorker) {
    // Unbounded as a channel, bounded by the queue's places: every request holds one.
    let (sender, receiver) = mpsc::unbounded_channel();
    let slots = QueueSlots::new(settings.queue);
    (
        ValidationQueue {
            sender,
            holder: settings.holder.as_str().into(),
            lease: settings.lease,
            slots: slots.clone(),
        },
        ValidationWorker {
            store,
            validator,
            clock,
            settings,
            receiver,
            slots,
        },
    )
}

impl ValidationWorker {
    /// Runs until `stop` completes (or the queue handle is dropped), then waits up to
    /// `shutdown_timeout` for the validations already running to record their results.
    /// Jobs queued here but not started keep their claim in the database; the server gives
    /// those back (`Store::release_validation_claims`) once this returns.
    pub(crate) async fn run(mut self, stop: impl Future<Output = ()>) {
        let concurrency = self.settings.concurrency.max(1);
        let permits = Arc::new(Semaphore::new(concurrency));
        let mut sweep = tokio::time::interval(SWEEP_INTERVAL);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(stop);
        loop {
            tokio::select! {
                received = self.receiver.recv() => {
                    let Some(Request { job, done, slot, span }) = received else { break };
                    let Ok(permit) = permits.clone().acquire_owned().await else { break };
                    self.spawn(job, permit, done, slot, span);
                }
                _ = sweep.tick() => self.sweep(&permits).await,
                () = &mut stop => break,
            }
        }
        // Every permit back means every running validation has recorded its result.
        let all = u32::try_from(concurrency).unwrap_or(u32::MAX);
        let finished = tokio::time::timeout(self.settings.shutdown_timeout, async {
            let _ = permits.acquire_many(all).await;
        })
        .await;
        if finished.is_err() {
            tracing::warn!(
                "validations still running at the shutdown timeout are left to another replica"
            );
        }
    }

    /// Claims jobs nobody holds, as many as there are both free workers and free places in
    /// the queue (places not used are given back when `slots` is dropped).
    async fn sweep(&self, permits: &Arc<Semaphore>) {
        let slots = self.slots.reserve_free(permits.available_permits());
        if slots.is_empty() {
            return;
        }
        let jobs = self
            .store
            .claim_validation_jobs(
                &self.settings.holder,
                self.clock.now(),
                self.settings.lease,
                slots.len() as u64,
            )
            .await;
        match jobs {
            Ok(jobs) => {
                for (job, mut slot) in jobs.into_iter().zip(slots) {
                    slot.attribute(job.account_id);
                    let Ok(permit) = permits.clone().acquire_owned().await else {
                        return;
                    };
                    // Taken over by the sweep: no request started it here.
                    self.spawn(job, permit, None, slot, tracing::info_span!("sweep"));
                }
            }
            Err(e) => tracing::warn!(error = %e, "validation sweep failed"),
        }
    }

    /// Runs `job`; `done` hears what was stored (dropped unheard if nothing was). The job's
    /// place in the queue is freed once its result is recorded.
    fn spawn(
        &self,
        job: ValidationJob,
        permit: tokio::sync::OwnedSemaphorePermit,
        done: Option<oneshot::Sender<ChallengeRecord>>,
        slot: Slot,
        span: tracing::Span,
    ) {
        let store = self.store.clone();
        let validator = self.validator.clone();
        let clock = self.clock.clone();
        let valid_for = self.settings.valid_authorization_lifetime;
        let area = self.settings.areas.directory(&job.directory);
        let limits = JobLimits {
            caa: area.as_deref().and_then(|area| caa_policy(area, &job)),
            egress: area.and_then(|area| area.egress.clone()),
        };
        let metrics = self.settings.metrics.clone();
        let task = async move {
            let stored = run_job(
                &store,
                &validator,
                clock.as_ref(),
                valid_for,
                limits,
                job,
                &metrics,
            )
            .await;
            drop(permit);
            drop(slot);
            if let (Some(stored), Some(done)) = (stored, done) {
                let _ = done.send(stored);
            }
        };
        // A job a request started runs in that request's span (its request id).
        tokio::spawn(task.instrument(span));
    }
}

/// The CAA policy for a job: its directory's identities, and the account URL the client
/// used when it asked for validation (RFC 8657 `accounturi`).
fn caa_policy(area: &DirectoryConfig, job: &ValidationJob) -> Option<CaaPolicy> {
    area.check_caa.then(|| CaaPolicy {
        identities: area.meta.caa_identities.clone(),
        account_uri: job.account_uri.clone().unwrap_or_default(),
    })
}

/// What a job's area asks of its validation.
struct JobLimits {
    /// CAA identities and account URI to check, if the area checks CAA.
    caa: Option<CaaPolicy>,
    /// Where the validation may connect, if the area sets its own policy.
    egress: Option<EgressPolicy>,
}

/// Validates and stores the result; what was stored, if it was.
async fn run_job(
    store: &Store,
    validator: &Validator,
    clock: &dyn Clock,
    valid_for: Duration,
    JobLimits { caa, egress }: JobLimits,
    job: ValidationJob,
    metrics: &crate::Metrics,
) -> Option<ChallengeRecord> {
    let started = Instant::now();
    let checks_caa = caa.is_some();
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
    let result_label = outcome
        .problem
        .as_ref()
        .map_or("valid", |p| p.problem_type.name());
    metrics.validation(job.challenge_type.as_str(), result_label, started.elapsed());
    // CAA (RFC 8659) runs after the challenge succeeds: a success or a `caa` problem says
    // what it decided; another failure says nothing about it.
    if checks_caa {
        match outcome.problem.as_ref().map(|p| p.problem_type) {
            None => metrics.caa_check("validation", "allowed"),
            Some(basalt_protocol::ProblemType::Caa) => metrics.caa_check("validation", "refused"),
            Some(_) => {}
        }
    }
    let result = match &outcome.problem {
        None => ValidationResult::Valid,
        Some(problem) => ValidationResult::Invalid(problem.clone()),
    };
    let record = serde_json::to_string(&outcome.records).ok();
    let now = clock.now();
    let stored = match store
        .record_validation(&job, &result, record.as_deref(), now, now + valid_for)
        .await
    {
        Ok(stored) => stored,
        Err(e) => {
            // The lease runs out and the job is validated again, here or on another replica.
            tracing::error!(challenge.id = job.challenge_id, error = %e, "could not record validation result");
            return None;
        }
    };
    tracing::info!(
        authz.id = job.authorization_id,
        challenge.id = job.challenge_id,
        challenge.type = job.challenge_type.as_str(),
        identifier = %job.identifier.value(),
        result = if outcome.problem.is_none() { "valid" } else { "invalid" },
        problem.type = outcome.problem.as_ref().map(|p| p.problem_type.name()),
        problem.detail = outcome.problem.as_ref().map(|p| p.detail.as_str()),
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        "validation"
    );
    // `None` when another replica's result was recorded first: the waiting POST then reads
    // what is stored.
    let recorded = stored?;
    if recorded.orders_invalidated > 0 {
        metrics.orders_final(&job.directory, "invalid", recorded.orders_invalidated);
    }
    Some(recorded.challenge)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slots(total: usize, per_account: usize) -> QueueSlots {
        QueueSlots::new(ValidationQueueLimits { total, per_account })
    }

    #[test]
    fn an_account_gets_its_share_and_the_total_bounds_everyone() {
        let queue = slots(3, 2);
        let a1 = queue.try_reserve(1).unwrap();
        let _a2 = queue.try_reserve(1).unwrap();
        assert_eq!(
            queue.try_reserve(1).err(),
            Some(QueueFull::Account { limit: 2 })
        );
        let _b1 = queue.try_reserve(2).unwrap();
        assert_eq!(
            queue.try_reserve(3).err(),
            Some(QueueFull::Total { limit: 3 })
        );
        drop(a1);
        let _a3 = queue.try_reserve(1).unwrap();
        assert_eq!(queue.lock().per_account.get(&1), Some(&2));
    }

    #[test]
    fn the_sweep_gets_only_free_places_and_unused_ones_go_back() {
        let queue = slots(3, 1);
        let _a = queue.try_reserve(1).unwrap();
        let mut swept = queue.reserve_free(5);
        assert_eq!(swept.len(), 2, "only the free places");
        assert!(queue.reserve_free(1).is_empty());
        // A swept job of account 1 counts against it even over its share.
        swept[0].attribute(1);
        assert_eq!(queue.lock().per_account.get(&1), Some(&2));
        swept.truncate(1);
        assert_eq!(queue.lock().total, 2, "the unused place was given back");
        drop(swept);
        assert_eq!(queue.lock().per_account.get(&1), Some(&1));
        assert_eq!(queue.lock().total, 1);
    }
}
