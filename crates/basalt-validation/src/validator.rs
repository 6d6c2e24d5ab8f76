//! The entry point: one [`Validator`] per process, asked to validate one challenge at a time.

use std::sync::Arc;
use std::time::Instant;

use basalt_protocol::{ChallengeType, Identifier, KeyAuthorization, Problem, ProblemType};

use crate::caa::{self, CaaPolicy};
use crate::config::ValidationConfig;
use crate::dns01;
use crate::egress::EgressPolicy;
use crate::error::Error;
use crate::http01::Http01;
use crate::outcome::ValidationOutcome;
use crate::resolver::DnsResolver;
use crate::tls_alpn01::TlsAlpn01;

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
    /// The authorization is for a wildcard certificate: CAA `issuewild` applies (RFC 8659
    /// §4.3). A `*.` identifier counts as a wildcard too.
    pub wildcard: bool,
    /// Whose CAA identities and which account to check after the challenge succeeded;
    /// `None` when CAA is not checked (disabled for this directory).
    pub caa: Option<CaaPolicy>,
    /// Where this validation may connect (a directory's own policy); `None` means the
    /// [`ValidationConfig`]'s.
    pub egress: Option<EgressPolicy>,
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
    tls_alpn01: TlsAlpn01,
}

impl Validator {
    /// Builds the resolver and the HTTP client once. Fails only when the server cannot
    /// validate at all (no readable DNS configuration, no TLS/HTTP client).
    pub fn new(config: ValidationConfig) -> Result<Self, Error> {
        let resolver = DnsResolver::new(&config)?;
        let http01 = Http01::new(&config, resolver.clone())?;
        let tls_alpn01 = TlsAlpn01::new(&config, resolver.clone())?;
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                resolver,
                http01,
                tls_alpn01,
            }),
        })
    }

    /// The configuration this validator was built with.
    pub fn config(&self) -> &ValidationConfig {
        &self.inner.config
    }

    /// Runs one validation attempt, then (when the request carries a [`CaaPolicy`] and the
    /// challenge succeeded) the CAA check, both within `attempt_timeout`. Never fails: a
    /// challenge that is not satisfied, or a CAA refusal, gives an outcome carrying the
    /// problem to show the client.
    pub async fn validate(&self, request: &ValidationRequest) -> ValidationOutcome {
        let started = Instant::now();
        let limit = self.inner.config.attempt_timeout;
        let deadline = tokio::time::Instant::from_std(started) + limit;
        let outcome = match tokio::time::timeout_at(deadline, self.attempt(request)).await {
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
                            request.identifier.value(),
                            humantime::format_duration(limit)
                        ),
                    ),
                )
            }
        };
        // Like Boulder, CAA is checked for a validation that succeeded; a refusal (or a lookup
        // that failed) turns it invalid, keeping what the challenge recorded.
        let outcome = match &request.caa {
            Some(policy) if outcome.is_valid() => {
                match self
                    .caa_until(
                        deadline,
                        &request.identifier,
                        request.wildcard,
                        request.challenge_type,
                        policy,
                    )
                    .await
                {
                    Ok(()) => outcome,
                    Err(problem) => ValidationOutcome::invalid(outcome.records, problem),
                }
            }
            _ => outcome,
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

    /// RFC 8659: may this CA issue for `identifier` (wildcard: issuewild) to this account,
    /// validated by `method`? Err is the `caa` (refused by the records) or `dns` (the lookup
    /// failed: fail closed) problem to show. Used after validation and again at finalize.
    /// IP identifiers are always allowed (RFC 8738 §7). Bounded by `attempt_timeout`.
    pub async fn check_caa(
        &self,
        identifier: &Identifier,
        wildcard: bool,
        method: ChallengeType,
        policy: &CaaPolicy,
    ) -> Result<(), Problem> {
        let deadline = tokio::time::Instant::now() + self.inner.config.attempt_timeout;
        self.caa_until(deadline, identifier, wildcard, method, policy)
            .await
    }

    /// The CAA check, failing closed with a `dns` problem when `deadline` passes first.
    async fn caa_until(
        &self,
        deadline: tokio::time::Instant,
        identifier: &Identifier,
        wildcard: bool,
        method: ChallengeType,
        policy: &CaaPolicy,
    ) -> Result<(), Problem> {
        let check = caa::check(&self.inner.resolver, identifier, wildcard, method, policy);
        match tokio::time::timeout_at(deadline, check).await {
            Ok(result) => result,
            Err(_) => Err(Problem::new(
                ProblemType::Dns,
                format!(
                    "CAA lookup for {} timed out: no answer within the {} time limit",
                    identifier.value(),
                    humantime::format_duration(self.inner.config.attempt_timeout)
                ),
            )),
        }
    }

    async fn attempt(&self, request: &ValidationRequest) -> ValidationOutcome {
        let egress = request.egress.as_ref().unwrap_or(&self.inner.config.egress);
        match request.challenge_type {
            ChallengeType::Http01 => {
                self.inner
                    .http01
                    .validate(
                        &request.identifier,
                        &request.token,
                        &request.key_authorization,
                        egress,
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
            ChallengeType::TlsAlpn01 => {
                self.inner
                    .tls_alpn01
                    .validate(&request.identifier, &request.key_authorization, egress)
                    .await
            }
        }
    }
}
