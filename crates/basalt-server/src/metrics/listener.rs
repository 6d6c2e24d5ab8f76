//! The metrics listener (`server.metrics_listen`, plain HTTP, never the ACME port):
//! `/metrics` for Prometheus, `/healthz` (the process answers) and `/readyz` (this replica can
//! do its work: the database answers, its schema is current, every area's intermediate can
//! sign) for load balancers and orchestrators.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
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

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The exposition in the format the scraper asks for: OpenMetrics 1.0 when its `Accept`
/// names it (Prometheus does), else the Prometheus text format 0.0.4 (curl, promtool, older
/// scrapers), as Prometheus's own Go client negotiates.
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let metrics = &state.config.metrics;
    metrics.refresh(&state).await;
    let mut body = String::new();
    if encode(&mut body, &metrics.0.registry).is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let openmetrics = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|accept| accept.contains("application/openmetrics-text"));
    if openmetrics {
        ([(header::CONTENT_TYPE, OPENMETRICS)], body).into_response()
    } else {
        (
            [(header::CONTENT_TYPE, PROMETHEUS_TEXT)],
            prometheus_text(&body),
        )
            .into_response()
    }
}

/// OpenMetrics text to the Prometheus text format: a counter family is named with its
/// `_total` suffix there (its samples already carry it), and `# UNIT` and `# EOF` do not exist.
fn prometheus_text(openmetrics: &str) -> String {
    let counters: Vec<&str> = openmetrics
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.strip_suffix(" counter"))
        .collect();
    let mut text = String::with_capacity(openmetrics.len() + 16 * counters.len());
    for line in openmetrics.lines() {
        if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(&name)
                .then(|| format!("{prefix}{name}_total {tail}"))
        });
        match renamed {
            Some(line) => text.push_str(&line),
            None => text.push_str(line),
        }
        text.push('\n');
    }
    text
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

#[cfg(test)]
mod tests {
    use super::prometheus_text;

    #[test]
    fn counters_take_their_total_name_and_openmetrics_only_lines_go() {
        let openmetrics = "# HELP x_requests Requests.\n# TYPE x_requests counter\n\
            x_requests_total{a=\"b\"} 3\n# HELP x_time Time.\n# TYPE x_time histogram\n\
            # UNIT x_time seconds\nx_time_count 1\n# EOF\n";
        assert_eq!(
            prometheus_text(openmetrics),
            "# HELP x_requests_total Requests.\n# TYPE x_requests_total counter\n\
             x_requests_total{a=\"b\"} 3\n# HELP x_time Time.\n# TYPE x_time histogram\n\
             x_time_count 1\n"
        );
    }
}
