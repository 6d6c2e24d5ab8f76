//! Finalization (RFC 8555 §7.4) in three commits, so that no signed certificate is ever
//! unknown to the database (docs/issuance.md):
//! 1. [`Store::reserve_issuance`]: the order `ready → processing` and a `pending` issuances
//!    row with the serial about to be signed, made durable before anything is signed;
//! 2. the caller signs, outside any transaction;
//! 3. [`Store::complete_issuance`] stores the certificate (order `valid`, issuance `issued`),
//!    or [`Store::fail_issuance`] puts the order back (`ready`, issuance `failed`) when the
//!    signer returned an error.
//!
//! A process that dies between 1 and 3 leaves a `pending` issuance and a `processing`
//! order; [`Store::abandon_stale_issuances`] (the recovery pass) gives the order back.
//!
//! Every transaction that touches an existing issuance and its order changes the issuance
//! first, by compare-and-set on `pending` (which also serialises them: of a completion and
//! an abandonment racing on one issuance, exactly one moves it), then the order.

use basalt_protocol::OrderStatus;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::NotSet, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};
use time::OffsetDateTime;

use crate::Store;
use crate::codec::{from_json, parse_enum, to_json};
use crate::entities::{issuances, orders};
use crate::error::Error;
use crate::records::{
    CertificateRecord, IssuanceRecord, IssuanceStatus, NewCertificate, NewIssuance, OrderRecord,
    ReserveOutcome,
};
use crate::time::{from_unix, to_unix};
use crate::writes::write_transaction;
use crate::{certificates, orders as order_rows};

const TABLE: &str = "issuances";

/// Stale issuances abandoned per call of [`Store::abandon_stale_issuances`]; a longer
/// backlog (a fleet that died mid-burst) is worked off over several passes.
const ABANDON_BATCH: u64 = 100;

impl Store {
    /// Reserves `new.serial` for the order, as the caller loaded it, in one transaction:
    /// compare-and-set the order `ready → processing` where it is unexpired (the first
    /// statement, so it also takes SQLite's write lock; of two concurrent finalizations
    /// exactly one moves the row), then insert a `pending` issuance for the order's
    /// identifiers. Returns `NotReady` with the order as it is when the order did not move.
    ///
    /// The commit is made durable ([`Store::sync_log`]) before returning: the serial must be
    /// on disk before anything is signed with it. A serial reserved before is
    /// `Error::Duplicate { what: "issuance serial" }`, and nothing changes.
    pub async fn reserve_issuance(
        &self,
        order: &OrderRecord,
        new: &NewIssuance,
        now: OffsetDateTime,
    ) -> Result<ReserveOutcome, Error> {
        let outcome = self.reserve_transaction(order, new, now).await?;
        if let ReserveOutcome::Reserved(_) = &outcome {
            self.sync_log().await?;
        }
        Ok(outcome)
    }

    /// [`Store::reserve_issuance`]'s transaction, on SQLite's inline writer where there is
    /// one (`inline_sqlite.rs`), else on the writer pool: the same statements either way.
    async fn reserve_transaction(
        &self,
        order: &OrderRecord,
        new: &NewIssuance,
        now: OffsetDateTime,
    ) -> Result<ReserveOutcome, Error> {
        let now = to_unix(now);
        // Dropping a transaction without committing it rolls it back: on an error, or when
        // the order did not move, nothing is written.
        let reserved = write_transaction!(
            self,
            |tx| reserve_writes(tx, order, new, now).await?,
            commit_if |reserved: &Option<_>| reserved.is_some()
        );
        match reserved {
            Some(row) => Ok(ReserveOutcome::Reserved(record(row)?)),
            None => {
                let order = order_rows::load(&self.db, order.id)
                    .await?
                    .ok_or(Error::NotFound)?;
                Ok(ReserveOutcome::NotReady(order))
            }
        }
    }

