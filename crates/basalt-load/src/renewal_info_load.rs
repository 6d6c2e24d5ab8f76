//! The renewalInfo load (`basalt-ari-load`): C connections GET one renewalInfo URL (RFC 9773
//! §4.1) as fast as the server answers, for a fixed time, and report GETs per second.
//!
//! renewalInfo is what a whole fleet polls, unauthenticated, so this measures the one
//! indexed lookup behind it. Each worker owns one keep-alive connection (its own client, so
//! the pool cannot share or multiply connections) and sends one request at a time.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::Error;
use crate::http_client::{Trust, build_http_client};
use crate::latency::LatencySummary;

/// What to load.
#[derive(Debug, Clone)]
pub struct RenewalInfoLoad {
    /// The full renewalInfo URL: the directory's `renewalInfo`, `/`, a CertID.
    pub url: String,
    /// PEM trust anchors of the server's HTTPS certificate.
    pub ca_bundle: PathBuf,
    /// Connections (workers), each with one request in flight.
    pub connections: u32,
    /// How long to send requests.
    pub duration: Duration,
    /// HTTP/2 (ALPN) instead of HTTP/1.1 keep-alive.
    pub http2: bool,
}

/// The run's result.
#[derive(Debug, Clone, Serialize)]
pub struct RenewalInfoReport {
    pub url: String,
    pub connections: u32,
    pub seconds: f64,
    /// 200 answers with a `suggestedWindow`.
    pub ok: u64,
    /// Anything else (transport errors, other statuses).
    pub errors: u64,
    pub gets_per_second: f64,
    pub latency_ms: LatencySummary,
}

/// Runs the load; `Err` only if the client cannot be built or the first GET fails.
pub async fn run_renewal_info(load: &RenewalInfoLoad) -> Result<RenewalInfoReport, Error> {
    let probe = build_http_client(Trust::CaBundle(&load.ca_bundle), load.http2)?;
    check_once(&probe, &load.url).await?;
    let started = Instant::now();
    let deadline = started + load.duration;
    let mut workers = Vec::new();
    for _ in 0..load.connections {
        let client = build_http_client(Trust::CaBundle(&load.ca_bundle), load.http2)?;
        let url = load.url.clone();
        workers.push(tokio::spawn(async move {
            let (mut ok, mut errors, mut samples) = (0u64, 0u64, Vec::new());
            while Instant::now() < deadline {
                let sent = Instant::now();
                match get(&client, &url).await {
                    Ok(()) => {
                        ok += 1;
                        samples.push(sent.elapsed());
                    }
                    Err(_) => errors += 1,
                }
            }
            (ok, errors, samples)
        }));
    }
    let (mut ok, mut errors, mut samples) = (0, 0, Vec::new());
    for worker in workers {
        let (o, e, s) = worker
            .await
            .map_err(|e| Error::Usage(format!("a worker panicked: {e}")))?;
        ok += o;
        errors += e;
        samples.extend(s);
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(RenewalInfoReport {
        url: load.url.clone(),
        connections: load.connections,
        seconds: (seconds * 10.0).round() / 10.0,
        ok,
        errors,
        gets_per_second: (ok as f64 / seconds).round(),
        latency_ms: LatencySummary::of(samples),
    })
}

async fn get(client: &reqwest::Client, url: &str) -> Result<(), String> {
    let response = client.get(url).send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let body = response.bytes().await.map_err(|e| e.to_string())?;
    if status != reqwest::StatusCode::OK || !body.starts_with(b"{\"suggestedWindow\"") {
        return Err(format!("{status}: {}", String::from_utf8_lossy(&body)));
    }
    Ok(())
}

/// One GET before the clock starts, so a wrong URL is a setup error, not a count.
async fn check_once(client: &reqwest::Client, url: &str) -> Result<(), Error> {
    get(client, url)
        .await
        .map_err(|e| Error::Usage(format!("GET {url}: {e}")))
}
