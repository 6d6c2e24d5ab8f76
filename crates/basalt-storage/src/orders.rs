//! Orders (RFC 8555 §7.4): creation together with their authorizations, listing, and
//! finalization, which commits the certificate and the order's new status together.

use std::collections::BTreeSet;

use basalt_protocol::{AccountStatus, AuthorizationStatus, OrderStatus, Problem};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};
use time::OffsetDateTime;

use crate::Store;
use crate::codec::{from_json, from_json_opt, parse_enum, to_json};
use crate::entities::{accounts, authorizations, order_authorizations, orders};
use crate::error::Error;
use crate::records::{AuthorizationPlan, FinalizeOutcome, NewCertificate, NewOrder, OrderRecord};
use crate::time::{from_unix, from_unix_opt, to_unix, to_unix_opt};
use crate::{authorizations as authz, certificates};

const TABLE: &str = "orders";

impl Store {
    /// Creates an order and its authorizations in one transaction, for a valid account
    /// (`Error::Conflict` otherwise): new authorizations
    /// (with their challenges) are inserted, reused ones are linked after checking, under a
    /// shared row lock, that they belong to the account and are still pending or valid and
    /// unexpired (`Error::Conflict` otherwise: the caller's plan went stale; plan again).
    /// The order starts `ready` when every authorization is reused and already valid
    /// (RFC 8555 §7.1.6), `pending` otherwise.
    pub async fn create_order(&self, new: &NewOrder) -> Result<OrderRecord, Error> {
        let now = to_unix(new.now);
        let tx = self.db.begin().await?;
        // Write first: takes SQLite's write lock before anything is read.
        let order_id = orders::Entity::insert(orders::ActiveModel {
            id: NotSet,
            account_id: Set(new.account_id),
            directory: Set(new.directory.clone()),
            status: Set(OrderStatus::Pending.as_str().to_owned()),
            identifiers: Set(to_json(&new.identifiers)?),
            not_before: Set(to_unix_opt(new.not_before)),
            not_after: Set(to_unix_opt(new.not_after)),
            expires_at: Set(to_unix(new.expires_at)),
            error: Set(None),
            certificate_serial: Set(None),
            created_at: Set(now),
        })
        .exec(&tx)
        .await?
        .last_insert_id;

        // The account must still be valid; the shared lock holds off a concurrent
        // deactivation (which would otherwise miss this not-yet-committed order) until we
        // commit.
        let account_status = accounts::Entity::find_by_id(new.account_id)
            .select_only()
            .column(accounts::Column::Status)
            .lock_shared()
            .into_tuple::<String>()
            .one(&tx)
            .await?
            .ok_or(Error::NotFound)?;
        if account_status != AccountStatus::Valid.as_str() {
            return Err(Error::Conflict(format!(
                "account {} is {account_status}, not valid",
                new.account_id
            )));
        }

        let mut authorization_ids = BTreeSet::new();
        let mut all_valid = !new.authorizations.is_empty();
        for plan in &new.authorizations {
            match plan {
                AuthorizationPlan::Reuse(id) => {
                    let status = authz::lock_for_reuse(&tx, *id, new.account_id, now).await?;
                    all_valid &= status == AuthorizationStatus::Valid;
                    authorization_ids.insert(*id);
                }
                AuthorizationPlan::Create(authorization) => {
                    all_valid = false;
                    let id = authz::insert(&tx, new.account_id, authorization, now).await?;
                    authorization_ids.insert(id);
                }
            }
        }
        if !authorization_ids.is_empty() {
            order_authorizations::Entity::insert_many(authorization_ids.iter().map(|&id| {
                order_authorizations::ActiveModel {
                    order_id: Set(order_id),
                    authorization_id: Set(id),
                }
            }))
            .exec_without_returning(&tx)
            .await?;
        }
        if all_valid {
            orders::Entity::update_many()
                .col_expr(
                    orders::Column::Status,
                    Expr::value(OrderStatus::Ready.as_str()),
                )
                .filter(orders::Column::Id.eq(order_id))
                .exec(&tx)
                .await?;
        }
        let order = load(&tx, order_id).await?.ok_or(Error::NotFound)?;
        tx.commit().await?;
        Ok(order)
    }

    /// The order with this id, with its authorization ids.
    pub async fn order(&self, id: i64) -> Result<Option<OrderRecord>, Error> {
        load(&self.read, id).await
    }

