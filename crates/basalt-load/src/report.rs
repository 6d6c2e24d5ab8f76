//! The run's result, printed as one JSON object.

use std::time::Duration;

use serde::Serialize;

use crate::counters::Counters;
use crate::latency::LatencySummary;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub orders_ok: u64,
    pub orders_failed: u64,
    /// The first failure reasons (up to 20), each naming the worker and URL.
    pub failures: Vec<String>,
    /// From the first order started (accounts already exist) to the last one finished.
    pub wall_seconds: f64,
    pub certificates_per_second: f64,
    /// Of a full order: newOrder sent to certificate chain downloaded and checked.
    pub latency_ms: LatencySummary,
    pub requests: u64,
    pub bad_nonce_retries: u64,
    pub retries_unavailable: u64,
    pub retries_transport: u64,
    pub concurrency: u32,
    pub names_per_order: u32,
}

impl Report {
    pub(crate) fn new(
        latencies: Vec<Duration>,
        orders_failed: u64,
        failures: Vec<String>,
        wall: Duration,
        counters: &Counters,
        concurrency: u32,
        names_per_order: u32,
    ) -> Self {
        let orders_ok = latencies.len() as u64;
        let wall_seconds = wall.as_secs_f64();
        let certificates_per_second = if wall_seconds > 0.0 {
            orders_ok as f64 / wall_seconds
        } else {
            0.0
        };
        Self {
            orders_ok,
            orders_failed,
            failures,
            wall_seconds: round3(wall_seconds),
            certificates_per_second: round3(certificates_per_second),
            latency_ms: LatencySummary::of(latencies),
            requests: Counters::read(&counters.requests),
            bad_nonce_retries: Counters::read(&counters.bad_nonce_retries),
            retries_unavailable: Counters::read(&counters.retries_unavailable),
            retries_transport: Counters::read(&counters.retries_transport),
            concurrency,
            names_per_order,
        }
    }

    /// Exit status 0 only when every order succeeded.
    pub fn all_ok(&self) -> bool {
        self.orders_failed == 0
    }
}

fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_and_field_names() {
        let counters = Counters::default();
        Counters::bump(&counters.requests);
        let report = Report::new(
            vec![Duration::from_millis(20), Duration::from_millis(40)],
            1,
            vec!["worker 0: boom".into()],
            Duration::from_secs(4),
            &counters,
            8,
            1,
        );
        assert_eq!(report.certificates_per_second, 0.5);
        assert!(!report.all_ok());
        let json = serde_json::to_value(&report).unwrap();
        for key in [
            "orders_ok",
            "orders_failed",
            "failures",
            "wall_seconds",
            "certificates_per_second",
            "latency_ms",
            "requests",
            "bad_nonce_retries",
            "retries_unavailable",
            "retries_transport",
            "concurrency",
            "names_per_order",
        ] {
            assert!(json.get(key).is_some(), "missing {key}");
        }
        assert_eq!(json["latency_ms"]["p50"], 20.0);
        assert_eq!(json["requests"], 1);
    }
}
