//! Areas and their intermediates: adoption of the configured intermediate at `serve` start,
//! `area add`, `area rotate`, retirement, and the revision counter replicas poll.
//!
//! Every change here is one transaction that starts by bumping `pki_state.revision`. That
//! write comes first on purpose: it takes SQLite's write lock, and on PostgreSQL and MySQL
//! the lock of the one `pki_state` row, so changes to areas are serialised across replicas
//! and the checks that follow ("does the area have an intermediate?", "which one is
//! active?") cannot race. A call that finds nothing to change rolls back, leaving the
//! revision as it was. Lock order: `pki_state`, then `intermediates`, then `certificates`.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, TransactionTrait,
};
use time::OffsetDateTime;

use crate::Store;
use crate::codec::parse_enum;
use crate::entities::{certificates, intermediates, pki_state};
use crate::error::Error;
use crate::records::{IntermediateRecord, IntermediateStatus, NewIntermediate};
use crate::time::{from_unix, from_unix_opt, to_unix};

const TABLE: &str = "intermediates";

/// The id of the one `pki_state` row.
const PKI_STATE_ID: i64 = 1;

/// `Duplicate::what` when `add_area` finds the area already has an intermediate.
pub const AREA_EXISTS: &str = "area";
/// `Duplicate::what` when an intermediate with the same key id is already registered.
pub const INTERMEDIATE_KEY_ID: &str = "intermediate key id";

impl Store {
    /// At `serve` start: if the area has no intermediate yet, registers `new` as its active
    /// one and records it as the signer of the area's certificates that name none (issued
    /// before areas existed); bumps the revision then. Returns all of the area's
    /// intermediates (oldest first), unchanged if it had any: after the first adoption the
    /// database, not the config, says which intermediate is active.
    /// `Error::Duplicate` (`INTERMEDIATE_KEY_ID`) if `new.key_id` belongs to another area.
    pub async fn adopt_intermediate(
        &self,
        new: &NewIntermediate,
        now: OffsetDateTime,
    ) -> Result<Vec<IntermediateRecord>, Error> {
        let tx = self.db.begin().await?;
        bump_revision(&tx).await?;
        let existing = area_intermediates(&tx, &new.area).await?;
        if !existing.is_empty() {
            tx.rollback().await?;
            return Ok(existing);
        }
        let adopted = insert(&tx, new, IntermediateStatus::Active, now).await?;
        // Served by the certificates index that starts with intermediate_id (IS NULL).
        certificates::Entity::update_many()
            .col_expr(
                certificates::Column::IntermediateId,
                Expr::value(adopted.id),
            )
            .filter(certificates::Column::IntermediateId.is_null())
            .filter(certificates::Column::Directory.eq(new.area.as_str()))
            .exec(&tx)
            .await?;
        tx.commit().await?;
        Ok(vec![adopted])
    }

    /// `basalt area add`: registers `new` as the first, active intermediate of a new area and
    /// bumps the revision. `Error::Duplicate` with `what` [`AREA_EXISTS`] if the area already
    /// has an intermediate (of any status), [`INTERMEDIATE_KEY_ID`] if the key id is taken.
    pub async fn add_area(
        &self,
        new: &NewIntermediate,
        now: OffsetDateTime,
    ) -> Result<IntermediateRecord, Error> {
        let tx = self.db.begin().await?;
        bump_revision(&tx).await?;
        let existing = intermediates::Entity::find()
            .filter(intermediates::Column::Area.eq(new.area.as_str()))
            .count(&tx)
            .await?;
        if existing > 0 {
            tx.rollback().await?;
            return Err(Error::Duplicate {
                what: AREA_EXISTS,
                detail: format!("area {:?} already has {existing} intermediate(s)", new.area),
            });
        }
        let added = insert(&tx, new, IntermediateStatus::Active, now).await?;
        tx.commit().await?;
        Ok(added)
    }

    /// `basalt area rotate`: the area's active intermediate becomes retiring
    /// (compare-and-set) and `new` becomes active, with the revision bumped, in one
    /// transaction. Returns (the old one, now retiring; the new one). `Error::NotFound` if
    /// the area has no active intermediate; `Error::Duplicate` ([`INTERMEDIATE_KEY_ID`]) if
    /// the new key id is taken.
    pub async fn rotate_intermediate(
        &self,
        new: &NewIntermediate,
        now: OffsetDateTime,
    ) -> Result<(IntermediateRecord, IntermediateRecord), Error> {
        let tx = self.db.begin().await?;
        bump_revision(&tx).await?;
        let Some(active) = intermediates::Entity::find()
            .filter(intermediates::Column::Area.eq(new.area.as_str()))
            .filter(intermediates::Column::Status.eq(IntermediateStatus::Active.as_str()))
            .into_partial_model::<intermediates::Summary>()
            .one(&tx)
            .await?
        else {
            tx.rollback().await?;
            return Err(Error::NotFound);
        };
        let old = move_status(
            &tx,
            active.id,
            IntermediateStatus::Active,
            IntermediateStatus::Retiring,
        )
        .await?;
        let added = insert(&tx, new, IntermediateStatus::Active, now).await?;
        tx.commit().await?;
        Ok((old, added))
    }

