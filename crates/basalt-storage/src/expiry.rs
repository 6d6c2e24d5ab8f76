//! Expiry clean-up: removing orders and authorizations that expired before a cut-off, in
//! bounded batches.
//!
//! What goes and what stays:
//! * Orders in every status but `valid` (pending, ready, processing, invalid) go with their
//!   authorization links. A valid order is the record of an issued certificate (the
//!   certificate row references it) and stays as long as the certificate does.
//! * Authorizations in every status go with their challenges and their links to orders,
//!   also links from valid orders: like Boulder, which purges expired authorizations, an old
//!   valid order then lists fewer authorizations (none once all have gone). Nothing reads
//!   an authorization after it expired except a client looking at history.
//!
//! Each batch selects at most `limit` ids through an index (`ix_orders_status_expires_at`,
//! `ix_authorizations_expires_at`) and deletes them and their children in one transaction,
//! so a backlog never turns into one huge statement or one long lock. Deletes are
//! idempotent, so a batch that fails half-way (nothing committed) is simply done again.

use basalt_protocol::OrderStatus;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait};
use time::OffsetDateTime;

use crate::Store;
use crate::entities::{authorizations, challenges, order_authorizations, orders};
use crate::error::Error;
use crate::time::to_unix;

/// The order states whose expired orders are deleted: all but `valid`.
const DELETABLE_ORDER_STATES: [OrderStatus; 4] = [
    OrderStatus::Pending,
    OrderStatus::Ready,
    OrderStatus::Processing,
    OrderStatus::Invalid,
];

impl Store {
    /// Deletes at most `limit` orders that are not valid and expired before `cutoff`,
    /// with their links to authorizations (the authorizations themselves expire on their
    /// own schedule). Returns how many orders were deleted; call again while it returns
    /// `limit`.
    pub async fn delete_expired_orders(
        &self,
        cutoff: OffsetDateTime,
        limit: u64,
    ) -> Result<u64, Error> {
        let states = DELETABLE_ORDER_STATES.map(OrderStatus::as_str);
        let ids = orders::Entity::find()
            .select_only()
            .column(orders::Column::Id)
            .filter(orders::Column::Status.is_in(states))
            .filter(orders::Column::ExpiresAt.lt(to_unix(cutoff)))
            .order_by_asc(orders::Column::ExpiresAt)
            .limit(limit)
            .into_tuple::<i64>()
            .all(&self.db)
            .await?;
        if ids.is_empty() {
            return Ok(0);
        }
        let tx = self.db.begin().await?;
        order_authorizations::Entity::delete_many()
            .filter(order_authorizations::Column::OrderId.is_in(ids.clone()))
            .exec(&tx)
            .await?;
        // The status filter again: never delete an order that became valid meanwhile (it
        // cannot, being expired, but the certificate's foreign key would refuse it anyway).
        let deleted = orders::Entity::delete_many()
            .filter(orders::Column::Id.is_in(ids))
            .filter(orders::Column::Status.is_in(states))
            .exec(&tx)
            .await?
            .rows_affected;
        tx.commit().await?;
        Ok(deleted)
    }

    /// Deletes at most `limit` authorizations (any status) that expired before `cutoff`,
    /// with their challenges and their links to orders. Returns how many authorizations
    /// were deleted; call again while it returns `limit`.
    pub async fn delete_expired_authorizations(
        &self,
        cutoff: OffsetDateTime,
        limit: u64,
    ) -> Result<u64, Error> {
        let ids = authorizations::Entity::find()
            .select_only()
            .column(authorizations::Column::Id)
            .filter(authorizations::Column::ExpiresAt.lt(to_unix(cutoff)))
            .order_by_asc(authorizations::Column::ExpiresAt)
            .limit(limit)
            .into_tuple::<i64>()
            .all(&self.db)
            .await?;
        if ids.is_empty() {
            return Ok(0);
        }
        let tx = self.db.begin().await?;
        challenges::Entity::delete_many()
            .filter(challenges::Column::AuthorizationId.is_in(ids.clone()))
            .exec(&tx)
            .await?;
        order_authorizations::Entity::delete_many()
            .filter(order_authorizations::Column::AuthorizationId.is_in(ids.clone()))
            .exec(&tx)
            .await?;
        let deleted = authorizations::Entity::delete_many()
            .filter(authorizations::Column::Id.is_in(ids))
            .filter(authorizations::Column::ExpiresAt.lt(to_unix(cutoff)))
            .exec(&tx)
            .await?
            .rows_affected;
        tx.commit().await?;
        Ok(deleted)
    }
}