    /// Stores the certificate signed for a pending issuance, in one transaction: the
    /// issuance `pending → issued`, the order `processing → valid` with the serial, and the
    /// certificate row. `Error::WrongState` if the issuance is no longer pending (the
    /// recovery pass abandoned it: the order may have been finalized again since) or its
    /// order no longer processing, `Error::NotFound` if there is no such issuance,
    /// `Error::Internal` if the certificate's serial is not the reserved one; in every case
    /// nothing is written.
    ///
    /// The commit is made durable ([`Store::sync_log`]) before returning: a certificate a
    /// client may download is never lost from the store.
    pub async fn complete_issuance(
        &self,
        issuance_id: i64,
        new: &NewCertificate,
        now: OffsetDateTime,
    ) -> Result<(OrderRecord, CertificateRecord), Error> {
        let issuance = issuances::Entity::find_by_id(issuance_id)
            .one(&self.lookup)
            .await?
            .ok_or(Error::NotFound)?;
        let order = order_rows::load(&self.lookup, issuance.order_id)
            .await?
            .ok_or(Error::NotFound)?;
        self.complete_reserved_issuance(issuance_id, &issuance.serial, &order, new, now)
            .await
    }

    /// [`Store::complete_issuance`] for the caller that holds the reservation and the order
    /// as it reserved it (finalize): the same transaction with no statement to read them
    /// back, three writes (issuance, order, certificate) as one finalization took before
    /// serials were reserved.
    pub async fn complete_reserved_issuance(
        &self,
        issuance_id: i64,
        reserved_serial: &str,
        order: &OrderRecord,
        new: &NewCertificate,
        now: OffsetDateTime,
    ) -> Result<(OrderRecord, CertificateRecord), Error> {
        if reserved_serial != new.serial {
            return Err(Error::Internal(format!(
                "issuance {issuance_id} reserved serial {reserved_serial} but the certificate has {}",
                new.serial
            )));
        }
        let issued = self
            .complete_transaction(issuance_id, order, new, now)
            .await?;
        self.sync_log().await?;
        Ok(issued)
    }

    /// [`Store::complete_reserved_issuance`]'s transaction, on SQLite's inline writer where
    /// there is one (`inline_sqlite.rs`), else on the writer pool: the same statements either
    /// way. A lost compare-and-set rolls back and reads what is there now, for the error.
    async fn complete_transaction(
        &self,
        issuance_id: i64,
        order: &OrderRecord,
        new: &NewCertificate,
        now: OffsetDateTime,
    ) -> Result<(OrderRecord, CertificateRecord), Error> {
        let now = to_unix(now);
        let settled = write_transaction!(
            self,
            |tx| complete_writes(tx, issuance_id, order, new, now).await?,
            commit_if |settled: &Settled| matches!(settled, Settled::Stored(..))
        );
        match settled {
            Settled::Stored(order, certificate) => Ok((*order, *certificate)),
            Settled::IssuanceMoved => {
                let current = issuances::Entity::find_by_id(issuance_id)
                    .one(&self.db)
                    .await?
                    .ok_or(Error::NotFound)?;
                Err(Error::WrongState {
                    what: format!("issuance {issuance_id}"),
                    current: current.status,
                })
            }
            Settled::OrderMoved => {
                let current = order_rows::load(&self.db, order.id)
                    .await?
                    .ok_or(Error::NotFound)?;
                Err(Error::WrongState {
                    what: format!("order {}", order.id),
                    current: current.status.to_string(),
                })
            }
        }
    }

