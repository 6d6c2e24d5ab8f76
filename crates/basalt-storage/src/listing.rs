//! The admin listings behind `basalt certs list`, `basalt accounts list` and the counts of
//! `basalt area list`.
//!
//! These run from the command line, never on a request path. They are newest-first walks of
//! the primary key (or of the account or intermediate index when that filter is given),
//! bounded by the caller's limit; the other filters (area, name, status) are checked on the
//! rows walked rather than served by an index of their own, which would cost every
//! certificate insert for the sake of an occasional operator query.

use std::collections::HashMap;

use sea_orm::sea_query::{Expr, Func, LikeExpr};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select};
use time::OffsetDateTime;

use crate::Store;
use crate::certificates::record as certificate_record;
use crate::codec::{like_containing, to_json};
use crate::entities::{accounts, certificates};
use crate::error::Error;
use crate::records::{
    AccountFilter, AccountRecord, CertificateCounts, CertificateFilter, CertificateRecord,
    CertificateStatus,
};
use crate::time::{to_unix, unix_after};

impl Store {
    /// The certificates matching every set field of `filter`, newest first.
    pub async fn list_certificates(
        &self,
        filter: &CertificateFilter,
    ) -> Result<Vec<CertificateRecord>, Error> {
        let now = to_unix(filter.now);
        let mut query = certificates::Entity::find();
        if let Some(area) = &filter.area {
            query = query.filter(certificates::Column::Directory.eq(area.as_str()));
        }
        if let Some(account_id) = filter.account_id {
            query = query.filter(certificates::Column::AccountId.eq(account_id));
        }
        if let Some(name) = &filter.name {
            query = query.filter(certificates::Column::Names.like(name_pattern(name)?));
        }
        query = match filter.status {
            None => query,
            Some(CertificateStatus::Revoked) => {
                query.filter(certificates::Column::RevokedAt.is_not_null())
            }
            Some(CertificateStatus::Valid) => query
                .filter(certificates::Column::RevokedAt.is_null())
                .filter(certificates::Column::NotAfter.gt(now)),
            Some(CertificateStatus::Expired) => query
                .filter(certificates::Column::RevokedAt.is_null())
                .filter(certificates::Column::NotAfter.lte(now)),
        };
        if let Some(within) = filter.expiring_within {
            query = query
                .filter(certificates::Column::RevokedAt.is_null())
                .filter(certificates::Column::NotAfter.gt(now))
                .filter(certificates::Column::NotAfter.lte(unix_after(filter.now, within)));
        }
        query = query.order_by_desc(certificates::Column::Id);
        if let Some(limit) = filter.limit {
            query = query.limit(limit);
        }
        query
            .all(&self.read)
            .await?
            .into_iter()
            .map(certificate_record)
            .collect()
    }

    /// How many certificates each intermediate (by id) issued that are valid, revoked, or
    /// expired unrevoked at `now`. Intermediates without certificates are absent;
    /// certificates that name no intermediate are not counted.
    pub async fn certificate_counts(
        &self,
        now: OffsetDateTime,
    ) -> Result<HashMap<i64, CertificateCounts>, Error> {
        let now = to_unix(now);
        let mut counts: HashMap<i64, CertificateCounts> = HashMap::new();
        let revoked = Condition::all().add(certificates::Column::RevokedAt.is_not_null());
        for (id, n) in count_by_intermediate(revoked).all(&self.read).await? {
            counts.entry(id).or_default().revoked = unsigned(n);
        }
        let expired = Condition::all()
            .add(certificates::Column::RevokedAt.is_null())
            .add(certificates::Column::NotAfter.lte(now));
        for (id, n) in count_by_intermediate(expired).all(&self.read).await? {
            counts.entry(id).or_default().expired = unsigned(n);
        }
        let valid = Condition::all()
            .add(certificates::Column::RevokedAt.is_null())
            .add(certificates::Column::NotAfter.gt(now));
        for (id, n) in count_by_intermediate(valid).all(&self.read).await? {
            counts.entry(id).or_default().valid = unsigned(n);
        }
        Ok(counts)
    }

    /// The accounts matching every set field of `filter`, newest first.
    pub async fn list_accounts(&self, filter: &AccountFilter) -> Result<Vec<AccountRecord>, Error> {
        let mut query = accounts::Entity::find();
        if let Some(area) = &filter.area {
            query = query.filter(accounts::Column::Directory.eq(area.as_str()));
        }
        if let Some(status) = filter.status {
            query = query.filter(accounts::Column::Status.eq(status.as_str()));
        }
        query = query.order_by_desc(accounts::Column::Id);
        if let Some(limit) = filter.limit {
            query = query.limit(limit);
        }
        query
            .all(&self.read)
            .await?
            .into_iter()
            .map(crate::accounts::record)
            .collect()
    }
}

/// `(intermediate_id, COUNT(*))` of the certificates matching `condition`, per
/// intermediate (served by the index that starts with intermediate_id).
fn count_by_intermediate(
    condition: Condition,
) -> sea_orm::Selector<sea_orm::SelectGetableTuple<(i64, i64)>> {
    let query: Select<certificates::Entity> = certificates::Entity::find()
        .select_only()
        .column(certificates::Column::IntermediateId)
        .column_as(
            Expr::expr(Func::count(Expr::col(certificates::Column::Id))),
            "n",
        )
        .filter(certificates::Column::IntermediateId.is_not_null())
        .filter(condition)
        .group_by(certificates::Column::IntermediateId);
    query.into_tuple::<(i64, i64)>()
}

fn unsigned(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// The LIKE pattern matching a stored `names` JSON array that holds an identifier with
/// exactly this value: `"value":"<name>"` with the JSON quotes, so `a.test` does not match
/// `ba.test`. `%`, `_` and the escape character are escaped (none can occur in a
/// normalised identifier, but the filter comes from the command line).
fn name_pattern(name: &str) -> Result<LikeExpr, Error> {
    Ok(like_containing(&format!("\"value\":{}", to_json(name)?)))
}
