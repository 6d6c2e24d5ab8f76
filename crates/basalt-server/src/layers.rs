//! Middleware that applies to every ACME response: `Replay-Nonce` (RFC 8555 §6.5),
//! `Link: rel="index"` (§7.1), one log event per request, and a panic turned into a
//! `serverInternal` problem instead of a dropped connection.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;

use basalt_protocol::{Problem, ProblemType};
use futures_util::FutureExt as _;
use tracing::Instrument as _;

use crate::problem::problem_response;
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
        state.config.metrics.nonce_issued();
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
        .filter(|name| state.areas.contains(name) && !parts.uri.path().ends_with("/directory"))
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

/// The response header that carries a request's id (issue 17), so a client's report can be
/// matched with the server's log lines.
pub(crate) const REQUEST_ID_HEADER: &str = "x-request-id";

/// One event per request when it completes (Boulder's RequestEvent): method, route template,
/// status, duration, the account and the problem type if any; and the request's metrics.
///
/// Every request gets a fresh random id: every log line it causes runs inside a `request`
/// span carrying `request.id` (the validation it starts and the certificate it signs too:
/// they take the span along), and the response returns it in `X-Request-Id`.
pub(crate) async fn request_log(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let account = Arc::new(RequestAccount::default());
    request.extensions_mut().insert(account.clone());
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let id = request_id();
    let span = tracing::info_span!("request", request.id = %id);
    let mut response = next.run(request).instrument(span.clone()).await;
    let problem = response.extensions().get::<ProblemType>().copied();
    let elapsed = started.elapsed();
    span.in_scope(|| {
        tracing::info!(
            http.method = %method,
            http.route = %route,
            http.status = response.status().as_u16(),
            duration_ms = elapsed.as_secs_f64() * 1000.0,
            account.id = account.get(),
            problem.type = problem.map(ProblemType::name),
            "request"
        );
    });
    let metrics = &state.config.metrics;
    metrics.request(&route, method.as_str(), response.status().as_u16(), elapsed);
    if problem == Some(ProblemType::BadNonce) {
        metrics.bad_nonce_answered();
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

/// 16 random hex digits: unique enough across replicas and restarts to find one request in
/// merged logs, and meaningless to anyone else.
fn request_id() -> String {
    use ring::rand::SecureRandom as _;
    let mut bytes = [0u8; 8];
    // A failed RNG still gets the request served, with an all-zero id.
    let _ = ring::rand::SystemRandom::new().fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A panic anywhere below (an extractor, a handler, the authority layer) answers
/// `500 serverInternal` instead of dropping the connection silently. The route table puts
/// this innermost, so the outer layers still add a fresh `Replay-Nonce` and log the request.
/// No panic is expected: client values are validated before use; this is the net under
/// that rule.
pub(crate) async fn catch_panic(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    match AssertUnwindSafe(next.run(request)).catch_unwind().await {
        Ok(response) => response,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(http.method = %method, http.path = %path, panic = %message, "handler panicked");
            problem_response(
                &Problem::server_internal("an internal error occurred"),
                None,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::post;
    use tower::ServiceExt as _;

    use super::*;

    #[tokio::test]
    async fn a_panicking_handler_answers_server_internal() {
        let router = Router::new()
            .route(
                "/boom",
                post(|| async {
                    let nothing: Option<String> = std::hint::black_box(None);
                    nothing.expect("a handler bug")
                }),
            )
            .layer(axum::middleware::from_fn(catch_panic));
        let request = Request::post("/boom").body(Body::empty()).unwrap();
        let response = router.oneshot(request).await.unwrap();
        assert_eq!(response.status(), 500);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(problem["type"], "urn:ietf:params:acme:error:serverInternal");
        assert!(
            !problem["detail"]
                .as_str()
                .unwrap()
                .contains("a handler bug")
        );
    }
}
