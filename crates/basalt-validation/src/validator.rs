//! The entry point: one [`Validator`] per process, asked to validate one challenge at a time.

use std::sync::Arc;
use std::time::Instant;

use basalt_protocol::{ChallengeType, Identifier, KeyAuthorization, Problem, ProblemType};

use crate::config::ValidationConfig;
use crate::dns01;
use crate::error::Error;
use crate::http01::Http01;
use crate::outcome::ValidationOutcome;
use crate::resolver::DnsResolver;

/// What to validate: the identifier, the challenge and what the client must have published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationRequest {
    /// The authorization's identifier (for a wildcard, either form: dns-01 strips `*.`).
    pub identifier: Identifier,
    pub challenge_type: ChallengeType,
    /// The challenge token (RFC 8555 §8.1), base64url; part of the http-01 URL.
    pub token: String,
    /// RFC 8555 §8.1: token and account key thumbprint, computed by the caller.
    pub key_authorization: KeyAuthorization,
}

/// The challenge validators, sharing one resolver and one HTTP client. Cheap to clone (an
/// `Arc`), `Send + Sync`, so one instance serves every request of the process.
#[derive(Debug, Clone)]
pub struct Validator {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: ValidationConfig,
    resolver: DnsResolver,
    http01: Http01,
}

impl Validator {
    /// Builds the resolver and the HTTP client once. Fails only when the server cannot
    /// validate at all (no readable DNS configuration, no TLS/HTTP client).
    pub fn new(config: ValidationConfig) -> Result<Self, Error> {
        let resolver = DnsResolver::new(&config)?;
        let http01 = Http01::new(&config, resolver.clone())?;
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                resolver,
                http01,
            }),
        })
    }

    /// The configuration this validator was built with.
    pub fn config(&self) -> &ValidationConfig {
        &self.inner.config
    }

    /// Runs one validation attempt, bounded by `attempt_timeout`. Never fails: a challenge
    /// that is not satisfied gives an outcome carrying the problem to show the client.
    pub async fn validate(&self, request: &ValidationRequest) -> ValidationOutcome {
        let started = Instant::now();
        let limit = self.inner.config.attempt_timeout;
        let outcome = match tokio::time::timeout(limit, self.attempt(request)).await {
            Ok(outcome) => outcome,
            Err(_) => {
                // A slow DNS answer is a DNS problem; for http-01 it is the connection.
                let problem_type = match request.challenge_type {
                    ChallengeType::Dns01 => ProblemType::Dns,
                    _ => ProblemType::Connection,
                };
                ValidationOutcome::invalid(
                    Vec::new(),
                    Problem::new(
                        problem_type,
                        format!(
                            "{} validation of {} timed out: no result within {}",
                            request.challenge_type,
                            request.identifier.value,
                            humantime::format_duration(limit)
                        ),
                    ),
                )
            }
        };
        let problem = outcome.problem.as_ref();
        // Debug level: the server logs the one info event per validation, with its ids.
        tracing::debug!(
            identifier = %request.identifier,
            "challenge.type" = request.challenge_type.as_str(),
            result = if problem.is_none() { "valid" } else { "invalid" },
            "problem.type" = problem.map(|p| p.problem_type.name()),
            "problem.detail" = problem.map(|p| p.detail.as_str()),
            duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "challenge validation finished"
        );
        outcome
    }

    async fn attempt(&self, request: &ValidationRequest) -> ValidationOutcome {
        match request.challenge_type {
            ChallengeType::Http01 => {
                self.inner
                    .http01
                    .validate(
                        &request.identifier,
                        &request.token,
                        &request.key_authorization,
                    )
                    .await
            }
            ChallengeType::Dns01 => {
                dns01::validate(
                    &self.inner.resolver,
                    &request.identifier,
                    &request.key_authorization,
                )
                .await
            }
            // RFC 8737 is implemented later; until then the server does not offer it, so a
            // request for it is a fault on our side, not the client's.
            ChallengeType::TlsAlpn01 => ValidationOutcome::invalid(
                Vec::new(),
                Problem::server_internal("tls-alpn-01 validation is not available on this server"),
            ),
        }
    }
}
