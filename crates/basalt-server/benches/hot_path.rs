//! Criterion micro-benchmarks of the ACME hot path: the CPU and database work behind each
//! request of an issuance and behind each certificate, driven through the crates' public APIs.
//!
//! One bench binary, to keep build time down; one module per area under `hot_path/`.
//! `cargo bench -p basalt-server --bench hot_path` runs everything in about two and a half
//! minutes; a filter runs one group (`cargo bench -p basalt-server --bench hot_path --
//! nonce_issue_redeem`). Measurement windows are short (3 s), which is enough for these
//! microsecond-scale operations but not for detecting small regressions between runs. The
//! numbers and what they mean for the cost of a certificate are in `BENCHMARKS.md`.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};

#[path = "hot_path/csr.rs"]
mod csr;
#[path = "hot_path/jws.rs"]
mod jws;
#[path = "hot_path/nonces.rs"]
mod nonces;
#[path = "hot_path/orders.rs"]
mod orders;
#[path = "hot_path/primitives.rs"]
mod primitives;
#[path = "hot_path/sqlite.rs"]
mod sqlite;

/// Short windows so the whole binary runs in under three minutes on two cores.
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = hot_path;
    config = config();
    targets =
        jws::jws_verify,
        nonces::nonce_issue_redeem,
        csr::csr_check_and_sign,
        orders::order_db_writes,
        primitives::signature_primitives,
}
criterion_main!(hot_path);
