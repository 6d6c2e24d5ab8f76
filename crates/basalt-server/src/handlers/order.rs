//! Orders: newOrder (RFC 8555 §7.4), fetching an order, finalizing it, and an account's
//! orders list (§7.1.2.1).

use axum::extract::State;
use axum::http::StatusCode;

use basalt_protocol::Problem;
use basalt_protocol::objects::{FinalizeRequest, NewOrderRequest, OrderList};
use basalt_storage::OrderRecord;

use crate::authority::finalize::{FinalizeInput, finalize};
use crate::authority::{new_order::new_order, owned};
use crate::extract::SignedRequest;
use crate::params::{QueryParams, ResourceId};
use crate::problem::AcmeResult;
use crate::response::AcmeResponse;
use crate::state::AppState;
use crate::urls::Urls;
use crate::views::order_object;

/// Seconds a client should wait before polling an order that is still in progress.
const ORDER_RETRY_AFTER_SECS: u64 = 1;

/// RFC 8555 §7.4: `201 Created`, `Location`, and the order object.
pub(crate) async fn create(
    State(state): State<AppState>,
    req: SignedRequest,
) -> AcmeResult<AcmeResponse> {
    let account = req.account()?;
    let request: NewOrderRequest = req.payload()?;
    let now = state.now();
    let order = new_order(&state.store, &req.directory, account, &request, now).await?;
    Ok(order_response(&req.urls, &order, now, StatusCode::CREATED)
        .location(&req.urls.order(order.id)))
}

/// POST-as-GET on an order URL.
pub(crate) async fn fetch(
    State(state): State<AppState>,
    ResourceId(id): ResourceId<i64>,
    req: SignedRequest,
) -> AcmeResult<AcmeResponse> {
    req.expect_post_as_get()?;
    let order = owned::order(&state.store, req.account()?, id).await?;
    Ok(order_response(
        &req.urls,
        &order,
        state.now(),
        StatusCode::OK,
    ))
}

/// RFC 8555 §7.4: the CSR for a ready order; `200` with the order (now valid) and its
/// `Location`.
pub(crate) async fn finalize_order(
    State(state): State<AppState>,
    ResourceId(id): ResourceId<i64>,
    req: SignedRequest,
) -> AcmeResult<AcmeResponse> {
    let (account, account_key) = req.account_and_key()?;
    let request: FinalizeRequest = req.payload()?;
    let now = state.now();
    let input = FinalizeInput {
        account,
        account_key,
        account_uri: &req.urls.account(account.id),
        order_id: id,
        csr: &request.csr,
        metrics: &state.config.metrics,
    };
    let order = finalize(&state.store, &state.validator, &req.directory, input, now).await?;
    Ok(order_response(&req.urls, &order, now, StatusCode::OK).location(&req.urls.order(order.id)))
}

/// The order object, with `Retry-After` while it is in progress (RFC 8555 §7.4).
fn order_response(
    urls: &Urls,
    order: &OrderRecord,
    now: time::OffsetDateTime,
    status: StatusCode,
) -> AcmeResponse {
    let response = AcmeResponse::json(status, &order_object(urls, order, now));
    if order.status.at(order.expires_at, now).is_in_progress() {
        response.retry_after(ORDER_RETRY_AFTER_SECS)
    } else {
        response
    }
}

#[derive(serde::Deserialize)]
pub(crate) struct OrdersPage {
    cursor: Option<i64>,
}

/// RFC 8555 §7.1.2.1: the account's orders, a page at a time, `Link: rel="next"` to the
/// following page.
pub(crate) async fn list(
    State(state): State<AppState>,
    ResourceId(id): ResourceId<i64>,
    QueryParams(page): QueryParams<OrdersPage>,
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
        (true, Some(last)) => Ok(response.link(&req.urls.account_orders_page(id, *last), "next")),
        _ => Ok(response),
    }
}
