//! One account's conversation with the ACME server: signed requests, nonces, and retries.
//!
//! RFC 8555 §6.5: every response carries a fresh `Replay-Nonce`, so a session keeps the last
//! one and spends it on the next request; it asks newNonce only when it has none (at the
//! start, and after a transport error, when whatever nonce it held may have been used).
//!
//! Failover tests kill a replica or stop the database under load, so a request is retried
//! rather than failed when the failure says nothing about the request itself: `badNonce`
//! (with the nonce that error carries), 503 and gateway errors (after `Retry-After`), and
//! lost connections. Each request gets a bounded retry budget, so a server that never
//! recovers still ends in a failed order with the last reason.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, LOCATION, RETRY_AFTER};
use ring::rand::SystemRandom;
use serde::de::DeserializeOwned;

use crate::counters::Counters;
use crate::error::Error;
use crate::jws::JwsSigner;
use crate::problem::ProblemDoc;
use crate::retry_after::parse_retry_after;
use crate::wire::Directory;

/// RFC 8555 §6.2: the media type of every signed request.
const JOSE_JSON: &str = "application/jose+json";
/// A request that has failed for this long since its first failure is given up.
const GIVE_UP_AFTER: Duration = Duration::from_secs(60);
/// Resending on `badNonce` more often than this means the server rejects every nonce.
const MAX_BAD_NONCE_RETRIES: u32 = 10;
/// The wait after a connection error before connecting again.
const TRANSPORT_RETRY_WAIT: Duration = Duration::from_millis(200);
/// The wait after a 503 without `Retry-After`, and the longest one honoured.
const UNAVAILABLE_DEFAULT_WAIT: Duration = Duration::from_secs(1);
const UNAVAILABLE_LONGEST_WAIT: Duration = Duration::from_secs(10);

/// What every session shares: the HTTP client (one connection pool), the directory, and the
/// counters for the report.
pub(crate) struct AcmeServer {
    pub(crate) http: reqwest::Client,
    pub(crate) directory: Directory,
    pub(crate) counters: Arc<Counters>,
}

/// A successful (2xx) answer, or the error answer inside `Error::Problem`.
pub(crate) struct Reply {
    pub(crate) url: String,
    pub(crate) status: u16,
    pub(crate) location: Option<String>,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    pub(crate) fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|e| Error::Protocol {
            url: self.url.clone(),
            reason: format!("unexpected JSON in an HTTP {} answer: {e}", self.status),
        })
    }

    /// The `Location` header, which RFC 8555 §7.3 and §7.4 require on created resources.
    pub(crate) fn location(&self) -> Result<&str, Error> {
        self.location.as_deref().ok_or_else(|| Error::Protocol {
            url: self.url.clone(),
            reason: format!("HTTP {} without a Location header", self.status),
        })
    }

    fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    fn into_problem(self) -> Error {
        Error::Problem {
            problem: ProblemDoc::from_body(&self.body),
            url: self.url,
            status: self.status,
        }
    }
}

/// How one HTTP exchange ended, as far as retrying is concerned.
enum Attempt {
    /// An answer to act on: success, or an error that retrying would not change.
    Answered(Reply),
    /// RFC 8555 §6.5: `badNonce`; resend with the nonce this answer carried.
    BadNonce(Reply),
    /// The server (or a proxy in front of it) is temporarily unable to answer.
    Unavailable { wait: Duration, reason: String },
    /// No answer: connection refused or reset, early EOF, or the request timed out.
    Transport(String),
}

/// Tracks how long one request has been failing.
#[derive(Default)]
struct RetryBudget {
    first_failure: Option<Instant>,
    bad_nonces: u32,
}

impl RetryBudget {
    /// Records a retryable failure; `Err` once the request has failed for too long.
    fn failed(&mut self, url: &str, reason: String) -> Result<(), Error> {
        let first = *self.first_failure.get_or_insert_with(Instant::now);
        if first.elapsed() >= GIVE_UP_AFTER {
            return Err(Error::GaveUp {
                url: url.to_owned(),
                seconds: GIVE_UP_AFTER.as_secs(),
                last: reason,
            });
        }
        Ok(())
    }
}

pub(crate) struct Session {
    server: Arc<AcmeServer>,
    signer: JwsSigner,
    nonce: Option<String>,
    rng: SystemRandom,
}

impl Session {
    pub(crate) fn new(server: Arc<AcmeServer>, signer: JwsSigner) -> Self {
        Self {
            server,
            signer,
            nonce: None,
            rng: SystemRandom::new(),
        }
    }

