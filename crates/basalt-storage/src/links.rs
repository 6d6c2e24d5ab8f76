//! The order–authorization links: the `order_authorizations` rows, and what a change on
//! one side does to the other. Orders and authorizations are separate aggregates
//! (`orders.rs`, `authorizations.rs`); every statement that crosses between them lives
//! here, so neither file needs the other's internals: linking reused authorizations to a
//! new order (checking them under a shared lock), and the cascades from an authorization
//! to its orders (ready once all are valid, invalid when one fails or is deactivated).
//!
//! These run inside the caller's transaction and issue exactly the statements they did
//! when they lived in the aggregates' files (statements are counted on the hot path).

use basalt_protocol::{AuthorizationStatus, OrderStatus, Problem};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use crate::codec::{parse_enum, to_json};
use crate::entities::{authorizations, challenges, order_authorizations, orders};
use crate::error::Error;

const AUTHORIZATIONS: &str = "authorizations";

/// Checks, under a shared row lock held until the caller's transaction ends, that an
/// authorization can be linked to a new order of `account_id`: it is the account's, and
/// pending or valid, and unexpired. The lock keeps a concurrent deactivation or
/// validation from changing it before the link commits. Returns its status.
pub(crate) async fn lock_for_reuse(
    conn: &impl ConnectionTrait,
    id: i64,
    account_id: i64,
    now: i64,
) -> Result<AuthorizationStatus, Error> {
    let model = authorizations::Entity::find_by_id(id)
        .filter(authorizations::Column::AccountId.eq(account_id))
        .lock_shared()
        .one(conn)
        .await?
        .ok_or_else(|| Error::WrongState {
            what: format!("authorization {id}"),
            current: "absent or another account's".to_owned(),
        })?;
    let status = parse_enum(
        &model.status,
        AuthorizationStatus::parse,
        AUTHORIZATIONS,
        "status",
        id,
    )?;
    if !matches!(
        status,
        AuthorizationStatus::Pending | AuthorizationStatus::Valid
    ) || model.expires_at <= now
    {
        let current = if model.expires_at <= now {
            "expired".to_owned()
        } else {
            status.to_string()
        };
        return Err(Error::WrongState {
            what: format!("authorization {id}"),
            current,
        });
    }
    Ok(status)
}

/// Links a new order to its authorizations: one multi-row insert of the link rows (none
/// when there are no authorizations).
pub(crate) async fn insert(
    conn: &impl ConnectionTrait,
    order_id: i64,
    authorization_ids: &[i64],
) -> Result<(), Error> {
    if !authorization_ids.is_empty() {
        order_authorizations::Entity::insert_many(authorization_ids.iter().map(|&id| {
            order_authorizations::ActiveModel {
                order_id: Set(order_id),
                authorization_id: Set(id),
            }
        }))
        .exec_without_returning(conn)
        .await?;
    }
    Ok(())
}

/// The orders linked to an authorization: `orders.id IN (SELECT order_id FROM links ...)`.
/// `authorization` is its id, as a value or a scalar subquery (see
/// [`authorization_of_challenge`]).
fn linked_to(authorization: Expr) -> Expr {
    orders::Column::Id.in_subquery(
        Query::select()
            .column(order_authorizations::Column::OrderId)
            .from(order_authorizations::Entity)
            .and_where(
                Expr::col((
                    order_authorizations::Entity,
                    order_authorizations::Column::AuthorizationId,
                ))
                .eq(authorization),
            )
            .to_owned(),
    )
}

/// The id of the authorization a challenge belongs to, as a scalar subquery, so a statement
/// can name it without a round trip to read it first.
pub(crate) fn authorization_of_challenge(challenge_id: i64) -> Expr {
    Query::select()
        .column(challenges::Column::AuthorizationId)
        .from(challenges::Entity)
        .and_where(challenges::Column::Id.eq(challenge_id))
        .to_owned()
        .into()
}

/// Marks the orders linked to an authorization invalid with `problem`, those still in one
/// of `from`; one statement. Returns how many it marked.
pub(crate) async fn invalidate_linked(
    conn: &impl ConnectionTrait,
    authorization: Expr,
    from: &[OrderStatus],
    problem: &Problem,
) -> Result<u64, Error> {
    let marked = orders::Entity::update_many()
        .col_expr(
            orders::Column::Status,
            Expr::value(OrderStatus::Invalid.as_str()),
        )
        .col_expr(orders::Column::Error, Expr::value(to_json(problem)?))
        .filter(linked_to(authorization))
        .filter(orders::Column::Status.is_in(from.iter().map(|s| s.as_str())))
        .exec(conn)
        .await?
        .rows_affected;
    Ok(marked)
}

/// Moves the pending orders linked to an authorization to ready once all their
/// authorizations are valid, in two statements however many orders there are (one on
/// SQLite). The order rows are locked first (`FOR UPDATE` on PostgreSQL and MySQL; SQLite's
/// write lock is already held), and the update that follows reads the authorizations afresh, so two
/// validations of one order's authorizations committing concurrently cannot both see the
/// other's authorization as still pending and leave the order stuck: the second waits for
/// the first's lock and then sees its commit.
pub(crate) async fn promote_ready_linked(
    conn: &impl ConnectionTrait,
    authorization: Expr,
) -> Result<(), Error> {
    // SQLite: the transaction already holds the database's only write lock, so there is
    // nothing to lock row by row and the update below names the linked orders itself.
    let orders_to_update = if conn.get_database_backend() == DbBackend::Sqlite {
        linked_to(authorization)
    } else {
        let locked = orders::Entity::find()
            .select_only()
            .column(orders::Column::Id)
            .filter(linked_to(authorization))
            .filter(orders::Column::Status.eq(OrderStatus::Pending.as_str()))
            .order_by_asc(orders::Column::Id)
            .lock_exclusive()
            .into_tuple::<i64>()
            .all(conn)
            .await?;
        if locked.is_empty() {
            return Ok(());
        }
        orders::Column::Id.is_in(locked)
    };
    let some_not_valid = Query::select()
        .expr(Expr::val(1))
        .from(order_authorizations::Entity)
        .inner_join(
            authorizations::Entity,
            Expr::col((authorizations::Entity, authorizations::Column::Id)).equals((
                order_authorizations::Entity,
                order_authorizations::Column::AuthorizationId,
            )),
        )
        .and_where(
            Expr::col((
                order_authorizations::Entity,
                order_authorizations::Column::OrderId,
            ))
            .equals((orders::Entity, orders::Column::Id)),
        )
        .and_where(authorizations::Column::Status.ne(AuthorizationStatus::Valid.as_str()))
        .to_owned();
    orders::Entity::update_many()
        .col_expr(
            orders::Column::Status,
            Expr::value(OrderStatus::Ready.as_str()),
        )
        .filter(orders_to_update)
        .filter(orders::Column::Status.eq(OrderStatus::Pending.as_str()))
        .filter(Expr::exists(some_not_valid).not())
        .exec(conn)
        .await?;
    Ok(())
}
