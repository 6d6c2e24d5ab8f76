//! basalt-load: an ACME (RFC 8555) load generator.
//!
//! It creates one account per worker, then every worker runs the whole issuance flow in a loop
//! (newOrder, authorizations, http-01, finalize, certificate download) against any RFC 8555
//! server: basalt, or Pebble for comparison. Requests survive what failover tests do to the
//! server (a replica killed, the database stopped for a while) by retrying with fresh nonces,
//! and the run is bounded in time, so it always ends with a [`Report`].
//!
//! The binary (`main.rs`) only parses [`Options`], calls [`run`] and prints the report.

mod account_key;
mod counters;
mod csr;
mod error;
mod http_client;
mod insecure_tls;
mod jws;
mod latency;
mod leaf_check;
mod names;
mod options;
mod order_flow;
mod plan;
mod polling;
mod problem;
mod renewal_info_load;
mod report;
mod responder;
mod retry_after;
mod run;
mod session;
mod setup;
mod wire;
mod worker;

pub use error::Error;
pub use latency::LatencySummary;
pub use options::Options;
pub use problem::ProblemDoc;
pub use renewal_info_load::{RenewalInfoLoad, RenewalInfoReport, run_renewal_info};
pub use report::Report;
pub use run::run;
