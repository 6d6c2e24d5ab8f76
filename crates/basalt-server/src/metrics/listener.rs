//! The metrics listener (`server.metrics_listen`, plain HTTP, never the ACME port):
//! `/metrics` for Prometheus, `/healthz` (the process answers) and `/readyz` (this replica can
//! do its work: the database answers, its schema is current, every area's intermediate can
//! sign) for load balancers and orchestrators.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::text::encode;
use serde::Serialize;

use crate::state::AppState;

/// How long one readiness check may take before it counts as failed (a probe must answer
/// within the prober's own timeout, typically 1 s in Kubernetes).
const CHECK_TIMEOUT: Duration = Duration::from_millis(800);

pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
}

/// The Prometheus text exposition (OpenMetrics 1.0, which Prometheus negotiates).
async fn metrics(State(state): State<AppState>) -> Response {
    let metrics = &state.config.metrics;
    metrics.refresh(&state).await;
    let mut body = String::new();
    if encode(&mut body, &metrics.0.registry).is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// The process is up and its runtime answers.
async fn healthz() -> &'static str {
    "ok\n"
}

/// One readiness check's outcome.
#[derive(Serialize)]
struct Check {
    name: String,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Serialize)]
struct Readiness {
    ready: bool,
    checks: Vec<Check>,
}

/// 200 when every check passes, else 503; the JSON body names each check and why it failed.
async fn readyz(State(state): State<AppState>) -> Response {
    let mut checks = Vec::new();
    if state
        .shutting_down
        .load(std::sync::atomic::Ordering::Relaxed)
    {
        checks.push(check("shutdown", Err("shutting down".to_owned())));
    }
    let database = tokio::time::timeout(CHECK_TIMEOUT, state.store.ping()).await;
    checks.push(check("database", flatten(database)));
    let migrations =
        match tokio::time::timeout(CHECK_TIMEOUT, state.store.pending_migrations()).await {
            Ok(Ok(0)) => Ok(()),
            Ok(Ok(pending)) => Err(format!("{pending} migrations are not applied")),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("timed out".to_owned()),
        };
    checks.push(check("migrations", migrations));
    for area in state.areas.current().directories() {
        let issuer = area.issuer.clone();
        // A token signs in blocking calls: off the async workers.
        let probe = tokio::task::spawn_blocking(move || issuer.probe_signing());
        let outcome = match tokio::time::timeout(CHECK_TIMEOUT, probe).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(e))) => Err(e.to_string()),
            Ok(Err(_)) => Err("the signing probe panicked".to_owned()),
            Err(_) => Err("timed out".to_owned()),
        };
        checks.push(check(&format!("signer:{}", area.name), outcome));
    }
    let ready = checks.iter().all(|c| c.ok);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(Readiness { ready, checks })).into_response()
}

fn flatten<E: std::fmt::Display>(
    outcome: Result<Result<(), E>, tokio::time::error::Elapsed>,
) -> Result<(), String> {
    match outcome {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timed out".to_owned()),
    }
}

fn check(name: &str, outcome: Result<(), String>) -> Check {
    if let Err(error) = &outcome {
        tracing::warn!(check = name, error = %error, "readiness check failed");
    }
    Check {
        name: name.to_owned(),
        ok: outcome.is_ok(),
        error: outcome.err(),
    }
}
