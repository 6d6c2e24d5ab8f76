//! What a validation attempt produced: what was tried, and the problem if it failed.
//!
//! The caller (the server) records this on the challenge (`validationRecord` and `error`,
//! RFC 8555 §8) and decides what it means for the authorization; this crate never does.

use std::net::IpAddr;

use basalt_protocol::Problem;
use serde::Serialize;

/// The result of one validation attempt. A failure is a value, not an `Err`: the problem is
/// what the client will read on the challenge (RFC 8555 §8: "error").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationOutcome {
    /// Every request or lookup made, in order (for http-01, one per URL in the redirect
    /// chain).
    pub records: Vec<ValidationRecord>,
    /// `None` when the challenge was satisfied.
    pub problem: Option<Problem>,
}

impl ValidationOutcome {
    /// A successful validation.
    pub fn valid(records: Vec<ValidationRecord>) -> Self {
        Self {
            records,
            problem: None,
        }
    }

    /// A failed validation.
    pub fn invalid(records: Vec<ValidationRecord>, problem: Problem) -> Self {
        Self {
            records,
            problem: Some(problem),
        }
    }

    /// True when the challenge was satisfied.
    pub fn is_valid(&self) -> bool {
        self.problem.is_none()
    }
}

/// One step of a validation, as Boulder reports it in `validationRecord`: which name was
/// asked, which addresses the DNS gave and which one was used, so a failure can be understood
/// from the challenge object alone.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidationRecord {
    /// The URL fetched (http-01); `None` for DNS-only steps (dns-01).
    pub url: Option<String>,
    /// The name looked up or connected to (for dns-01, `_acme-challenge.<name>`).
    pub hostname: String,
    /// The port connected to; `None` for DNS-only steps.
    pub port: Option<u16>,
    /// Every address the resolver returned for `hostname`, IPv6 first.
    pub addresses_resolved: Vec<IpAddr>,
    /// The address the response came from, when a connection got that far.
    pub address_used: Option<IpAddr>,
    /// The DNS answers as presentation-format records, for logs.
    pub resolver_answers: Vec<String>,
}
