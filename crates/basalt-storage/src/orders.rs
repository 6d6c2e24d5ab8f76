//! Orders (RFC 8555 §7.4): creation together with their authorizations, listing, and
//! failing them. Finalization is in `issuances.rs`.

use std::collections::BTreeSet;

use basalt_protocol::{AccountStatus, AuthorizationStatus, OrderStatus, Problem};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::NotSet, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::Store;
use crate::codec::{from_json, from_json_opt, parse_enum, to_json};
use crate::entities::{accounts, authorizations, challenges, order_authorizations, orders};
use crate::error::Error;
use crate::records::{AuthorizationPlan, AuthorizationRecord, NewOrder, OrderRecord};
use crate::time::{from_unix, from_unix_opt, to_unix, to_unix_opt};
use crate::writes::write_transaction;
use crate::{authorizations as authz, links};

const TABLE: &str = "orders";

impl Store {
    /// Creates an order and its authorizations in one transaction, for a valid account
    /// (`Error::WrongState` otherwise): new authorizations
    /// (with their challenges) are inserted, reused ones are linked after checking, under a
    /// shared row lock, that they belong to the account and are still pending or valid and
    /// unexpired (`Error::WrongState` otherwise: the caller's plan went stale; plan again).
    /// The order starts `ready` when every authorization is reused and already valid
    /// (RFC 8555 §7.1.6), `pending` otherwise. With `replaces` (RFC 9773 §5) it also claims
    /// the replaced certificate, or fails with `Error::Duplicate` named
    /// [`ALREADY_REPLACED`](crate::ALREADY_REPLACED) when a live order already replaces it.
    pub async fn create_order(&self, new: &NewOrder) -> Result<OrderRecord, Error> {
        let now = to_unix(new.now);
        let mut row = orders::Model {
            id: 0,
            account_id: new.account_id,
            directory: new.directory.clone(),
            status: OrderStatus::Pending.as_str().to_owned(),
            identifiers: to_json(&new.identifiers)?,
            not_before: to_unix_opt(new.not_before),
            not_after: to_unix_opt(new.not_after),
            expires_at: to_unix(new.expires_at),
            error: None,
            certificate_serial: None,
            created_at: now,
            replaces: new.replaces.as_ref().map(|r| r.cert_id.clone()),
            profile: new.profile.clone(),
        };
        let authorization_ids = write_transaction!(self, |tx| {
            // Write first: takes SQLite's write lock before anything is read.
            let mut insert: orders::ActiveModel = row.clone().into();
            insert.id = NotSet;
            let order_id = orders::Entity::insert(insert)
                .exec(tx)
                .await?
                .last_insert_id;
            row.id = order_id;

            // The account must still be valid; the shared lock holds off a concurrent
            // deactivation (which would otherwise miss this not-yet-committed order) until we
            // commit.
            let account_status = accounts::Entity::find_by_id(new.account_id)
                .select_only()
                .column(accounts::Column::Status)
                .lock_shared()
                .into_tuple::<String>()
                .one(tx)
                .await?
                .ok_or(Error::NotFound)?;
            if account_status != AccountStatus::Valid.as_str() {
                return Err(Error::WrongState {
                    what: format!("account {}", new.account_id),
                    current: account_status,
                });
            }

            let mut authorization_ids = BTreeSet::new();
            let mut all_valid = !new.authorizations.is_empty();
            for plan in &new.authorizations {
                match plan {
                    AuthorizationPlan::Reuse(id) => {
                        let status = links::lock_for_reuse(tx, *id, new.account_id, now).await?;
                        all_valid &= status == AuthorizationStatus::Valid;
                        authorization_ids.insert(*id);
                    }
                    AuthorizationPlan::Create(authorization) => {
                        all_valid = false;
                        let id = authz::insert(tx, new.account_id, authorization, now).await?;
                        authorization_ids.insert(id);
                    }
                }
            }
            // RFC 9773 §5: claim the replaced certificate last, so a refused claim rolls the
            // whole order back.
            if let Some(replacement) = &new.replaces {
                crate::renewal::claim_replacement(tx, replacement, order_id, new.now).await?;
            }
            // By id, as `load` returns them.
            let authorization_ids: Vec<i64> = authorization_ids.into_iter().collect();
            links::insert(tx, order_id, &authorization_ids).await?;
            if all_valid {
                orders::Entity::update_many()
                    .col_expr(
                        orders::Column::Status,
                        Expr::value(OrderStatus::Ready.as_str()),
                    )
                    .filter(orders::Column::Id.eq(order_id))
                    .exec(tx)
                    .await?;
                row.status = OrderStatus::Ready.as_str().to_owned();
            }
            authorization_ids
        });
        // Built from what was written, not read back: one round trip less under the lock.
        record(row, authorization_ids)
    }