    pub(crate) fn server(&self) -> &AcmeServer {
        &self.server
    }

    pub(crate) fn signer(&self) -> &JwsSigner {
        &self.signer
    }

    /// From now on requests name the account by URL (`kid`), RFC 8555 §6.2.
    pub(crate) fn into_account(self, account_url: &str) -> Self {
        Self {
            signer: self.signer.into_kid(account_url),
            ..self
        }
    }

    /// RFC 8555 §6.3: POST-as-GET, a signed request with an empty payload.
    pub(crate) async fn post_as_get(&mut self, url: &str) -> Result<Reply, Error> {
        self.post(url, None, None).await
    }

    /// A signed POST of `payload` (JSON bytes; `None` for POST-as-GET), retried as the module
    /// doc describes. Non-2xx answers become `Error::Problem`.
    pub(crate) async fn post(
        &mut self,
        url: &str,
        payload: Option<&[u8]>,
        accept: Option<&'static str>,
    ) -> Result<Reply, Error> {
        let payload_b64 = payload.map_or_else(String::new, |p| URL_SAFE_NO_PAD.encode(p));
        let mut budget = RetryBudget::default();
        loop {
            let nonce = match self.nonce.take() {
                Some(nonce) => nonce,
                None => self.fresh_nonce(&mut budget).await?,
            };
            let body = self.signer.sign(&self.rng, &nonce, url, &payload_b64)?;
            let mut request = self
                .server
                .http
                .post(url)
                .header(CONTENT_TYPE, JOSE_JSON)
                .body(body);
            if let Some(accept) = accept {
                request = request.header(ACCEPT, accept);
            }
            let (attempt, nonce) = exchange(&self.server.counters, url, request).await;
            self.nonce = nonce;
            match attempt {
                Attempt::Answered(reply) if reply.is_success() => return Ok(reply),
                Attempt::Answered(reply) => return Err(reply.into_problem()),
                Attempt::BadNonce(reply) => {
                    Counters::bump(&self.server.counters.bad_nonce_retries);
                    budget.bad_nonces += 1;
                    if budget.bad_nonces > MAX_BAD_NONCE_RETRIES {
                        return Err(reply.into_problem());
                    }
                }
                Attempt::Unavailable { wait, reason } => {
                    Counters::bump(&self.server.counters.retries_unavailable);
                    budget.failed(url, reason)?;
                    tokio::time::sleep(wait).await;
                }
                Attempt::Transport(reason) => {
                    Counters::bump(&self.server.counters.retries_transport);
                    // The lost request may have spent the nonce; ask newNonce for a new one.
                    self.nonce = None;
                    budget.failed(url, reason)?;
                    tokio::time::sleep(TRANSPORT_RETRY_WAIT).await;
                }
            }
        }
    }

    /// RFC 8555 §7.2: `HEAD newNonce`, retried under the calling request's budget.
    async fn fresh_nonce(&mut self, budget: &mut RetryBudget) -> Result<String, Error> {
        let url = self.server.directory.new_nonce.clone();
        loop {
            let request = self.server.http.head(&url);
            let (attempt, nonce) = exchange(&self.server.counters, &url, request).await;
            match attempt {
                Attempt::Answered(reply) | Attempt::BadNonce(reply) => {
                    if !reply.is_success() {
                        return Err(reply.into_problem());
                    }
                    return nonce.ok_or_else(|| Error::Protocol {
                        url,
                        reason: "newNonce answered without a Replay-Nonce header".into(),
                    });
                }
                Attempt::Unavailable { wait, reason } => {
                    Counters::bump(&self.server.counters.retries_unavailable);
                    budget.failed(&url, reason)?;
                    tokio::time::sleep(wait).await;
                }
                Attempt::Transport(reason) => {
                    Counters::bump(&self.server.counters.retries_transport);
                    budget.failed(&url, reason)?;
                    tokio::time::sleep(TRANSPORT_RETRY_WAIT).await;
                }
            }
        }
    }
}

/// RFC 8555 §7.1.1: `GET` the directory, with the same retries as signed requests.
pub(crate) async fn fetch_directory(
    http: &reqwest::Client,
    counters: &Counters,
    url: &str,
) -> Result<Directory, Error> {
    let mut budget = RetryBudget::default();
    loop {
        match exchange(counters, url, http.get(url)).await.0 {
            Attempt::Answered(reply) | Attempt::BadNonce(reply) => {
                if !reply.is_success() {
                    return Err(reply.into_problem());
                }
                return reply.json();
            }
            Attempt::Unavailable { wait, reason } => {
                budget.failed(url, reason)?;
                tokio::time::sleep(wait).await;
            }
            Attempt::Transport(reason) => {
                budget.failed(url, reason)?;
                tokio::time::sleep(TRANSPORT_RETRY_WAIT).await;
            }
        }
    }
}

