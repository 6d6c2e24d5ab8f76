//! Problem documents (RFC 7807) with the ACME error types of RFC 8555 §6.7.
//!
//! Every error a client sees is one of these. The server's edge (`basalt-server`'s
//! `problem.rs`) is the only place that turns domain errors into them.

use serde::{Deserialize, Serialize};

use crate::identifier::RawIdentifier;

/// The ACME error types, in the order of the table in RFC 8555 §6.7 (then RFC 8555 §6.7's
/// later registrations), each rendered as `urn:ietf:params:acme:error:<name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemType {
    AccountDoesNotExist,
    AlreadyRevoked,
    /// RFC 9773 §7.4: the certificate named by newOrder's `replaces` was already replaced.
    AlreadyReplaced,
    BadCsr,
    BadNonce,
    BadPublicKey,
    BadRevocationReason,
    BadSignatureAlgorithm,
    Caa,
    Compound,
    Connection,
    Dns,
    ExternalAccountRequired,
    IncorrectResponse,
    InvalidContact,
    /// draft-ietf-acme-profiles §5: newOrder named a profile the server does not offer.
    InvalidProfile,
    Malformed,
    OrderNotReady,
    RateLimited,
    RejectedIdentifier,
    ServerInternal,
    Tls,
    Unauthorized,
    UnsupportedContact,
    UnsupportedIdentifier,
    UserActionRequired,
}

impl ProblemType {
    const PREFIX: &'static str = "urn:ietf:params:acme:error:";

    /// The short name after the URN prefix, exactly as RFC 8555 §6.7 spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::AccountDoesNotExist => "accountDoesNotExist",
            Self::AlreadyRevoked => "alreadyRevoked",
            Self::AlreadyReplaced => "alreadyReplaced",
            Self::BadCsr => "badCSR",
            Self::BadNonce => "badNonce",
            Self::BadPublicKey => "badPublicKey",
            Self::BadRevocationReason => "badRevocationReason",
            Self::BadSignatureAlgorithm => "badSignatureAlgorithm",
            Self::Caa => "caa",
            Self::Compound => "compound",
            Self::Connection => "connection",
            Self::Dns => "dns",
            Self::ExternalAccountRequired => "externalAccountRequired",
            Self::IncorrectResponse => "incorrectResponse",
            Self::InvalidContact => "invalidContact",
            Self::InvalidProfile => "invalidProfile",
            Self::Malformed => "malformed",
            Self::OrderNotReady => "orderNotReady",
            Self::RateLimited => "rateLimited",
            Self::RejectedIdentifier => "rejectedIdentifier",
            Self::ServerInternal => "serverInternal",
            Self::Tls => "tls",
            Self::Unauthorized => "unauthorized",
            Self::UnsupportedContact => "unsupportedContact",
            Self::UnsupportedIdentifier => "unsupportedIdentifier",
            Self::UserActionRequired => "userActionRequired",
        }
    }

    /// The full URN, e.g. `urn:ietf:params:acme:error:badNonce`.
    pub fn urn(self) -> String {
        format!("{}{}", Self::PREFIX, self.name())
    }

    /// Parses a full URN back into a type; `None` for anything that is not an ACME error URN.
    pub fn from_urn(urn: &str) -> Option<Self> {
        let name = urn.strip_prefix(Self::PREFIX)?;
        ALL.iter().copied().find(|t| t.name() == name)
    }

    /// The HTTP status a problem of this type is sent with, following Boulder's choices where
    /// RFC 8555 does not fix one (RFC 8555 §7.3.6 fixes 401 for unauthorized requests by a
    /// deactivated account; the edge may override per case).
    pub fn default_status(self) -> u16 {
        match self {
            Self::AccountDoesNotExist
            | Self::AlreadyRevoked
            | Self::BadCsr
            | Self::BadNonce
            | Self::BadPublicKey
            | Self::BadRevocationReason
            | Self::BadSignatureAlgorithm
            | Self::Caa
            | Self::Compound
            | Self::Connection
            | Self::Dns
            | Self::IncorrectResponse
            | Self::InvalidContact
            | Self::InvalidProfile
            | Self::Malformed
            | Self::RejectedIdentifier
            | Self::Tls
            | Self::UnsupportedContact
            | Self::UnsupportedIdentifier => 400,
            Self::Unauthorized | Self::ExternalAccountRequired | Self::UserActionRequired => 403,
            Self::OrderNotReady => 403,
            // Boulder answers a second replacement with 409 Conflict.
            Self::AlreadyReplaced => 409,
            Self::RateLimited => 429,
            Self::ServerInternal => 500,
        }
    }
}

