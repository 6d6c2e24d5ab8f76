//! Used nonces: replay protection shared by all replicas (RFC 8555 §6.5).
//!
//! Nonces are issued without the database: each carries its own expiry under an HMAC, so
//! any replica can check one it did not issue. What needs shared state is "used at most
//! once": redeeming inserts the nonce here, and the primary key turns a second redemption
//! — on any replica — into a unique violation, i.e. a replay. A row is only needed while
//! the nonce could still pass the expiry check, so expired rows are deleted in batches.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, SqlErr,
};
use time::OffsetDateTime;

use crate::Store;
use crate::entities::used_nonces;
use crate::error::Error;
use crate::time::to_unix;

impl Store {
    /// Redeems a nonce: `true` the first time, `false` if it was already used (a replay).
    /// `expires_at` is the nonce's own expiry; the row is kept at least until then.
    pub async fn consume_nonce(
        &self,
        nonce: &str,
        expires_at: OffsetDateTime,
    ) -> Result<bool, Error> {
        let inserted = used_nonces::Entity::insert(used_nonces::ActiveModel {
            nonce: Set(nonce.to_owned()),
            expires_at: Set(to_unix(expires_at)),
        })
        .exec_without_returning(&self.db)
        .await;
        match inserted {
            Ok(_) => Ok(true),
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes at most `limit` nonces that expired before `now` (whole seconds: a nonce
    /// stored as expiring in second `s` is deleted from second `s + 1`, after it can no
    /// longer pass the expiry check). Bounded so a backlog never becomes one huge
    /// statement; returns how many were deleted (call again while it returns `limit`).
    pub async fn delete_expired_nonces(
        &self,
        now: OffsetDateTime,
        limit: u64,
    ) -> Result<u64, Error> {
        let expired = used_nonces::Entity::find()
            .select_only()
            .column(used_nonces::Column::Nonce)
            .filter(used_nonces::Column::ExpiresAt.lt(to_unix(now)))
            .order_by_asc(used_nonces::Column::ExpiresAt)
            .limit(limit)
            .into_tuple::<String>()
            .all(&self.db)
            .await?;
        if expired.is_empty() {
            return Ok(0);
        }
        Ok(used_nonces::Entity::delete_many()
            .filter(used_nonces::Column::Nonce.is_in(expired))
            .exec(&self.db)
            .await?
            .rows_affected)
    }
}
