//! Middleware that applies to every ACME response: `Replay-Nonce` (RFC 8555 §6.5),
//! `Link: rel="index"` (§7.1), and one log event per request.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;

use basalt_protocol::ProblemType;

use crate::state::AppState;
use crate::urls::Urls;

/// Adds a fresh nonce to every response to a POST, errors included, and to newNonce. Issuing
/// a nonce is an HMAC, no database work (see `nonces.rs`).
pub(crate) async fn replay_nonce(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let wants_nonce =
        request.method() == Method::POST || request.uri().path().ends_with("/new-nonce");
    let mut response = next.run(request).await;
    if wants_nonce && let Ok(value) = HeaderValue::from_str(&state.nonces.issue(state.now())) {
        response.headers_mut().insert("replay-nonce", value);
    }
    response
}

/// RFC 8555 §7.1: every resource but the directory links to the directory with
/// `rel="index"`.
pub(crate) async fn index_link(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let link = Urls::directory_of(parts.uri.path())
        .filter(|name| {
            state.directories.contains_key(*name) && !parts.uri.path().ends_with("/directory")
        })
        .and_then(|name| Some(Urls::new(Urls::origin_of(&parts)?, name).directory()));
    let mut response = next.run(Request::from_parts(parts, body)).await;
    if let Some(url) = link
        && let Ok(value) = HeaderValue::from_str(&format!("<{url}>;rel=\"index\""))
    {
        response.headers_mut().append(header::LINK, value);
    }
    response
}

/// Where the JWS extractor leaves the authenticated account id for the request log.
#[derive(Debug, Default)]
pub(crate) struct RequestAccount(AtomicI64);

impl RequestAccount {
    pub(crate) fn set(&self, id: i64) {
        self.0.store(id, Ordering::Relaxed);
    }

    fn get(&self) -> Option<i64> {
        Some(self.0.load(Ordering::Relaxed)).filter(|id| *id > 0)
    }
}

/// One event per request when it completes (Boulder's RequestEvent): method, route template,
/// status, duration, the account and the problem type if any.
pub(crate) async fn request_log(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let account = Arc::new(RequestAccount::default());
    request.extensions_mut().insert(account.clone());
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let problem = response.extensions().get::<ProblemType>().map(|t| t.name());
    tracing::info!(
        http.method = %method,
        http.route = %route,
        http.status = response.status().as_u16(),
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        account.id = account.get(),
        problem.type = problem,
        "request"
    );
    response
}