const ALL: [ProblemType; 26] = [
    ProblemType::AccountDoesNotExist,
    ProblemType::AlreadyRevoked,
    ProblemType::AlreadyReplaced,
    ProblemType::BadCsr,
    ProblemType::BadNonce,
    ProblemType::BadPublicKey,
    ProblemType::BadRevocationReason,
    ProblemType::BadSignatureAlgorithm,
    ProblemType::Caa,
    ProblemType::Compound,
    ProblemType::Connection,
    ProblemType::Dns,
    ProblemType::ExternalAccountRequired,
    ProblemType::IncorrectResponse,
    ProblemType::InvalidContact,
    ProblemType::InvalidProfile,
    ProblemType::Malformed,
    ProblemType::OrderNotReady,
    ProblemType::RateLimited,
    ProblemType::RejectedIdentifier,
    ProblemType::ServerInternal,
    ProblemType::Tls,
    ProblemType::Unauthorized,
    ProblemType::UnsupportedContact,
    ProblemType::UnsupportedIdentifier,
    ProblemType::UserActionRequired,
];

impl Serialize for ProblemType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.urn())
    }
}

impl<'de> Deserialize<'de> for ProblemType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let urn = String::deserialize(d)?;
        Self::from_urn(&urn)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown ACME error type {urn}")))
    }
}

/// A problem document (RFC 7807, RFC 8555 §6.7). `status` is part of the body as RFC 7807
/// allows, and is the HTTP status the edge sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub problem_type: ProblemType,
    pub detail: String,
    pub status: u16,
    /// RFC 8555 §6.7.1: one subproblem per offending identifier.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subproblems: Vec<Subproblem>,
    /// RFC 8555 §6.2: a `badSignatureAlgorithm` problem lists the accepted algorithms.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub algorithms: Vec<String>,
}

/// RFC 8555 §6.7.1: a problem about one identifier of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subproblem {
    #[serde(rename = "type")]
    pub problem_type: ProblemType,
    pub detail: String,
    /// The identifier as the client sent it (it may be the reason it was refused).
    pub identifier: RawIdentifier,
}

impl Problem {
    /// A problem with the type's default status.
    pub fn new(problem_type: ProblemType, detail: impl Into<String>) -> Self {
        Self {
            problem_type,
            detail: detail.into(),
            status: problem_type.default_status(),
            subproblems: Vec::new(),
            algorithms: Vec::new(),
        }
    }

    /// The same problem sent with another HTTP status.
    #[must_use]
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// The same problem carrying per-identifier subproblems.
    #[must_use]
    pub fn with_subproblems(mut self, subproblems: Vec<Subproblem>) -> Self {
        self.subproblems = subproblems;
        self
    }

    pub fn malformed(detail: impl Into<String>) -> Self {
        Self::new(ProblemType::Malformed, detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(ProblemType::Unauthorized, detail)
    }

    pub fn server_internal(detail: impl Into<String>) -> Self {
        Self::new(ProblemType::ServerInternal, detail)
    }

    /// Serialises to the JSON body; serialisation of this plain struct cannot fail.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| {
            r#"{"type":"urn:ietf:params:acme:error:serverInternal","detail":"problem document could not be serialised","status":500}"#.to_owned()
        })
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.problem_type.name(), self.detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_through_its_urn() {
        for t in ALL {
            assert_eq!(ProblemType::from_urn(&t.urn()), Some(t));
        }
        assert_eq!(
            ProblemType::BadCsr.urn(),
            "urn:ietf:params:acme:error:badCSR"
        );
        assert_eq!(
            ProblemType::from_urn("urn:ietf:params:acme:error:nope"),
            None
        );
    }

    #[test]
    fn problem_serialises_with_full_urn_and_status() {
        let p = Problem::new(ProblemType::BadNonce, "stale");
        let v: serde_json::Value = serde_json::from_str(&p.to_json()).unwrap();
        assert_eq!(v["type"], "urn:ietf:params:acme:error:badNonce");
        assert_eq!(v["status"], 400);
        assert!(v.get("subproblems").is_none());
    }
}