    /// The signer returned an error for a pending issuance, so nothing was signed: in one
    /// transaction the issuance becomes `failed` and its order `processing → ready`, to be
    /// finalized again. `Error::WrongState` if the issuance is no longer pending,
    /// `Error::NotFound` if there is no such issuance.
    ///
    /// Not flushed to disk: if power loss undoes it, the issuance is pending again and the
    /// recovery pass gives the order back all the same.
    pub async fn fail_issuance(&self, issuance_id: i64, now: OffsetDateTime) -> Result<(), Error> {
        let now = to_unix(now);
        let tx = self.db.begin().await?;
        let issuance = settle(&tx, issuance_id, IssuanceStatus::Failed, now).await?;
        reopen_order(&tx, issuance.order_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The recovery pass: every issuance still `pending` that was created before
    /// `older_than` becomes `abandoned`, and its order `processing → ready` (if it is still
    /// processing), one transaction per issuance. Returns those abandoned, at most a batch
    /// of them per call (call again while it returns a full batch).
    ///
    /// Pending that long means the process that reserved it died (or lost the database)
    /// before storing the result; its serial may have been signed, but the certificate was
    /// never stored, so no client received it. An issuance that another replica completes
    /// meanwhile is left alone: each abandonment is a compare-and-set on `pending`.
    pub async fn abandon_stale_issuances(
        &self,
        older_than: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Vec<IssuanceRecord>, Error> {
        let stale = issuances::Entity::find()
            .filter(issuances::Column::Status.eq(IssuanceStatus::Pending.as_str()))
            .filter(issuances::Column::CreatedAt.lt(to_unix(older_than)))
            .order_by_asc(issuances::Column::CreatedAt)
            .limit(ABANDON_BATCH)
            .all(&self.db)
            .await?;
        let now = to_unix(now);
        let mut abandoned = Vec::with_capacity(stale.len());
        for row in stale {
            let tx = self.db.begin().await?;
            let settled = match settle(&tx, row.id, IssuanceStatus::Abandoned, now).await {
                Ok(settled) => settled,
                // Completed, failed or abandoned by someone else since the select.
                Err(Error::WrongState { .. }) => continue,
                Err(e) => return Err(e),
            };
            reopen_order(&tx, settled.order_id).await?;
            tx.commit().await?;
            abandoned.push(record(settled)?);
        }
        Ok(abandoned)
    }

    /// The issuance that reserved this serial, if any.
    pub async fn issuance_by_serial(&self, serial: &str) -> Result<Option<IssuanceRecord>, Error> {
        issuances::Entity::find()
            .filter(issuances::Column::Serial.eq(serial))
            .one(&self.lookup)
            .await?
            .map(record)
            .transpose()
    }
}

/// Compare-and-set a pending issuance to `to`, inside `tx`; the row as it is now.
/// `Error::WrongState` (with its status) if it was not pending, `Error::NotFound` if there
/// is no such issuance. The caller drops `tx` on an error, which rolls it back.
async fn settle(
    tx: &impl ConnectionTrait,
    issuance_id: i64,
    to: IssuanceStatus,
    now: i64,
) -> Result<issuances::Model, Error> {
    // Write first: on SQLite this takes the write lock before anything is read.
    let moved = settle_pending(issuance_id, to, now)
        .exec(tx)
        .await?
        .rows_affected;
    let row = issuances::Entity::find_by_id(issuance_id)
        .one(tx)
        .await?
        .ok_or(Error::NotFound)?;
    if moved == 0 {
        return Err(Error::WrongState {
            what: format!("issuance {issuance_id}"),
            current: row.status,
        });
    }
    Ok(row)
}

/// The compare-and-set of a pending issuance to `to`: one row if it was pending, none else.
fn settle_pending(
    issuance_id: i64,
    to: IssuanceStatus,
    now: i64,
) -> sea_orm::UpdateMany<issuances::Entity> {
    issuances::Entity::update_many()
        .col_expr(issuances::Column::Status, Expr::value(to.as_str()))
        .col_expr(issuances::Column::UpdatedAt, Expr::value(now))
        .filter(issuances::Column::Id.eq(issuance_id))
        .filter(issuances::Column::Status.eq(IssuanceStatus::Pending.as_str()))
}

/// Gives a processing order back (`processing → ready`), inside a transaction. An order in
/// another state (expired orders may have been deleted, or failed meanwhile) is left alone.
async fn reopen_order(tx: &impl ConnectionTrait, order_id: i64) -> Result<(), Error> {
    orders::Entity::update_many()
        .col_expr(
            orders::Column::Status,
            Expr::value(OrderStatus::Ready.as_str()),
        )
        .filter(orders::Column::Id.eq(order_id))
        .filter(orders::Column::Status.eq(OrderStatus::Processing.as_str()))
        .exec(tx)
        .await?;
    Ok(())
}

/// The reservation's statements: compare-and-set the order `ready → processing` where it
/// is unexpired (the first statement, so it also takes SQLite's write lock; of two
/// concurrent finalizations exactly one moves the row), then insert a `pending` issuance
/// for the order's identifiers. `None` when the order did not move.
async fn reserve_writes(
    tx: &impl ConnectionTrait,
    order: &OrderRecord,
    new: &NewIssuance,
    now: i64,
) -> Result<Option<issuances::Model>, Error> {
    let moved = orders::Entity::update_many()
        .col_expr(
            orders::Column::Status,
            Expr::value(OrderStatus::Processing.as_str()),
        )
        .filter(orders::Column::Id.eq(order.id))
        .filter(orders::Column::Status.eq(OrderStatus::Ready.as_str()))
        .filter(orders::Column::ExpiresAt.gt(now))
        .exec(tx)
        .await?
        .rows_affected;
    if moved == 0 {
        return Ok(None);
    }
    let mut row = issuances::Model {
        id: 0,
        serial: new.serial.clone(),
        order_id: order.id,
        account_id: order.account_id,
        directory: order.directory.clone(),
        intermediate_id: new.intermediate_id,
        names: to_json(&order.identifiers)?,
        spki: new.spki_der.clone(),
        not_before: to_unix(new.not_before),
        not_after: to_unix(new.not_after),
        status: IssuanceStatus::Pending.as_str().to_owned(),
        created_at: now,
        updated_at: now,
    };
    let mut insert: issuances::ActiveModel = row.clone().into();
    insert.id = NotSet;
    row.id = issuances::Entity::insert(insert)
        .exec(tx)
        .await
        .map_err(|e| Error::from(e).duplicate_of("issuance serial"))?
        .last_insert_id;
    Ok(Some(row))
}

/// What [`complete_writes`] did.
enum Settled {
    /// The order (now valid) and the certificate row: commit.
    Stored(Box<OrderRecord>, Box<CertificateRecord>),
    /// The issuance was no longer pending: nothing to commit.
    IssuanceMoved,
    /// The order was no longer processing: roll back the issuance's change.
    OrderMoved,
}

/// The completion's statements, writes only: the issuance `pending → issued` (first: on
/// SQLite this takes the write lock before anything is read), the order `processing →
/// valid` with the serial, the certificate row.
async fn complete_writes(
    tx: &impl ConnectionTrait,
    issuance_id: i64,
    order: &OrderRecord,
    new: &NewCertificate,
    now: i64,
) -> Result<Settled, Error> {
    let settled = settle_pending(issuance_id, IssuanceStatus::Issued, now)
        .exec(tx)
        .await?
        .rows_affected;
    if settled == 0 {
        return Ok(Settled::IssuanceMoved);
    }
    let moved = orders::Entity::update_many()
        .col_expr(
            orders::Column::Status,
            Expr::value(OrderStatus::Valid.as_str()),
        )
        .col_expr(
            orders::Column::CertificateSerial,
            Expr::value(new.serial.clone()),
        )
        .filter(orders::Column::Id.eq(order.id))
        .filter(orders::Column::Status.eq(OrderStatus::Processing.as_str()))
        .exec(tx)
        .await?
        .rows_affected;
    if moved == 0 {
        return Ok(Settled::OrderMoved);
    }
    // Everything but an order's status, error and serial is fixed at creation, so the
    // caller's copy with those set is the row.
    let order = OrderRecord {
        status: OrderStatus::Valid,
        certificate_serial: Some(new.serial.clone()),
        ..order.clone()
    };
    let certificate = certificates::insert(tx, &order, new, now).await?;
    Ok(Settled::Stored(Box::new(order), Box::new(certificate)))
}

fn record(m: issuances::Model) -> Result<IssuanceRecord, Error> {
    Ok(IssuanceRecord {
        status: parse_enum(&m.status, IssuanceStatus::parse, TABLE, "status", m.id)?,
        names: from_json(&m.names, TABLE, "names", m.id)?,
        not_before: from_unix(m.not_before, TABLE, "not_before", m.id)?,
        not_after: from_unix(m.not_after, TABLE, "not_after", m.id)?,
        created_at: from_unix(m.created_at, TABLE, "created_at", m.id)?,
        updated_at: from_unix(m.updated_at, TABLE, "updated_at", m.id)?,
        id: m.id,
        serial: m.serial,
        order_id: m.order_id,
        account_id: m.account_id,
        directory: m.directory,
        intermediate_id: m.intermediate_id,
        spki_der: m.spki,
    })
}