    /// One page of an account's order ids (RFC 8555 §7.1.2.1), ascending, after `after_id`,
    /// leaving out invalid orders.
    pub async fn order_ids_for_account(
        &self,
        account_id: i64,
        after_id: Option<i64>,
        limit: u64,
    ) -> Result<Vec<i64>, Error> {
        // RFC 8555 §7.1.2.1: the list "SHOULD NOT include orders that are invalid".
        let mut query = orders::Entity::find()
            .select_only()
            .column(orders::Column::Id)
            .filter(orders::Column::AccountId.eq(account_id))
            .filter(orders::Column::Status.ne(OrderStatus::Invalid.as_str()));
        if let Some(after) = after_id {
            query = query.filter(orders::Column::Id.gt(after));
        }
        Ok(query
            .order_by_asc(orders::Column::Id)
            .limit(limit)
            .into_tuple::<i64>()
            .all(&self.read)
            .await?)
    }

    /// Finalizes an order (RFC 8555 §7.4) in one transaction:
    /// 1. compare-and-set `ready → processing` for an unexpired order — the first statement,
    ///    so it also takes SQLite's write lock, and of two concurrent finalizations exactly
    ///    one proceeds; if no row moved, returns `NotReady` with the order as it is;
    /// 2. calls `sign` (synchronous, no database) with the order;
    /// 3. on `Err`, rolls back — the order stays ready — and returns `Rejected`;
    /// 4. on `Ok`, stores the certificate and sets the order valid with its serial, and
    ///    commits before returning `Issued`.
    ///
    /// A crash anywhere before the commit leaves the order ready and no certificate, so a
    /// `processing` order is never left behind.
    pub async fn finalize_order<E: Send>(
        &self,
        order_id: i64,
        now: OffsetDateTime,
        sign: impl FnOnce(&OrderRecord) -> Result<NewCertificate, E> + Send,
    ) -> Result<FinalizeOutcome<E>, Error> {
        let tx = self.db.begin().await?;
        let moved = orders::Entity::update_many()
            .col_expr(
                orders::Column::Status,
                Expr::value(OrderStatus::Processing.as_str()),
            )
            .filter(orders::Column::Id.eq(order_id))
            .filter(orders::Column::Status.eq(OrderStatus::Ready.as_str()))
            .filter(orders::Column::ExpiresAt.gt(to_unix(now)))
            .exec(&tx)
            .await?
            .rows_affected;
        if moved == 0 {
            tx.rollback().await?;
            let order = load(&self.db, order_id).await?.ok_or(Error::NotFound)?;
            return Ok(FinalizeOutcome::NotReady(order));
        }
        let order = load(&tx, order_id).await?.ok_or(Error::NotFound)?;
        let new_certificate = match sign(&order) {
            Ok(certificate) => certificate,
            Err(e) => {
                // Nothing was committed whether or not the rollback reaches the database
                // (an unfinished transaction is rolled back when its connection closes).
                if let Err(rollback) = tx.rollback().await {
                    tracing::warn!(
                        order_id,
                        error = %rollback,
                        "rollback after rejected signing failed"
                    );
                }
                return Ok(FinalizeOutcome::Rejected(e));
            }
        };
        let certificate_id =
            certificates::insert(&tx, &order, &new_certificate, to_unix(now)).await?;
        orders::Entity::update_many()
            .col_expr(
                orders::Column::Status,
                Expr::value(OrderStatus::Valid.as_str()),
            )
            .col_expr(
                orders::Column::CertificateSerial,
                Expr::value(new_certificate.serial.clone()),
            )
            .filter(orders::Column::Id.eq(order_id))
            .filter(orders::Column::Status.eq(OrderStatus::Processing.as_str()))
            .exec(&tx)
            .await?;
        let order = load(&tx, order_id).await?.ok_or(Error::NotFound)?;
        let certificate = certificates::load_by_id(&tx, certificate_id)
            .await?
            .ok_or(Error::NotFound)?;
        tx.commit().await?;
        Ok(FinalizeOutcome::Issued { order, certificate })
    }

    /// Marks a ready (or processing) order invalid with the problem that ended it.
    /// `Error::NotFound` if there is no such order, `Error::Conflict` if it is in another
    /// state (nothing changes then).
    pub async fn fail_order(&self, order_id: i64, problem: &Problem) -> Result<(), Error> {
        let moved = orders::Entity::update_many()
            .col_expr(
                orders::Column::Status,
                Expr::value(OrderStatus::Invalid.as_str()),
            )
            .col_expr(orders::Column::Error, Expr::value(to_json(problem)?))
            .filter(orders::Column::Id.eq(order_id))
            .filter(orders::Column::Status.is_in([
                OrderStatus::Ready.as_str(),
                OrderStatus::Processing.as_str(),
            ]))
            .exec(&self.db)
            .await?
            .rows_affected;
        if moved == 0 {
            let order = load(&self.db, order_id).await?.ok_or(Error::NotFound)?;
            return Err(Error::Conflict(format!(
                "order {order_id} is {}, neither ready nor processing",
                order.status
            )));
        }
        Ok(())
    }
}

