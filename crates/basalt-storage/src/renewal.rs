//! ACME Renewal Information (RFC 9773): the renewalInfo lookup, the operator's renew-early
//! notices, and claiming a certificate for a replacement order (§5).

use basalt_protocol::OrderStatus;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveValue::NotSet, ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult,
    JoinType, QueryFilter, QuerySelect, TransactionTrait,
};
use time::OffsetDateTime;

use crate::Store;
use crate::codec::{from_json, like_containing as like, parse_enum};
use crate::entities::{certificates, intermediates, orders, renewal_notices};
use crate::error::{Error, corrupt};
use crate::records::{
    NewReplacement, RenewEarlyOutcome, RenewEarlyScope, RenewalCertificate, RenewalNotice,
};
use crate::time::{from_unix, from_unix_opt, to_unix};

/// `Error::Duplicate::what` when the certificate named by `replaces` already has a live
/// replacement order (RFC 9773 §7.4 `alreadyReplaced`).
pub const ALREADY_REPLACED: &str = "replacement of the certificate";

type RenewalRow = (
    i64,
    String,
    String,
    i64,
    String,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<i64>,
);

impl Store {
    /// What the renewalInfo resource needs of the certificate with this serial: one
    /// statement through the unique serial index (the signing intermediate's key id comes
    /// with it by primary key).
    pub async fn renewal_certificate(
        &self,
        serial: &str,
    ) -> Result<Option<RenewalCertificate>, Error> {
        let row = certificates::Entity::find()
            .select_only()
            .columns([
                certificates::Column::Id,
                certificates::Column::Serial,
                certificates::Column::Directory,
                certificates::Column::AccountId,
                certificates::Column::Names,
                certificates::Column::NotBefore,
                certificates::Column::NotAfter,
                certificates::Column::RevokedAt,
                certificates::Column::IntermediateId,
            ])
            .column(intermediates::Column::KeyId)
            .column(certificates::Column::RenewalNoticeId)
            .join(JoinType::LeftJoin, signed_by())
            .filter(certificates::Column::Serial.eq(serial))
            .into_tuple::<RenewalRow>()
            .one(&self.read)
            .await?;
        let Some((
            id,
            serial,
            directory,
            account_id,
            names,
            not_before,
            not_after,
            revoked_at,
            intermediate_id,
            key_id,
            notice,
        )) = row
        else {
            return Ok(None);
        };
        const TABLE: &str = "certificates";
        Ok(Some(RenewalCertificate {
            not_before: from_unix(not_before, TABLE, "not_before", id)?,
            not_after: from_unix(not_after, TABLE, "not_after", id)?,
            revoked_at: from_unix_opt(revoked_at, TABLE, "revoked_at", id)?,
            names: from_json(&names, TABLE, "names", id)?,
            id,
            serial,
            directory,
            account_id,
            intermediate_id,
            intermediate_key_id: key_id,
            renewal_notice_id: notice,
        }))
    }

    /// The renew-early notice with this id.
    pub async fn renewal_notice(&self, id: i64) -> Result<Option<RenewalNotice>, Error> {
        renewal_notices::Entity::find_by_id(id)
            .one(&self.lookup)
            .await?
            .map(notice_record)
            .transpose()
    }

    /// Stores a renew-early notice and, in the same transaction and one statement, points
    /// every unexpired, unrevoked certificate `scope` selects at it (a certificate an
    /// earlier notice selected now shows this one). When nothing matches, nothing is stored.
    pub async fn renew_early(
        &self,
        scope: &RenewEarlyScope,
        note: &str,
        now: OffsetDateTime,
    ) -> Result<RenewEarlyOutcome, Error> {
        let now = to_unix(now);
        let tx = self.db.begin().await?;
        // Write first: takes SQLite's write lock before anything is read.
        let mut row = renewal_notices::Model {
            id: 0,
            note: note.to_owned(),
            scope: scope.to_string(),
            certificates: 0,
            created_at: now,
        };
        let mut insert: renewal_notices::ActiveModel = row.clone().into();
        insert.id = NotSet;
        row.id = renewal_notices::Entity::insert(insert)
            .exec(&tx)
            .await?
            .last_insert_id;
        let marked = certificates::Entity::update_many()
            .col_expr(certificates::Column::RenewalNoticeId, Expr::value(row.id))
            .filter(certificates::Column::RevokedAt.is_null())
            .filter(certificates::Column::NotAfter.gt(now))
            .filter(scope_condition(scope))
            .exec(&tx)
            .await?
            .rows_affected;
        if marked == 0 {
            tx.rollback().await?;
            return Ok(RenewEarlyOutcome::NoneMatched);
        }
        row.certificates = i64::try_from(marked).unwrap_or(i64::MAX);
        renewal_notices::Entity::update_many()
            .col_expr(
                renewal_notices::Column::Certificates,
                Expr::value(row.certificates),
            )
            .filter(renewal_notices::Column::Id.eq(row.id))
            .exec(&tx)
            .await?;
        tx.commit().await?;
        Ok(RenewEarlyOutcome::Marked(notice_record(row)?))
    }
}

