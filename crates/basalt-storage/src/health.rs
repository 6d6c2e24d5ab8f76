//! What operators watch the database through (issue 17): statement timing for metrics, the
//! pools' use, whether migrations are pending, and the certificates about to expire.

use std::sync::Arc;
use std::time::Duration;

use basalt_migration::{Migrator, MigratorTrait};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DatabaseConnectionType, EntityTrait, QueryFilter, QuerySelect,
};
use time::OffsetDateTime;

use crate::Store;
use crate::entities::certificates;
use crate::error::Error;
use crate::time::to_unix;

/// Called after every statement with its duration and whether it failed (for a latency
/// histogram); it must be cheap, it runs on the query path.
pub type QueryObserver = Arc<dyn Fn(Duration, bool) + Send + Sync>;

/// Connections of one pool at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    /// `"writer"` (every write and transaction; on SQLite its one connection) or `"reader"`
    /// (SQLite's read-only pool; PostgreSQL and MySQL use one pool, reported as `"writer"`).
    pub pool: &'static str,
    pub idle: u32,
    pub in_use: u32,
}

impl Store {
    /// The pools' connections now.
    pub fn pool_status(&self) -> Vec<PoolStatus> {
        let mut pools = vec![status_of("writer", &self.db)];
        if self.log.is_some() {
            // SQLite: the read-only pool is a pool of its own.
            pools.push(status_of("reader", &self.read));
        }
        pools
    }

    /// Migrations this binary knows that the database has not applied (0 when up to date;
    /// more means another replica's newer schema work is unfinished, or a failed start).
    pub async fn pending_migrations(&self) -> Result<usize, Error> {
        Ok(Migrator::get_pending_migrations(&self.read).await?.len())
    }

    /// Per area, the unrevoked certificates whose notAfter is after `now` and at most
    /// `until`: the fleet's certificates about to lapse if nobody renews them. Served by the
    /// `not_after` index.
    pub async fn certificates_expiring(
        &self,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Vec<(String, u64)>, Error> {
        let rows = certificates::Entity::find()
            .select_only()
            .column(certificates::Column::Directory)
            .column_as(certificates::Column::Id.count(), "count")
            .filter(certificates::Column::NotAfter.gt(to_unix(now)))
            .filter(certificates::Column::NotAfter.lte(to_unix(until)))
            .filter(certificates::Column::RevokedAt.is_null())
            .group_by(certificates::Column::Directory)
            .into_tuple::<(String, i64)>()
            .all(&self.read)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(area, count)| (area, u64::try_from(count).unwrap_or(0)))
            .collect())
    }
}

fn status_of(pool: &'static str, db: &DatabaseConnection) -> PoolStatus {
    let (size, idle) = match &db.inner {
        DatabaseConnectionType::SqlxPostgresPoolConnection(_) => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        DatabaseConnectionType::SqlxMySqlPoolConnection(_) => {
            let pool = db.get_mysql_connection_pool();
            (pool.size(), pool.num_idle())
        }
        DatabaseConnectionType::SqlxSqlitePoolConnection(_) => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
        #[allow(unreachable_patterns)]
        _ => (0, 0),
    };
    let idle = u32::try_from(idle).unwrap_or(u32::MAX);
    PoolStatus {
        pool,
        idle,
        in_use: size.saturating_sub(idle),
    }
}
