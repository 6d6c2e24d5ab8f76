//! Challenge validation as shared work (RFC 8555 §7.5.1, §8.2): a challenge moves
//! pending → processing once, a replica claims it with a lease, and the result is recorded
//! once. Leases let any replica take over a validation whose replica died; the
//! compare-and-set on `processing` keeps a late second result from overwriting the first.

use std::time::Duration;

use basalt_protocol::{AuthorizationStatus, ChallengeStatus, OrderStatus};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use time::OffsetDateTime;

use crate::Store;
use crate::authorizations as authz;
use crate::codec::to_json;
use crate::entities::{accounts, authorizations, challenges};
use crate::error::Error;
use crate::links;
use crate::records::{ChallengeRecord, RecordedValidation, ValidationJob, ValidationResult};
use crate::time::{from_unix_opt, to_unix, unix_after};
use crate::writes::{write_statement, write_transaction};

impl Store {
    /// Like [`Store::start_validation`] without the claim: the job is left for a sweep
    /// ([`Store::claim_validation_jobs`]), as if the starting replica had died before
    /// claiming it. Only tests start a challenge this way.
    #[cfg(feature = "testing")]
    pub async fn start_challenge(
        &self,
        challenge_id: i64,
        account_uri: &str,
        now: OffsetDateTime,
    ) -> Result<bool, Error> {
        self.start(challenge_id, account_uri, None, now).await
    }

    /// The client asked for a challenge to be validated (RFC 8555 §7.5.1). Moves it
    /// pending → processing, only while its authorization is pending and unexpired, and in
    /// the same compare-and-set statement claims the job for `holder` until `now + lease`,
    /// for the replica that validates at once (no second statement to claim it, none to
    /// read the job back: the caller has it). True if this call moved it (so exactly one
    /// caller starts the validation); false if it was not pending or the authorization no
    /// longer allows it. `account_uri` is the account URL as this client sees it, kept for
    /// CAA (RFC 8657).
    pub async fn start_validation(
        &self,
        challenge_id: i64,
        account_uri: &str,
        holder: &str,
        now: OffsetDateTime,
        lease: Duration,
    ) -> Result<bool, Error> {
        self.start(challenge_id, account_uri, Some((holder, lease)), now)
            .await
    }

    async fn start(
        &self,
        challenge_id: i64,
        account_uri: &str,
        claim: Option<(&str, Duration)>,
        now: OffsetDateTime,
    ) -> Result<bool, Error> {
        let authorization_open = Query::select()
            .expr(Expr::val(1))
            .from(authorizations::Entity)
            .and_where(
                Expr::col((authorizations::Entity, authorizations::Column::Id))
                    .equals((challenges::Entity, challenges::Column::AuthorizationId)),
            )
            .and_where(authorizations::Column::Status.eq(AuthorizationStatus::Pending.as_str()))
            .and_where(authorizations::Column::ExpiresAt.gt(to_unix(now)))
            .to_owned();
        let (holder, lease_expires_at) = match claim {
            Some((holder, lease)) => (Some(holder.to_owned()), Some(unix_after(now, lease))),
            None => (None, None),
        };
        let start = challenges::Entity::update_many()
            .col_expr(
                challenges::Column::Status,
                Expr::value(ChallengeStatus::Processing.as_str()),
            )
            .col_expr(challenges::Column::AccountUri, Expr::value(account_uri))
            .col_expr(challenges::Column::LeaseHolder, Expr::value(holder))
            .col_expr(
                challenges::Column::LeaseExpiresAt,
                Expr::value(lease_expires_at),
            )
            .filter(challenges::Column::Id.eq(challenge_id))
            .filter(challenges::Column::Status.eq(ChallengeStatus::Pending.as_str()))
            .filter(Expr::exists(authorization_open));
        let moved = write_statement!(self, |conn| start.exec(conn).await?.rows_affected);
        Ok(moved == 1)
    }

    /// Claims the validation of one processing challenge, as [`Store::claim_validation_jobs`]
    /// does for each candidate. Only tests claim a named challenge.
    #[cfg(feature = "testing")]
    pub async fn claim_validation(
        &self,
        challenge_id: i64,
        holder: &str,
        now: OffsetDateTime,
        lease: Duration,
    ) -> Result<Option<ValidationJob>, Error> {
        self.claim(challenge_id, holder, now, lease).await
    }

