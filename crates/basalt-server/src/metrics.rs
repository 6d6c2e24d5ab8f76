//! Prometheus metrics (issue 17): what an on-call engineer asks of a CA — is it answering,
//! issuing, validating, is its database healthy, are its CA certificates or its fleet's
//! certificates about to expire.
//!
//! Built on `prometheus-client` (the Prometheus project's Rust client): typed label sets make
//! every label a small enum or a configured name, so a label value is never a DNS name, a
//! serial, an account id or an address (Prometheus's instrumentation guidelines: bounded
//! cardinality). Counters and histograms are updated where things happen; the values that
//! describe state (CA expiry, certificates about to expire, CRL age, pool use) are read when
//! Prometheus scrapes (`scrape.rs`). Served on `server.metrics_listen` only, never on the
//! ACME port (`listener.rs`).

mod labels;
pub(crate) mod listener;
mod scrape;

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use labels::{
    AreaLabels, BuildLabels, CaLabels, CaaLabels, CrlLabels, IssuedLabels, KeyKindLabels,
    OrderLabels, PoolLabels, QueryLabels, RequestLabels, RouteLabels, ValidationLabels,
    ValidationTypeLabels,
};

/// Every metric basalt exports; cheap to clone (one shared set per process).
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    registry: Registry,
    http_requests: Family<RequestLabels, Counter>,
    http_duration: Family<RouteLabels, Histogram>,
    orders: Family<OrderLabels, Counter>,
    validations: Family<ValidationLabels, Counter>,
    validation_duration: Family<ValidationTypeLabels, Histogram>,
    caa_checks: Family<CaaLabels, Counter>,
    issued: Family<IssuedLabels, Counter>,
    revoked: Family<AreaLabels, Counter>,
    signing_duration: Family<KeyKindLabels, Histogram>,
    query_duration: Family<QueryLabels, Histogram>,
    pool_connections: Family<PoolLabels, Gauge>,
    nonces_issued: Counter,
    nonces_rejected: Counter,
    bad_nonce_answers: Counter,
    ca_expiry: Family<CaLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    expiring_soon: Family<AreaLabels, Gauge>,
    crl_age: Family<CrlLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    database_up: Gauge,
}