    /// The order with this id, with its authorization ids.
    pub async fn order(&self, id: i64) -> Result<Option<OrderRecord>, Error> {
        load(&self.lookup, id).await
    }

    /// The order with its authorizations (by id, each with its challenges), in one statement:
    /// what finalization reads (its CAA recheck looks at when each was validated).
    pub async fn order_with_authorizations(
        &self,
        id: i64,
    ) -> Result<Option<(OrderRecord, Vec<AuthorizationRecord>)>, Error> {
        let rows = orders::Entity::find_by_id(id)
            .find_also_related(order_authorizations::Entity)
            .find_also(order_authorizations::Entity, authorizations::Entity)
            .find_also(authorizations::Entity, challenges::Entity)
            .order_by_asc(order_authorizations::Column::AuthorizationId)
            .order_by_asc(challenges::Column::Id)
            .into_model::<orders::Model, order_authorizations::Model, authorizations::Model, challenges::Model>()
            .all(&self.lookup)
            .await?;
        let Some((order, ..)) = rows.first() else {
            return Ok(None);
        };
        let order = order.clone();
        // Rows come by authorization, then challenge: one authorization per run of rows.
        let mut authorization_ids = Vec::new();
        let mut joined: Vec<(authorizations::Model, Vec<challenges::Model>)> = Vec::new();
        for (_, link, authorization, challenge) in rows {
            let Some(link) = link else { continue };
            if authorization_ids.last() != Some(&link.authorization_id) {
                authorization_ids.push(link.authorization_id);
                if let Some(authorization) = authorization {
                    joined.push((authorization, Vec::new()));
                }
            }
            if let (Some(challenge), Some((_, challenges))) = (challenge, joined.last_mut()) {
                challenges.push(challenge);
            }
        }
        let authorizations = joined
            .into_iter()
            .map(|(m, challenges)| authz::record(m, challenges))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some((record(order, authorization_ids)?, authorizations)))
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
            .all(&self.lookup)
            .await?)
    }

    /// Marks a ready (or processing) order invalid with the problem that ended it.
    /// `Error::NotFound` if there is no such order, `Error::WrongState` if it is in another
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
            return Err(Error::WrongState {
                what: format!("order {order_id}"),
                current: order.status.to_string(),
            });
        }
        Ok(())
    }
}

/// Reads one order and its authorization ids through `conn`, in one statement (a left
/// join on the link table; see `authorizations::load_where` for why).
pub(crate) async fn load(
    conn: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<OrderRecord>, Error> {
    let Some((m, links)) = orders::Entity::find_by_id(id)
        .find_with_related(order_authorizations::Entity)
        .order_by_asc(order_authorizations::Column::AuthorizationId)
        .all(conn)
        .await?
        .pop()
    else {
        return Ok(None);
    };
    record(m, links.into_iter().map(|l| l.authorization_id).collect()).map(Some)
}

fn record(m: orders::Model, authorization_ids: Vec<i64>) -> Result<OrderRecord, Error> {
    Ok(OrderRecord {
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
        replaces: m.replaces,
        authorization_ids,
        profile: m.profile,
    })
}
