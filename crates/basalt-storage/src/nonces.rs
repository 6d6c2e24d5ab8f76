//! Used nonces: replay protection shared by all replicas (RFC 8555 §6.5).
//!
//! Nonces are issued without the database: each carries its own expiry under an HMAC, so
//! any replica can check one it did not issue. What needs shared state is "used at most
//! once": redeeming inserts the nonce here, and the primary key turns a second redemption
//! — on any replica — into a unique violation, i.e. a replay. A row is only needed while
//! the nonce could still pass the expiry check, so expired rows are deleted in batches.
//!
//! The server redeems nonces many per statement ([`Store::consume_nonces`]): every
//! statement is a hand-off to the driver's connection task and back, and that hand-off, not
//! the insert, is what a redemption costs. Tests also redeem them one at a time
//! (`Store::consume_nonce`, behind the `testing` feature).

use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use time::OffsetDateTime;

use crate::Store;
use crate::entities::used_nonces;
use crate::error::{Error, is_unique_violation};
use crate::time::to_unix;
use crate::writes::write_statement;

/// Most rows one multi-row `INSERT` of [`Store::consume_nonces`] carries. At two bind
/// parameters a row, a statement stays far below every engine's limit (SQLite's historical
/// 999 is the lowest).
const ROWS_PER_INSERT: usize = 256;

impl Store {
    /// Redeems one nonce, as [`Store::consume_nonces`] does when a batch holds a replay.
    /// Only tests redeem a single nonce.
    #[cfg(feature = "testing")]
    pub async fn consume_nonce(
        &self,
        nonce: &str,
        expires_at: OffsetDateTime,
    ) -> Result<bool, Error> {
        self.consume_one(nonce, expires_at).await
    }

    /// Redeems a nonce: `true` the first time, `false` if it was already used (a replay).
    /// `expires_at` is the nonce's own expiry; the row is kept at least until then.
    async fn consume_one(&self, nonce: &str, expires_at: OffsetDateTime) -> Result<bool, Error> {
        let inserted = write_statement!(self, |conn| {
            used_nonces::Entity::insert(used_nonces::ActiveModel {
                nonce: Set(nonce.to_owned()),
                expires_at: Set(to_unix(expires_at)),
            })
            .exec_without_returning(conn)
            .await
        });
        match inserted {
            Ok(_) => Ok(true),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Redeems several nonces, each with its own expiry (the row is kept at least until then):
    /// one boolean per input, in input order, `true` for a first use and `false` for a
    /// replay. Of equal nonces within `nonces`, only the first can be `true`.
    ///
    /// Why a batch: each statement is a round trip to the driver's connection task (a
    /// thread hop on SQLite), which costs more CPU than the insert itself, so the server
    /// redeems the nonces of concurrent requests together. The common case, no replay, is
    /// one multi-row `INSERT` (per [`ROWS_PER_INSERT`] nonces). A statement is atomic on
    /// every engine, so if any nonce was already used (possibly through another replica)
    /// the `INSERT` fails with a unique violation and inserts nothing; then each nonce is
    /// inserted on its own to tell which ones were fresh.
    /// Rows go in sorted by nonce, so replicas inserting overlapping batches (a replay sent
    /// to two of them) take the primary key's locks in the same order rather than
    /// deadlocking on each other.
    pub async fn consume_nonces(
        &self,
        nonces: &[(String, OffsetDateTime)],
    ) -> Result<Vec<bool>, Error> {
        let mut first_use = vec![false; nonces.len()];
        // Indexes of the first occurrence of each nonce, sorted by nonce (a stable sort, so
        // of equal nonces the earliest comes first and is the one kept).
        let mut distinct: Vec<usize> = (0..nonces.len()).collect();
        distinct.sort_by(|&a, &b| nonces[a].0.cmp(&nonces[b].0));
        distinct.dedup_by(|later, kept| nonces[*later].0 == nonces[*kept].0);
        for chunk in distinct.chunks(ROWS_PER_INSERT) {
            let rows = chunk.iter().map(|&i| used_nonces::ActiveModel {
                nonce: Set(nonces[i].0.clone()),
                expires_at: Set(to_unix(nonces[i].1)),
            });
            let inserted = write_statement!(self, |conn| {
                used_nonces::Entity::insert_many(rows)
                    .exec_without_returning(conn)
                    .await
            });
            match inserted {
                Ok(_) => chunk.iter().for_each(|&i| first_use[i] = true),
                Err(e) if is_unique_violation(&e) => {
                    for &i in chunk {
                        let (nonce, expires_at) = &nonces[i];
                        first_use[i] = self.consume_one(nonce, *expires_at).await?;
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(first_use)
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
