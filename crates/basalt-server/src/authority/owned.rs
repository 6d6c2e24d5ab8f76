//! Loading the resources an account owns. Another account's order, authorization or
//! challenge is reported as absent (404), as Boulder does, so ids reveal nothing.

use basalt_protocol::Problem;
use basalt_storage::{AccountRecord, AuthorizationRecord, ChallengeRecord, OrderRecord, Store};

use crate::problem::{AcmeError, AcmeResult};

/// The order `id` if `account` owns it (in its own directory).
pub(crate) async fn order(
    store: &Store,
    account: &AccountRecord,
    id: i64,
) -> AcmeResult<OrderRecord> {
    match store.order(id).await? {
        Some(order) if owns_order(account, &order) => Ok(order),
        _ => Err(order_not_found(id)),
    }
}

/// The order `id` with its authorizations (one statement, as finalize's CAA recheck needs
/// them), if `account` owns it.
pub(crate) async fn order_with_authorizations(
    store: &Store,
    account: &AccountRecord,
    id: i64,
) -> AcmeResult<(OrderRecord, Vec<AuthorizationRecord>)> {
    match store.order_with_authorizations(id).await? {
        Some((order, authorizations)) if owns_order(account, &order) => Ok((order, authorizations)),
        _ => Err(order_not_found(id)),
    }
}

/// The authorization `id` if `account` owns it.
pub(crate) async fn authorization(
    store: &Store,
    account: &AccountRecord,
    id: i64,
) -> AcmeResult<AuthorizationRecord> {
    match store.authorization(id).await? {
        Some(authz) if authz.account_id == account.id => Ok(authz),
        _ => Err(not_found("authorization", id)),
    }
}

/// The challenge `id` and its authorization if `account` owns them.
pub(crate) async fn challenge(
    store: &Store,
    account: &AccountRecord,
    id: i64,
) -> AcmeResult<(ChallengeRecord, AuthorizationRecord)> {
    match store.challenge(id).await? {
        Some((challenge, authz)) if authz.account_id == account.id => Ok((challenge, authz)),
        _ => Err(not_found("challenge", id)),
    }
}

/// Whether `order` is `account`'s, in the account's directory.
fn owns_order(account: &AccountRecord, order: &OrderRecord) -> bool {
    order.account_id == account.id && order.directory == account.directory
}

fn order_not_found(id: i64) -> AcmeError {
    not_found("order", id)
}

fn not_found(what: &str, id: i64) -> AcmeError {
    Problem::malformed(format!("{what} {id} does not exist"))
        .with_status(404)
        .into()
}