/// Sends one request and reads the whole answer, returning the answer's `Replay-Nonce` too.
async fn exchange(
    counters: &Counters,
    url: &str,
    request: reqwest::RequestBuilder,
) -> (Attempt, Option<String>) {
    Counters::bump(&counters.requests);
    let response = match request.send().await {
        Ok(response) => response,
        Err(error) => return (Attempt::Transport(describe(&error)), None),
    };
    let status = response.status().as_u16();
    let headers = response.headers();
    let nonce = header_text(headers, "replay-nonce");
    let location = header_text(headers, LOCATION.as_str());
    let retry_after = header_text(headers, RETRY_AFTER.as_str())
        .and_then(|value| parse_retry_after(&value, SystemTime::now()));
    let body = match response.bytes().await {
        Ok(body) => Vec::from(body),
        Err(error) => return (Attempt::Transport(describe(&error)), None),
    };
    let reply = Reply {
        url: url.to_owned(),
        status,
        location,
        retry_after,
        body,
    };
    (classify(reply), nonce)
}

fn classify(reply: Reply) -> Attempt {
    let status = reply.status;
    // 503 is the server saying "later" (basalt: storage unavailable); 502 and 504 come from
    // a proxy whose backend just died; any other 5xx is retried only if it says when.
    let unavailable = matches!(status, 502..=504) || (status >= 500 && reply.retry_after.is_some());
    if unavailable {
        let wait = reply
            .retry_after
            .unwrap_or(UNAVAILABLE_DEFAULT_WAIT)
            .min(UNAVAILABLE_LONGEST_WAIT);
        let reason = format!("HTTP {status}: {}", ProblemDoc::from_body(&reply.body));
        return Attempt::Unavailable { wait, reason };
    }
    if status == 400 && ProblemDoc::from_body(&reply.body).is("badNonce") {
        return Attempt::BadNonce(reply);
    }
    Attempt::Answered(reply)
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// reqwest's error with its causes ("error sending request: … : connection refused").
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, retry_after: Option<u64>, body: &str) -> Reply {
        Reply {
            url: "https://ca.test/x".into(),
            status,
            location: None,
            retry_after: retry_after.map(Duration::from_secs),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn unavailable_waits_retry_after_capped_at_ten_seconds() {
        match classify(reply(503, Some(5), "")) {
            Attempt::Unavailable { wait, .. } => assert_eq!(wait, Duration::from_secs(5)),
            _ => panic!("503 must be retried"),
        }
        match classify(reply(503, Some(3600), "")) {
            Attempt::Unavailable { wait, .. } => assert_eq!(wait, Duration::from_secs(10)),
            _ => panic!("503 must be retried"),
        }
        match classify(reply(502, None, "Bad Gateway")) {
            Attempt::Unavailable { wait, reason } => {
                assert_eq!(wait, Duration::from_secs(1));
                assert!(reason.contains("Bad Gateway"), "{reason}");
            }
            _ => panic!("502 must be retried"),
        }
    }

    #[test]
    fn a_500_without_retry_after_is_an_answer() {
        assert!(matches!(
            classify(reply(
                500,
                None,
                r#"{"type":"urn:ietf:params:acme:error:serverInternal"}"#
            )),
            Attempt::Answered(_)
        ));
        assert!(matches!(
            classify(reply(500, Some(1), "")),
            Attempt::Unavailable { .. }
        ));
    }

    #[test]
    fn bad_nonce_is_told_apart_from_other_400s() {
        assert!(matches!(
            classify(reply(
                400,
                None,
                r#"{"type":"urn:ietf:params:acme:error:badNonce"}"#
            )),
            Attempt::BadNonce(_)
        ));
        assert!(matches!(
            classify(reply(
                400,
                None,
                r#"{"type":"urn:ietf:params:acme:error:malformed"}"#
            )),
            Attempt::Answered(_)
        ));
    }

    #[test]
    fn retry_budget_gives_up_only_after_a_minute_of_failures() {
        let mut budget = RetryBudget::default();
        assert!(budget.failed("u", "refused".into()).is_ok());
        budget.first_failure = Some(Instant::now() - GIVE_UP_AFTER);
        let error = budget.failed("u", "refused".into()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "u: gave up after 60 s of retrying; last: refused"
        );
    }
}
