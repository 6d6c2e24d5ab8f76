//! Named leases: at most one replica runs a singleton job (a cleanup sweep, the serving
//! certificate renewal) at a time. A lease is held until it expires or is released; the
//! holder renews it before expiry, and anyone may take over an expired lease. Holders
//! must not assume the job is exclusive past the expiry they last set.

use std::time::Duration;

use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter};
use time::OffsetDateTime;

use crate::Store;
use crate::entities::leases;
use crate::error::{Error, is_unique_violation};
use crate::time::{to_unix, unix_after};

impl Store {
    /// Acquires or renews the lease `name` for `holder` until `now + ttl`. True if
    /// `holder` now holds it; false if another holder's lease is still running.
    pub async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now: OffsetDateTime,
        ttl: Duration,
    ) -> Result<bool, Error> {
        let expires_at = unix_after(now, ttl);
        // Renew our own lease or take over an expired one (compare-and-set) ...
        let taken = leases::Entity::update_many()
            .col_expr(leases::Column::Holder, Expr::value(holder))
            .col_expr(leases::Column::ExpiresAt, Expr::value(expires_at))
            .filter(leases::Column::Name.eq(name))
            .filter(
                Condition::any()
                    .add(leases::Column::Holder.eq(holder))
                    .add(leases::Column::ExpiresAt.lt(to_unix(now))),
            )
            .exec(&self.db)
            .await?
            .rows_affected;
        if taken == 1 {
            return Ok(true);
        }
        // ... or create it; the primary key lets only one of several creators win.
        let inserted = leases::Entity::insert(leases::ActiveModel {
            name: Set(name.to_owned()),
            holder: Set(holder.to_owned()),
            expires_at: Set(expires_at),
        })
        .exec_without_returning(&self.db)
        .await;
        match inserted {
            Ok(_) => Ok(true),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Gives up the lease if `holder` holds it (so another replica need not wait for it to
    /// expire); does nothing otherwise.
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<(), Error> {
        leases::Entity::delete_many()
            .filter(leases::Column::Name.eq(name))
            .filter(leases::Column::Holder.eq(holder))
            .exec(&self.db)
            .await?;
        Ok(())
    }
}