    /// Claims the validation of one processing challenge for `holder` until `now + lease`,
    /// if nobody holds an unexpired lease on it (compare-and-set). `None` if someone else
    /// does, or the challenge is not processing.
    async fn claim(
        &self,
        challenge_id: i64,
        holder: &str,
        now: OffsetDateTime,
        lease: Duration,
    ) -> Result<Option<ValidationJob>, Error> {
        let claimed = challenges::Entity::update_many()
            .col_expr(challenges::Column::LeaseHolder, Expr::value(holder))
            .col_expr(
                challenges::Column::LeaseExpiresAt,
                Expr::value(unix_after(now, lease)),
            )
            .filter(challenges::Column::Id.eq(challenge_id))
            .filter(challenges::Column::Status.eq(ChallengeStatus::Processing.as_str()))
            .filter(claimable(now))
            .exec(&self.db)
            .await?
            .rows_affected;
        if claimed == 0 {
            return Ok(None);
        }
        self.validation_job(challenge_id).await
    }

    /// Claims up to `limit` processing challenges whose validation nobody holds: never
    /// claimed (the starting replica died before claiming) or whose lease expired (the
    /// validating replica died). Each is claimed by its own compare-and-set, so replicas
    /// sweeping together never share a job.
    pub async fn claim_validation_jobs(
        &self,
        holder: &str,
        now: OffsetDateTime,
        lease: Duration,
        limit: u64,
    ) -> Result<Vec<ValidationJob>, Error> {
        let candidates = challenges::Entity::find()
            .select_only()
            .column(challenges::Column::Id)
            .filter(challenges::Column::Status.eq(ChallengeStatus::Processing.as_str()))
            .filter(claimable(now))
            .order_by_asc(challenges::Column::Id)
            .limit(limit)
            .into_tuple::<i64>()
            .all(&self.db)
            .await?;
        let mut jobs = Vec::with_capacity(candidates.len());
        for id in candidates {
            if let Some(job) = self.claim(id, holder, now, lease).await? {
                jobs.push(job);
            }
        }
        Ok(jobs)
    }

    /// Gives back every processing challenge `holder` claimed (a replica shutting down with
    /// validations queued or unfinished): the lease is cleared, so the next sweep of any
    /// replica claims it. A result recorded meanwhile is unaffected (recording clears the
    /// lease and leaves `processing`). Returns how many were given back.
    pub async fn release_validation_claims(&self, holder: &str) -> Result<u64, Error> {
        let released = challenges::Entity::update_many()
            .col_expr(challenges::Column::LeaseHolder, Expr::value(None::<String>))
            .col_expr(challenges::Column::LeaseExpiresAt, Expr::value(None::<i64>))
            .filter(challenges::Column::Status.eq(ChallengeStatus::Processing.as_str()))
            .filter(challenges::Column::LeaseHolder.eq(holder))
            .exec(&self.db)
            .await?
            .rows_affected;
        Ok(released)
    }