/// Reads one order and its authorization ids through `conn`.
pub(crate) async fn load(
    conn: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<OrderRecord>, Error> {
    let Some(m) = orders::Entity::find_by_id(id).one(conn).await? else {
        return Ok(None);
    };
    let authorization_ids = order_authorizations::Entity::find()
        .select_only()
        .column(order_authorizations::Column::AuthorizationId)
        .filter(order_authorizations::Column::OrderId.eq(id))
        .order_by_asc(order_authorizations::Column::AuthorizationId)
        .into_tuple::<i64>()
        .all(conn)
        .await?;
    Ok(Some(OrderRecord {
        status: parse_enum(&m.status, OrderStatus::parse, TABLE, "status", m.id)?,
        identifiers: from_json(&m.identifiers, TABLE, "identifiers", m.id)?,
        not_before: from_unix_opt(m.not_before, TABLE, "not_before", m.id)?,
        not_after: from_unix_opt(m.not_after, TABLE, "not_after", m.id)?,
        expires_at: from_unix(m.expires_at, TABLE, "expires_at", m.id)?,
        error: from_json_opt::<Problem>(m.error.as_deref(), TABLE, "error", m.id)?,
        created_at: from_unix(m.created_at, TABLE, "created_at", m.id)?,
        id: m.id,
        account_id: m.account_id,
        directory: m.directory,
        certificate_serial: m.certificate_serial,
        authorization_ids,
    }))
}

/// The ids of the orders linked to an authorization that are in one of `statuses`.
pub(crate) async fn linked_order_ids(
    conn: &impl ConnectionTrait,
    authorization_id: i64,
    statuses: &[OrderStatus],
) -> Result<Vec<i64>, Error> {
    let linked = order_authorizations::Entity::find()
        .select_only()
        .column(order_authorizations::Column::OrderId)
        .filter(order_authorizations::Column::AuthorizationId.eq(authorization_id))
        .into_tuple::<i64>()
        .all(conn)
        .await?;
    if linked.is_empty() {
        return Ok(linked);
    }
    Ok(orders::Entity::find()
        .select_only()
        .column(orders::Column::Id)
        .filter(orders::Column::Id.is_in(linked))
        .filter(orders::Column::Status.is_in(statuses.iter().map(|s| s.as_str())))
        .order_by_asc(orders::Column::Id)
        .into_tuple::<i64>()
        .all(conn)
        .await?)
}

/// Marks the given orders invalid with `problem`, if they are still in one of `from`.
pub(crate) async fn invalidate(
    conn: &impl ConnectionTrait,
    order_ids: Vec<i64>,
    from: &[OrderStatus],
    problem: &Problem,
) -> Result<(), Error> {
    if order_ids.is_empty() {
        return Ok(());
    }
    orders::Entity::update_many()
        .col_expr(
            orders::Column::Status,
            Expr::value(OrderStatus::Invalid.as_str()),
        )
        .col_expr(orders::Column::Error, Expr::value(to_json(problem)?))
        .filter(orders::Column::Id.is_in(order_ids))
        .filter(orders::Column::Status.is_in(from.iter().map(|s| s.as_str())))
        .exec(conn)
        .await?;
    Ok(())
}

/// Moves pending orders to ready when all their authorizations are valid. Each order row
/// is locked first (`FOR UPDATE` on PostgreSQL; SQLite's write lock is already held), so
/// two validations of the same order's authorizations committing concurrently cannot both
/// see the other's authorization as still pending and leave the order stuck.
pub(crate) async fn promote_ready(
    conn: &impl ConnectionTrait,
    order_ids: Vec<i64>,
) -> Result<(), Error> {
    for order_id in order_ids {
        let locked = orders::Entity::find_by_id(order_id)
            .filter(orders::Column::Status.eq(OrderStatus::Pending.as_str()))
            .lock_exclusive()
            .one(conn)
            .await?;
        if locked.is_none() {
            continue;
        }
        let authorization_ids = order_authorizations::Entity::find()
            .select_only()
            .column(order_authorizations::Column::AuthorizationId)
            .filter(order_authorizations::Column::OrderId.eq(order_id))
            .into_tuple::<i64>()
            .all(conn)
            .await?;
        let not_valid = authorizations::Entity::find()
            .select_only()
            .column(authorizations::Column::Id)
            .filter(authorizations::Column::Id.is_in(authorization_ids))
            .filter(authorizations::Column::Status.ne(AuthorizationStatus::Valid.as_str()))
            .limit(1)
            .into_tuple::<i64>()
            .one(conn)
            .await?;
        if not_valid.is_none() {
            orders::Entity::update_many()
                .col_expr(
                    orders::Column::Status,
                    Expr::value(OrderStatus::Ready.as_str()),
                )
                .filter(orders::Column::Id.eq(order_id))
                .filter(orders::Column::Status.eq(OrderStatus::Pending.as_str()))
                .exec(conn)
                .await?;
        }
    }
    Ok(())
}