    /// Retiring intermediates none of whose certificates is unexpired at `now` become
    /// retired (their CRLs are no longer needed: RFC 5280 §3.3 lets an expired certificate
    /// leave the CRL). Only once their area's newest intermediate is older than `grace`: a
    /// replica that has not reloaded since the rotation may still sign with the old one, and
    /// its certificate must land on a CRL that is still made. Bumps the revision if any
    /// moved; returns those that moved.
    pub async fn retire_intermediates(
        &self,
        now: OffsetDateTime,
        grace: std::time::Duration,
    ) -> Result<Vec<IntermediateRecord>, Error> {
        // A cheap read first, so the periodic call takes no write lock when nothing is due.
        let retiring = intermediates::Entity::find()
            .filter(intermediates::Column::Status.eq(IntermediateStatus::Retiring.as_str()))
            .into_partial_model::<intermediates::Summary>()
            .all(&self.read)
            .await?;
        let rotated_before = to_unix(now) - i64::try_from(grace.as_secs()).unwrap_or(i64::MAX);
        let mut due = Vec::new();
        for intermediate in retiring {
            let recently_rotated = intermediates::Entity::find()
                .filter(intermediates::Column::Area.eq(intermediate.area.as_str()))
                .filter(intermediates::Column::CreatedAt.gt(rotated_before))
                .count(&self.read)
                .await?
                > 0;
            if !recently_rotated
                && !has_unexpired_certificates(&self.read, intermediate.id, now).await?
            {
                due.push(intermediate.id);
            }
        }
        if due.is_empty() {
            return Ok(Vec::new());
        }
        let tx = self.db.begin().await?;
        bump_revision(&tx).await?;
        let mut retired = Vec::new();
        for id in due {
            // Checked again under the lock: a replica that had not yet reloaded after the
            // rotation may have issued one more certificate from it.
            if has_unexpired_certificates(&tx, id, now).await? {
                continue;
            }
            match move_status(
                &tx,
                id,
                IntermediateStatus::Retiring,
                IntermediateStatus::Retired,
            )
            .await
            {
                Ok(record) => retired.push(record),
                Err(Error::WrongState { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        if retired.is_empty() {
            tx.rollback().await?;
        } else {
            tx.commit().await?;
        }
        Ok(retired)
    }

    /// The intermediates of one area, or of every area, by area then oldest first.
    pub async fn intermediates(
        &self,
        area: Option<&str>,
    ) -> Result<Vec<IntermediateRecord>, Error> {
        let mut query = intermediates::Entity::find();
        if let Some(area) = area {
            query = query.filter(intermediates::Column::Area.eq(area));
        }
        query
            .order_by_asc(intermediates::Column::Area)
            .order_by_asc(intermediates::Column::Id)
            .into_partial_model::<intermediates::Summary>()
            .all(&self.read)
            .await?
            .into_iter()
            .map(record)
            .collect()
    }

    /// The intermediate with this key id (lowercase hex SKI; served by the unique index).
    pub async fn intermediate_by_key_id(
        &self,
        key_id: &str,
    ) -> Result<Option<IntermediateRecord>, Error> {
        intermediates::Entity::find()
            .filter(intermediates::Column::KeyId.eq(key_id))
            .into_partial_model::<intermediates::Summary>()
            .one(&self.read)
            .await?
            .map(record)
            .transpose()
    }

    /// The revision of areas and intermediates: it changes whenever one of them does, so a
    /// replica that polls it knows when to reload.
    pub async fn pki_revision(&self) -> Result<i64, Error> {
        pki_state::Entity::find_by_id(PKI_STATE_ID)
            .one(&self.read)
            .await?
            .map(|row| row.revision)
            .ok_or_else(|| Error::Internal("the pki_state row is missing".into()))
    }
}

/// Bumps the revision; the first write of every change to areas (see the module doc).
async fn bump_revision(tx: &DatabaseTransaction) -> Result<(), Error> {
    let updated = pki_state::Entity::update_many()
        .col_expr(
            pki_state::Column::Revision,
            Expr::col(pki_state::Column::Revision).add(1),
        )
        .filter(pki_state::Column::Id.eq(PKI_STATE_ID))
        .exec(tx)
        .await?
        .rows_affected;
    if updated == 1 {
        Ok(())
    } else {
        Err(Error::Internal("the pki_state row is missing".into()))
    }
}

/// All intermediates of `area`, oldest first (served by the (area, status) index).
async fn area_intermediates(
    conn: &impl ConnectionTrait,
    area: &str,
) -> Result<Vec<IntermediateRecord>, Error> {
    intermediates::Entity::find()
        .filter(intermediates::Column::Area.eq(area))
        .order_by_asc(intermediates::Column::Id)
        .into_partial_model::<intermediates::Summary>()
        .all(conn)
        .await?
        .into_iter()
        .map(record)
        .collect()
}

/// True if a certificate of the intermediate is unexpired at `now`, revoked or not (a
/// revoked one must stay on the CRL until it expires).
async fn has_unexpired_certificates(
    conn: &impl ConnectionTrait,
    intermediate_id: i64,
    now: OffsetDateTime,
) -> Result<bool, Error> {
    let unexpired = certificates::Entity::find()
        .filter(certificates::Column::IntermediateId.eq(intermediate_id))
        .filter(certificates::Column::NotAfter.gt(to_unix(now)))
        .count(conn)
        .await?;
    Ok(unexpired > 0)
}

/// Compare-and-set of an intermediate's status; returns it as it is now.
async fn move_status(
    tx: &DatabaseTransaction,
    id: i64,
    from: IntermediateStatus,
    to: IntermediateStatus,
) -> Result<IntermediateRecord, Error> {
    let moved = intermediates::Entity::update_many()
        .col_expr(intermediates::Column::Status, Expr::value(to.as_str()))
        .filter(intermediates::Column::Id.eq(id))
        .filter(intermediates::Column::Status.eq(from.as_str()))
        .exec(tx)
        .await?
        .rows_affected;
    let current = intermediates::Entity::find_by_id(id)
        .into_partial_model::<intermediates::Summary>()
        .one(tx)
        .await?
        .map(record)
        .transpose()?
        .ok_or(Error::NotFound)?;
    if moved == 1 {
        Ok(current)
    } else {
        Err(Error::WrongState {
            what: format!("intermediate {id}"),
            current: current.status.to_string(),
        })
    }
}

/// Inserts an intermediate with `status` and no CRL yet.
async fn insert(
    tx: &DatabaseTransaction,
    new: &NewIntermediate,
    status: IntermediateStatus,
    now: OffsetDateTime,
) -> Result<IntermediateRecord, Error> {
    let id = intermediates::Entity::insert(intermediates::ActiveModel {
        id: NotSet,
        area: Set(new.area.clone()),
        key_id: Set(new.key_id.clone()),
        subject: Set(new.subject.clone()),
        certificate_pem: Set(new.certificate_pem.clone()),
        key_ref: Set(new.key_ref.clone()),
        status: Set(status.as_str().to_owned()),
        not_before: Set(to_unix(new.not_before)),
        not_after: Set(to_unix(new.not_after)),
        created_at: Set(to_unix(now)),
        revocations: Set(0),
        crl_revocations: Set(0),
        crl_number: Set(0),
        crl_der: Set(None),
        crl_this_update: Set(None),
        crl_next_update: Set(None),
    })
    .exec(tx)
    .await
    .map_err(|e| Error::from(e).duplicate_of(INTERMEDIATE_KEY_ID))?
    .last_insert_id;
    intermediates::Entity::find_by_id(id)
        .into_partial_model::<intermediates::Summary>()
        .one(tx)
        .await?
        .map(record)
        .transpose()?
        .ok_or(Error::NotFound)
}

pub(crate) fn record(m: intermediates::Summary) -> Result<IntermediateRecord, Error> {
    Ok(IntermediateRecord {
        status: parse_enum(&m.status, IntermediateStatus::parse, TABLE, "status", m.id)?,
        not_before: from_unix(m.not_before, TABLE, "not_before", m.id)?,
        not_after: from_unix(m.not_after, TABLE, "not_after", m.id)?,
        created_at: from_unix(m.created_at, TABLE, "created_at", m.id)?,
        crl_this_update: from_unix_opt(m.crl_this_update, TABLE, "crl_this_update", m.id)?,
        crl_next_update: from_unix_opt(m.crl_next_update, TABLE, "crl_next_update", m.id)?,
        id: m.id,
        area: m.area,
        key_id: m.key_id,
        subject: m.subject,
        certificate_pem: m.certificate_pem,
        key_ref: m.key_ref,
        revocations: m.revocations,
        crl_revocations: m.crl_revocations,
        crl_number: m.crl_number,
    })
}