    /// Records the outcome of `job`'s validation, in one transaction, and returns the
    /// challenge as written (built from what was written: no statement reads it back), or
    /// `None` when another result was recorded first:
    /// * the challenge processing → valid (`validated_at = now`, in the whole seconds the
    ///   database keeps) or invalid (with the problem), lease cleared — a compare-and-set, so
    ///   if another replica already recorded a result this changes nothing;
    /// * its authorization pending → valid (expiring at `authorization_valid_until`) or
    ///   invalid (RFC 8555 §7.1.6);
    /// * the authorization's pending orders: invalid (with the problem) if it failed; ready
    ///   once all of an order's authorizations are valid.
    pub async fn record_validation(
        &self,
        job: &ValidationJob,
        result: &ValidationResult,
        validation_record: Option<&str>,
        now: OffsetDateTime,
        authorization_valid_until: OffsetDateTime,
    ) -> Result<Option<RecordedValidation>, Error> {
        let challenge_id = job.challenge_id;
        let (challenge_status, validated_at, error, authorization_status) = match result {
            ValidationResult::Valid => (
                ChallengeStatus::Valid,
                Some(to_unix(now)),
                None,
                AuthorizationStatus::Valid,
            ),
            ValidationResult::Invalid(problem) => (
                ChallengeStatus::Invalid,
                None,
                Some(to_json(problem)?),
                AuthorizationStatus::Invalid,
            ),
        };
        let orders_invalidated = write_transaction!(self, |tx| {
            let moved = challenges::Entity::update_many()
                .col_expr(
                    challenges::Column::Status,
                    Expr::value(challenge_status.as_str()),
                )
                .col_expr(challenges::Column::ValidatedAt, Expr::value(validated_at))
                .col_expr(challenges::Column::Error, Expr::value(error))
                .col_expr(
                    challenges::Column::ValidationRecord,
                    Expr::value(validation_record.map(str::to_owned)),
                )
                .col_expr(challenges::Column::LeaseHolder, Expr::value(None::<String>))
                .col_expr(challenges::Column::LeaseExpiresAt, Expr::value(None::<i64>))
                .filter(challenges::Column::Id.eq(challenge_id))
                .filter(challenges::Column::Status.eq(ChallengeStatus::Processing.as_str()))
                .exec(tx)
                .await?
                .rows_affected;
            if moved == 0 {
                // Someone else recorded a result first, and theirs stands; or there is no such
                // challenge.
                let exists = challenges::Entity::find_by_id(challenge_id)
                    .select_only()
                    .column(challenges::Column::Id)
                    .into_tuple::<i64>()
                    .one(tx)
                    .await?;
                return exists.map(|_| None).ok_or(Error::NotFound);
            }
            // The authorization is named by a subquery on the challenge: no statement to read
            // its id first (each statement is a round trip while the write lock is held).
            let mut authorization_update = authorizations::Entity::update_many().col_expr(
                authorizations::Column::Status,
                Expr::value(authorization_status.as_str()),
            );
            if authorization_status == AuthorizationStatus::Valid {
                authorization_update = authorization_update.col_expr(
                    authorizations::Column::ExpiresAt,
                    Expr::value(to_unix(authorization_valid_until)),
                );
            }
            let authorization_moved = authorization_update
                .filter(
                    authorizations::Column::Id
                        .into_expr()
                        .eq(links::authorization_of_challenge(challenge_id)),
                )
                .filter(authorizations::Column::Status.eq(AuthorizationStatus::Pending.as_str()))
                .exec(tx)
                .await?
                .rows_affected;

            let mut orders_invalidated = 0;
            if authorization_moved == 1 {
                let authorization = links::authorization_of_challenge(challenge_id);
                match result {
                    ValidationResult::Valid => {
                        links::promote_ready_linked(tx, authorization).await?;
                    }
                    ValidationResult::Invalid(problem) => {
                        let pending = [OrderStatus::Pending];
                        orders_invalidated =
                            links::invalidate_linked(tx, authorization, &pending, problem).await?;
                    }
                }
            }
            orders_invalidated
        });
        let error = match result {
            ValidationResult::Valid => None,
            ValidationResult::Invalid(problem) => Some(problem.clone()),
        };
        let challenge = ChallengeRecord {
            id: challenge_id,
            authorization_id: job.authorization_id,
            challenge_type: job.challenge_type,
            token: job.token.clone(),
            status: challenge_status,
            validated_at: from_unix_opt(validated_at, "challenges", "validated_at", challenge_id)?,
            error,
            validation_record: validation_record.map(str::to_owned),
            account_uri: job.account_uri.clone(),
            created_at: job.challenge_created_at,
        };
        Ok(Some(RecordedValidation {
            challenge,
            orders_invalidated,
        }))
    }

    /// Everything a validator needs for one challenge (two statements: the challenge with
    /// its authorization, then the account).
    async fn validation_job(&self, challenge_id: i64) -> Result<Option<ValidationJob>, Error> {
        let Some((challenge, authorization)) =
            authz::load_by_challenge(&self.db, challenge_id).await?
        else {
            return Ok(None);
        };
        let account = accounts::Entity::find_by_id(authorization.account_id)
            .one(&self.db)
            .await?
            .ok_or_else(|| {
                Error::Internal(format!("authorization {} has no account", authorization.id))
            })?;
        Ok(Some(ValidationJob::new(
            &challenge,
            &authorization,
            &account.key_thumbprint,
            &account.directory,
            challenge.account_uri.clone(),
        )))
    }
}

/// Nobody holds an unexpired lease: never claimed, or the lease ran out.
fn claimable(now: OffsetDateTime) -> Condition {
    Condition::any()
        .add(challenges::Column::LeaseExpiresAt.is_null())
        .add(challenges::Column::LeaseExpiresAt.lt(to_unix(now)))
}