/// Latency buckets from 1 ms to ~16 s (doubling): request, query and signing times alike.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// Validation buckets from 10 ms to ~80 s: a validation waits on the applicant's servers.
fn validation_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.01, 2.0, 14))
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("basalt");
        let http_requests = Family::default();
        registry.register(
            "http_requests",
            "ACME requests answered, by route template, method and status",
            http_requests.clone(),
        );
        let http_duration = Family::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register_with_unit(
            "http_request_duration",
            "Time to answer an ACME request, by route template and method",
            Unit::Seconds,
            http_duration.clone(),
        );
        let orders = Family::default();
        registry.register(
            "orders",
            "Orders that reached a final status (valid, invalid), by area",
            orders.clone(),
        );
        let validations = Family::default();
        registry.register(
            "validations",
            "Challenge validations, by challenge type and result",
            validations.clone(),
        );
        let validation_duration =
            Family::new_with_constructor(validation_histogram as fn() -> Histogram);
        registry.register_with_unit(
            "validation_duration",
            "Time one validation attempt took, by challenge type",
            Unit::Seconds,
            validation_duration.clone(),
        );
        let caa_checks = Family::default();
        registry.register(
            "caa_checks",
            "CAA checks (RFC 8659), by where they ran and result",
            caa_checks.clone(),
        );
        let issued = Family::default();
        registry.register(
            "certificates_issued",
            "Certificates issued, by area, profile and intermediate (key id)",
            issued.clone(),
        );
        let revoked = Family::default();
        registry.register(
            "certificates_revoked",
            "Certificates revoked, by area",
            revoked.clone(),
        );
        let signing_duration = Family::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register_with_unit(
            "signing_duration",
            "Time to sign one certificate, by kind of key (file, encrypted-file, pkcs11)",
            Unit::Seconds,
            signing_duration.clone(),
        );
        let query_duration = Family::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register_with_unit(
            "database_query_duration",
            "Time one database statement took, by outcome (ok, error)",
            Unit::Seconds,
            query_duration.clone(),
        );
        let pool_connections = Family::default();
        registry.register(
            "database_pool_connections",
            "Database connections by pool (writer, reader) and state (idle, in_use), at scrape time",
            pool_connections.clone(),
        );
        let database_up = Gauge::default();
        registry.register(
            "database_up",
            "1 when the database answered a ping at the last scrape, else 0",
            database_up.clone(),
        );
        let nonces_issued = Counter::default();
        registry.register(
            "nonces_issued",
            "Replay-Nonce values handed out",
            nonces_issued.clone(),
        );
        let nonces_rejected = Counter::default();
        registry.register(
            "nonces_rejected",
            "Nonces refused (unknown, expired, forged or already used)",
            nonces_rejected.clone(),
        );
        let bad_nonce_answers = Counter::default();
        registry.register(
            "bad_nonce_answers",
            "Requests answered with urn:ietf:params:acme:error:badNonce",
            bad_nonce_answers.clone(),
        );
        let ca_expiry = Family::default();
        registry.register_with_unit(
            "ca_certificate_expiry",
            "Seconds until the root or an intermediate expires, at scrape time",
            Unit::Seconds,
            ca_expiry.clone(),
        );
        let expiring_soon = Family::default();
        registry.register(
            "certificates_expiring_within_hour",
            "Unrevoked certificates whose notAfter falls within the next hour, by area, at scrape time",
            expiring_soon.clone(),
        );
        let crl_age = Family::default();
        registry.register_with_unit(
            "crl_age",
            "Seconds since each intermediate's newest CRL was made, at scrape time",
            Unit::Seconds,
            crl_age.clone(),
        );
        // The conventional `*_build_info` gauge (always 1, the version as a label) rather than
        // an OpenMetrics info metric, which Prometheus's text-format tools do not parse.
        let build_info = Family::<BuildLabels, Gauge>::default();
        build_info
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);
        registry.register("build_info", "basalt's version (always 1)", build_info);
        Self(Arc::new(Inner {
            registry,
            http_requests,
            http_duration,
            orders,
            validations,
            validation_duration,
            caa_checks,
            issued,
            revoked,
            signing_duration,
            query_duration,
            pool_connections,
            nonces_issued,
            nonces_rejected,
            bad_nonce_answers,
            ca_expiry,
            expiring_soon,
            crl_age,
            database_up,
        }))
    }

    /// A callback for `Store::connect_observed`: every statement's time and outcome.
    pub fn database_observer(&self) -> basalt_storage::QueryObserver {
        let histograms = self.0.query_duration.clone();
        Arc::new(move |elapsed: Duration, failed: bool| {
            let outcome = if failed { "error" } else { "ok" };
            histograms
                .get_or_create(&QueryLabels { outcome })
                .observe(elapsed.as_secs_f64());
        })
    }

    pub(crate) fn request(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        let inner = &self.0;
        inner
            .http_requests
            .get_or_create(&RequestLabels {
                route: route.to_owned(),
                method: method.to_owned(),
                status,
            })
            .inc();
        inner
            .http_duration
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
                method: method.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// `count` orders of `area` reached `status` (a failed validation may invalidate several).
    pub(crate) fn orders_final(&self, area: &str, status: &'static str, count: u64) {
        self.0
            .orders
            .get_or_create(&OrderLabels {
                area: area.to_owned(),
                status,
            })
            .inc_by(count);
    }

    pub(crate) fn validation(
        &self,
        challenge_type: &'static str,
        result: &'static str,
        took: Duration,
    ) {
        let inner = &self.0;
        inner
            .validations
            .get_or_create(&ValidationLabels {
                challenge_type,
                result,
            })
            .inc();
        inner
            .validation_duration
            .get_or_create(&ValidationTypeLabels { challenge_type })
            .observe(took.as_secs_f64());
    }

    pub(crate) fn caa_check(&self, stage: &'static str, result: &'static str) {
        self.0
            .caa_checks
            .get_or_create(&CaaLabels { stage, result })
            .inc();
    }

    pub(crate) fn issued(&self, area: &str, profile: &str, intermediate: &str) {
        self.0
            .issued
            .get_or_create(&IssuedLabels {
                area: area.to_owned(),
                profile: profile.to_owned(),
                intermediate: intermediate.to_owned(),
            })
            .inc();
    }

    pub(crate) fn signed(&self, key_kind: &'static str, took: Duration) {
        self.0
            .signing_duration
            .get_or_create(&KeyKindLabels { key_kind })
            .observe(took.as_secs_f64());
    }

    pub(crate) fn revoked(&self, area: &str) {
        self.0
            .revoked
            .get_or_create(&AreaLabels {
                area: area.to_owned(),
            })
            .inc();
    }

    pub(crate) fn nonce_issued(&self) {
        self.0.nonces_issued.inc();
    }

    pub(crate) fn nonce_rejected(&self) {
        self.0.nonces_rejected.inc();
    }

    pub(crate) fn bad_nonce_answered(&self) {
        self.0.bad_nonce_answers.inc();
    }
}
