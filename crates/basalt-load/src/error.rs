//! The one error type: why setup failed, or why one order failed.
//!
//! Setup errors end the run (exit status 2); order errors are counted, and the first few
//! `Display` texts go into the report's `failures`, so each message names the URL involved.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::problem::ProblemDoc;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The options contradict each other or name something unusable.
    #[error("{0}")]
    Usage(String),
    /// The `--ca-bundle` file could not be read or holds no usable certificate.
    #[error("CA bundle {path}: {reason}")]
    CaBundle { path: PathBuf, reason: String },
    /// rustls refused the client configuration.
    #[error("TLS client configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// reqwest could not build the shared client.
    #[error("building the HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
    /// The http-01 responder could not listen on 127.0.0.1 (the IPv6 socket is optional).
    #[error("http-01 responder cannot listen on {addr}: {source}")]
    Responder {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// ring could not generate or use a key (no randomness, or a broken key).
    #[error("{0}")]
    Crypto(&'static str),
    /// A request kept failing for the whole retry budget.
    #[error("{url}: gave up after {seconds} s of retrying; last: {last}")]
    GaveUp {
        url: String,
        seconds: u64,
        last: String,
    },
    /// The server answered with an error status, normally a problem document (RFC 8555 §6.7).
    #[error("{url}: HTTP {status}: {problem}")]
    Problem {
        url: String,
        status: u16,
        problem: ProblemDoc,
    },
    /// The server's answer does not follow RFC 8555 (a missing header, an unreadable body).
    #[error("{url}: {reason}")]
    Protocol { url: String, reason: String },
    /// The order became `invalid`; the reason is the failed challenge's error when there is one.
    #[error("order {url} is invalid: {reason}")]
    OrderInvalid { url: String, reason: String },
    /// Polling never saw the wanted status.
    #[error("order {url} still {status} after {seconds} s")]
    Stuck {
        url: String,
        status: String,
        seconds: u64,
    },
    /// rcgen could not build the CSR.
    #[error("building the CSR: {0}")]
    Csr(#[source] rcgen::Error),
    /// The downloaded certificate is not the one ordered.
    #[error("certificate {url}: {reason}")]
    Leaf { url: String, reason: String },
    /// The order was still running at the hard deadline; `step` is what it was doing.
    #[error("unfinished at the hard deadline, while {step}")]
    Deadline { step: String },
    /// A task of this tool panicked: a bug here, not in the server.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// True if this is an `Error::Problem` of the given RFC 8555 §6.7 type (short name, e.g.
    /// `orderNotReady`).
    pub(crate) fn is_problem(&self, short_type: &str) -> bool {
        matches!(self, Self::Problem { problem, .. } if problem.is(short_type))
    }
}
