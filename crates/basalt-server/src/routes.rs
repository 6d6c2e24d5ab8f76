//! The one route table. Every ACME resource lives under `/acme/<directory>/`.
//!
//! Resources are fetched with POST-as-GET (RFC 8555 §6.3); GET is allowed only on the
//! directory, newNonce (with HEAD), certificate download and renewal information (RFC 9773
//! §4.1, GET only), and any other method gets `405`
//! with a problem document saying what to use.

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};

use basalt_protocol::Problem;

use crate::handlers::{
    account, authorization, certificate, directory, order, renewal_info, revocation,
};
use crate::layers;
use crate::problem::problem_response;
use crate::state::AppState;
use crate::urls::Resource;

pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route(
            &Resource::Directory.template(),
            allowing(
                "GET, HEAD, POST",
                get(directory::directory).post(directory::directory),
            ),
        )
        .route(
            &Resource::NewNonce.template(),
            allowing(
                "GET, HEAD, POST",
                get(directory::new_nonce).post(directory::new_nonce),
            ),
        )
        .route(
            &Resource::NewAccount.template(),
            only_post(post(account::create)),
        )
        .route(
            &Resource::NewOrder.template(),
            only_post(post(order::create)),
        )
        .route(
            &Resource::RevokeCert.template(),
            only_post(post(revocation::revoke_cert)),
        )
        .route(
            &Resource::KeyChange.template(),
            only_post(post(account::key_change)),
        )
        .route(
            &Resource::Account.template(),
            only_post(post(account::account)),
        )
        .route(
            &Resource::AccountOrders.template(),
            only_post(post(order::list)),
        )
        .route(&Resource::Order.template(), only_post(post(order::fetch)))
        .route(
            &Resource::Finalize.template(),
            only_post(post(order::finalize_order)),
        )
        .route(
            &Resource::Authorization.template(),
            only_post(post(authorization::authorization)),
        )
        .route(
            &Resource::Challenge.template(),
            only_post(post(authorization::challenge)),
        )
        .route(
            &Resource::Certificate.template(),
            allowing(
                "GET, HEAD, POST",
                get(certificate::certificate).post(certificate::certificate),
            ),
        )
        .route(
            &Resource::Root.template(),
            allowing(
                "GET, HEAD, POST",
                get(certificate::root).post(certificate::root),
            ),
        )
        // RFC 9773 §4.1: unauthenticated GET.
        .route(
            &Resource::RenewalInfo.template(),
            allowing("GET, HEAD", get(renewal_info::renewal_info)),
        )
        .route(
            &Resource::RenewalNotice.template(),
            allowing("GET, HEAD", get(renewal_info::renewal_notice)),
        )
        .fallback(not_found)
        // Innermost: a panic becomes a problem document, which the layers outside still
        // give a Replay-Nonce, the index link and a log line.
        .layer(axum::middleware::from_fn(layers::catch_panic))
        .layer(from_fn_with_state(state.clone(), layers::index_link))
        .layer(from_fn_with_state(state.clone(), layers::replay_nonce))
        .layer(from_fn_with_state(state.clone(), layers::request_log))
        .with_state(state)
}

/// A resource read and changed only with POST (RFC 8555 §6.3).
fn only_post(route: MethodRouter<AppState>) -> MethodRouter<AppState> {
    route.fallback(|| async {
        method_not_allowed(
            "POST",
            "fetch ACME resources with POST-as-GET (RFC 8555 §6.3)",
        )
    })
}

/// A resource that also answers GET; other methods get 405 naming those allowed.
fn allowing(allow: &'static str, route: MethodRouter<AppState>) -> MethodRouter<AppState> {
    route.fallback(move || async move { method_not_allowed(allow, &format!("use {allow}")) })
}

fn method_not_allowed(allow: &'static str, hint: &str) -> Response {
    let mut response = problem_response(
        &Problem::malformed(format!("method not allowed here: {hint}")).with_status(405),
        None,
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

async fn not_found(request: Request) -> Response {
    let problem = Problem::malformed(format!(
        "no ACME resource at {}; start from /acme/<directory>/directory",
        request.uri().path()
    ))
    .with_status(StatusCode::NOT_FOUND.as_u16());
    problem_response(&problem, None).into_response()
}
