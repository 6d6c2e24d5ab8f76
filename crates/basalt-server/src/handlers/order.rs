//! Orders: newOrder (RFC 8555 §7.4), fetching an order, and an account's orders list
//! (§7.1.2.1).

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};

use basalt_protocol::objects::{NewOrderRequest, OrderList};
use basalt_protocol::{OrderStatus, Problem};
use basalt_storage::{AuthorizationPlan, NewAuthorization, NewChallenge, NewOrder, OrderRecord};

use crate::extract::SignedRequest;
use crate::policy::identifiers::{challenge_types, check_order_identifiers};
use crate::policy::validity::check_requested_validity;
use crate::problem::{AcmeError, AcmeResult};
use crate::response::AcmeResponse;
use crate::state::AppState;
use crate::views::{order_object, order_status};

/// Seconds a client should wait before polling an order that is still in progress.
pub(crate) const ORDER_RETRY_AFTER_SECS: u64 = 1;
/// A reused authorization must stay valid at least this long (Boulder uses a day).
const REUSE_MARGIN: Duration = Duration::from_secs(24 * 3600);

/// RFC 8555 §7.4: `201 Created`, `Location`, and the order object.
pub async fn new_order(
    State(state): State<AppState>,
    req: SignedRequest,
) -> AcmeResult<AcmeResponse> {
    let account = req.account()?;
    let request: NewOrderRequest = req.payload()?;
    let identifiers = check_order_identifiers(&request.identifiers)?;
    let policy = &req.directory.policy;
    let now = state.now();
    let validity = check_requested_validity(
        request.not_before.as_deref(),
        request.not_after.as_deref(),
        policy,
        now,
    )?;

    let mut expires_at = now + policy.order_lifetime;
    let mut plans: Vec<AuthorizationPlan> = Vec::new();
    let mut planned: Vec<(basalt_protocol::Identifier, bool)> = Vec::new();
    for identifier in &identifiers {
        let wildcard = identifier.is_wildcard();
        let base = identifier.authorization_identifier();
        if planned.contains(&(base.clone(), wildcard)) {
            continue;
        }
        planned.push((base.clone(), wildcard));
        let reusable = state
            .store
            .reusable_authorization(account.id, &base, wildcard, now, now + REUSE_MARGIN)
            .await?;
        if let Some(existing) = reusable {
            expires_at = expires_at.min(existing.expires_at);
            plans.push(AuthorizationPlan::Reuse(existing.id));
            continue;
        }
        let challenges = challenge_types(&base, wildcard)
            .into_iter()
            .map(|challenge_type| {
                Ok(NewChallenge {
                    challenge_type,
                    token: new_token()?,
                })
            })
            .collect::<Result<Vec<_>, AcmeError>>()?;
        plans.push(AuthorizationPlan::Create(NewAuthorization {
            identifier: base,
            wildcard,
            expires_at: now + policy.pending_authorization_lifetime,
            challenges,
        }));
    }

    let order = state
        .store
        .create_order(&NewOrder {
            account_id: account.id,
            directory: req.urls.directory_name().to_owned(),
            identifiers,
            not_before: validity.not_before,
            not_after: validity.not_after,
            expires_at,
            authorizations: plans,
            now,
        })
        .await?;
    tracing::info!(
        account.id = account.id,
        order.id = order.id,
        "order created"
    );
    Ok(order_response(&req, &order, now, StatusCode::CREATED).location(&req.urls.order(order.id)))
}

/// RFC 8555 §8.1: a token with at least 128 bits of entropy, base64url; 256 bits here.
fn new_token() -> Result<String, AcmeError> {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| AcmeError::from(Problem::server_internal("the system RNG failed")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The order object, with `Retry-After` while it is in progress (RFC 8555 §7.4).
pub(crate) fn order_response(
    req: &SignedRequest,
    order: &OrderRecord,
    now: time::OffsetDateTime,
    status: StatusCode,
) -> AcmeResponse {
    let response = AcmeResponse::json(status, &order_object(&req.urls, order, now));
    if order_status(order, now).is_in_progress() {
        response.retry_after(ORDER_RETRY_AFTER_SECS)
    } else {
        response
    }
}

/// Loads an order the signing account owns. Another account's order is reported as absent,
/// as Boulder does, so order ids reveal nothing.
pub(crate) async fn owned_order(
    state: &AppState,
    req: &SignedRequest,
    id: i64,
) -> AcmeResult<OrderRecord> {
    match state.store.order(id).await? {
        Some(order) if is_owned(req, &order)? => Ok(order),
        _ => Err(order_not_found(id)),
    }
}

/// Whether `order` is the signing account's, in this directory.
pub(crate) fn is_owned(req: &SignedRequest, order: &OrderRecord) -> AcmeResult<bool> {
    let account = req.account()?;
    Ok(order.account_id == account.id && order.directory == req.urls.directory_name())
}

/// 404 for an order that does not exist or is not the signing account's (another account's
/// order is answered as if it did not exist).
pub(crate) fn order_not_found(id: i64) -> AcmeError {
    Problem::malformed(format!("order {id} does not exist"))
        .with_status(404)
        .into()
}

/// POST-as-GET on an order URL.
pub async fn order(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, i64)>,
    req: SignedRequest,
) -> AcmeResult<AcmeResponse> {
    req.expect_post_as_get()?;
    let order = owned_order(&state, &req, id).await?;
    Ok(order_response(&req, &order, state.now(), StatusCode::OK))
}

#[derive(serde::Deserialize)]
pub struct OrdersPage {
    cursor: Option<i64>,
}

/// RFC 8555 §7.1.2.1: the account's orders, a page at a time, `Link: rel="next"` to the
/// following page.
pub async fn orders_list(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, i64)>,
    Query(page): Query<OrdersPage>,
    req: SignedRequest,
) -> AcmeResult<AcmeResponse> {
    req.expect_post_as_get()?;
    let account = req.account()?;
    if account.id != id {
        return Err(Problem::unauthorized("the orders list belongs to another account").into());
    }
    let per_page = state.config.orders_per_page;
    let mut ids = state
        .store
        .order_ids_for_account(id, page.cursor, per_page + 1)
        .await?;
    let has_more = ids.len() as u64 > per_page;
    ids.truncate(usize::try_from(per_page).unwrap_or(usize::MAX));
    let list = OrderList {
        orders: ids.iter().map(|o| req.urls.order(*o)).collect(),
    };
    let response = AcmeResponse::json(StatusCode::OK, &list);
    match (has_more, ids.last()) {
        (true, Some(last)) => {
            let next = format!("{}?cursor={last}", req.urls.account_orders(id));
            Ok(response.link(&next, "next"))
        }
        _ => Ok(response),
    }
}

/// True when an order is in a state where finalize may run.
pub(crate) fn is_ready(order: &OrderRecord, now: time::OffsetDateTime) -> bool {
    order_status(order, now) == OrderStatus::Ready
}