/// certificates → intermediates, by `intermediate_id`.
fn signed_by() -> sea_orm::RelationDef {
    certificates::Entity::belongs_to(intermediates::Entity)
        .from(certificates::Column::IntermediateId)
        .to(intermediates::Column::Id)
        .into()
}

fn scope_condition(scope: &RenewEarlyScope) -> Condition {
    match scope {
        RenewEarlyScope::Serial(serial) => {
            Condition::all().add(certificates::Column::Serial.eq(serial.as_str()))
        }
        RenewEarlyScope::Area(area) => {
            Condition::all().add(certificates::Column::Directory.eq(area.as_str()))
        }
        RenewEarlyScope::Intermediate(key_id) => Condition::all().add(
            certificates::Column::IntermediateId.in_subquery(
                Query::select()
                    .column(intermediates::Column::Id)
                    .from(intermediates::Entity)
                    .and_where(intermediates::Column::KeyId.eq(key_id.as_str()))
                    .to_owned(),
            ),
        ),
        // `names` is a JSON array of `{"type":…,"value":…}`: the name itself is
        // `"value":"<name>"`, a name below it ends in `.<name>"`. LIKE's special characters
        // are escaped (a normalised DNS name has none, but this comes from the command line).
        RenewEarlyScope::NameSuffix(name) => Condition::any()
            .add(certificates::Column::Names.like(like(&format!("\"value\":\"{name}\""))))
            .add(certificates::Column::Names.like(like(&format!(".{name}\"")))),
    }
}

fn notice_record(m: renewal_notices::Model) -> Result<RenewalNotice, Error> {
    Ok(RenewalNotice {
        created_at: from_unix(m.created_at, "renewal_notices", "created_at", m.id)?,
        certificates: u64::try_from(m.certificates)
            .map_err(|e| corrupt("renewal_notices", "certificates", m.id, e))?,
        id: m.id,
        note: m.note,
        scope: m.scope,
    })
}

/// RFC 9773 §5, inside `create_order`'s transaction: order `order_id` claims the
/// certificate named by `replacement`. The claim is a compare-and-set on the certificate's
/// `replaced_by_order_id`: it succeeds when the certificate has no replacement order yet,
/// or its replacement order is dead (invalid, expired unfinished, or deleted); otherwise, or
/// when a concurrent claim committed first, `Error::Duplicate` with [`ALREADY_REPLACED`].
/// A valid, processing, or unexpired pending/ready replacement holds the certificate.
pub(crate) async fn claim_replacement(
    conn: &impl ConnectionTrait,
    replacement: &NewReplacement,
    order_id: i64,
    now: OffsetDateTime,
) -> Result<(), Error> {
    let already = || Error::Duplicate {
        what: ALREADY_REPLACED,
        detail: format!(
            "certificate {} already has a replacement order",
            replacement.certificate_id
        ),
    };
    let previous = certificates::Entity::find_by_id(replacement.certificate_id)
        .select_only()
        .column(certificates::Column::ReplacedByOrderId)
        .into_tuple::<Option<i64>>()
        .one(conn)
        .await?
        .ok_or(Error::NotFound)?;
    let mut claim = certificates::Entity::update_many()
        .col_expr(
            certificates::Column::ReplacedByOrderId,
            Expr::value(order_id),
        )
        .filter(certificates::Column::Id.eq(replacement.certificate_id));
    claim = match previous {
        None => claim.filter(certificates::Column::ReplacedByOrderId.is_null()),
        Some(previous) => {
            if order_is_live(conn, previous, now).await? {
                return Err(already());
            }
            claim.filter(certificates::Column::ReplacedByOrderId.eq(previous))
        }
    };
    // A concurrent claim that committed after our read changed the value we compare with:
    // PostgreSQL re-checks the WHERE on the new row version, MySQL reads the latest
    // committed one for an UPDATE, SQLite has one writer: zero rows on every engine.
    if claim.exec(conn).await?.rows_affected != 1 {
        return Err(already());
    }
    Ok(())
}

/// Whether order `id` still stands as a replacement: it exists and is not invalid at `now`
/// (RFC 8555 §7.1.6: an unfinished order past `expires` is invalid).
async fn order_is_live(
    conn: &impl ConnectionTrait,
    id: i64,
    now: OffsetDateTime,
) -> Result<bool, Error> {
    // By name, not a tuple: this runs inside `create_order`'s transaction, which on SQLite is
    // the inline writer's, whose rows keep no column order (`inline_connection.rs`).
    #[derive(FromQueryResult)]
    struct Liveness {
        status: String,
        expires_at: i64,
    }
    let Some(Liveness { status, expires_at }) = orders::Entity::find_by_id(id)
        .select_only()
        .column(orders::Column::Status)
        .column(orders::Column::ExpiresAt)
        .into_model::<Liveness>()
        .one(conn)
        .await?
    else {
        return Ok(false);
    };
    let status = parse_enum(&status, OrderStatus::parse, "orders", "status", id)?;
    let expires_at = from_unix(expires_at, "orders", "expires_at", id)?;
    Ok(status.at(expires_at, now) != OrderStatus::Invalid)
}
