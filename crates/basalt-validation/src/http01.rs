//! http-01 (RFC 8555 §8.3): the key authorization must be served at
//! `http://<name>/.well-known/acme-challenge/<token>`.
//!
//! One HTTP client serves every validation. It resolves names only through the configured
//! resolver, follows redirects only within a fixed policy, keeps no connections between
//! validations, and reads at most `max_body_bytes` of the body.

use std::error::Error as StdError;
use std::io;
use std::net::{IpAddr, SocketAddr};

use basalt_protocol::{Identifier, IdentifierType, KeyAuthorization, Problem, ProblemType};
use reqwest::{StatusCode, Url};

use crate::config::ValidationConfig;
use crate::error::Error;
use crate::outcome::{ValidationOutcome, ValidationRecord};
use crate::resolver::{DnsResolver, LookupFailure};
use crate::tls::redirect_client_config;
use crate::trace::{Trace, TraceData};

/// How much of a wrong body is quoted back to the client.
const QUOTED_BODY_BYTES: usize = 64;

/// The http-01 validator: the shared client and the settings it needs per validation.
#[derive(Debug)]
pub(crate) struct Http01 {
    client: reqwest::Client,
    config: ValidationConfig,
}

/// A redirect the policy refused; found again in reqwest's error chain to explain the failure.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct RedirectRejected(String);

impl Http01 {
    /// Builds the one client all http-01 validations share.
    pub(crate) fn new(config: &ValidationConfig, resolver: DnsResolver) -> Result<Self, Error> {
        let tls = redirect_client_config().map_err(Error::Tls)?;
        let client = reqwest::Client::builder()
            // Validation must reach the identifier's own server, never a proxy's idea of it.
            .no_proxy()
            .dns_resolver(resolver)
            .connect_timeout(config.connect_timeout)
            .timeout(config.attempt_timeout)
            .user_agent(config.user_agent.as_str())
            .redirect(redirect_policy(config))
            // The previous hop is none of the redirect target's business.
            .referer(false)
            // Every validation resolves and connects afresh: a pooled connection would skip
            // the DNS lookup, and could reach an address the name no longer has.
            .pool_max_idle_per_host(0)
            .tls_backend_preconfigured(tls)
            .build()
            .map_err(Error::HttpClient)?;
        Ok(Self {
            client,
            config: config.clone(),
        })
    }

    /// Fetches the challenge URL and compares the body with the key authorization.
    pub(crate) async fn validate(
        &self,
        identifier: &Identifier,
        token: &str,
        key_authorization: &KeyAuthorization,
    ) -> ValidationOutcome {
        let url = match self.challenge_url(identifier, token) {
            Ok(url) => url,
            Err(problem) => return ValidationOutcome::invalid(Vec::new(), problem),
        };
        let trace = Trace::default();
        let (remote, problem) = trace
            .scope(self.fetch(&url, key_authorization.as_str()))
            .await;
        let records = records(&url, &trace.snapshot(), remote);
        match problem {
            None => ValidationOutcome::valid(records),
            Some(problem) => ValidationOutcome::invalid(records, problem),
        }
    }

    /// RFC 8555 §8.3: `http://{domain}/.well-known/acme-challenge/{token}`, on the configured
    /// port; an IP identifier is written as the address itself, IPv6 in brackets (RFC 8738 §4,
    /// RFC 3986 §3.2.2).
    fn challenge_url(&self, identifier: &Identifier, token: &str) -> Result<Url, Problem> {
        // RFC 8555 §8.3: the token "MUST NOT contain any characters outside the base64url
        // alphabet"; anything else could change the path or the host of the URL.
        let token_ok = !token.is_empty()
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !token_ok {
            return Err(Problem::server_internal(format!(
                "the challenge token {token:?} is not base64url; cannot build the http-01 URL"
            )));
        }
        if identifier.is_wildcard() {
            // A URL host cannot be a wildcard: whoever serves one name of the zone would prove
            // nothing about the others. Wildcards are validated with dns-01 (RFC 8555 §7.1.3,
            // §8.4 name the base domain as the place to prove control).
            return Err(Problem::malformed(format!(
                "http-01 cannot validate the wildcard name {}; use dns-01",
                identifier.value
            )));
        }
        let host = match identifier.identifier_type {
            IdentifierType::Dns => identifier.value.clone(),
            IdentifierType::Ip => match identifier.value.parse::<IpAddr>() {
                Ok(IpAddr::V6(ip)) => format!("[{ip}]"),
                Ok(IpAddr::V4(ip)) => ip.to_string(),
                Err(_) => {
                    return Err(Problem::malformed(format!(
                        "the IP identifier {:?} is not an IP address",
                        identifier.value
                    )));
                }
            },
        };
        let raw = format!(
            "http://{host}:{}/.well-known/acme-challenge/{token}",
            self.config.http01_port
        );
        Url::parse(&raw).map_err(|error| {
            Problem::malformed(format!("cannot fetch {raw}: not a valid URL ({error})"))
        })
    }

    /// The request itself: the address the response came from (if any) and the problem (if
    /// the validation failed).
    async fn fetch(&self, url: &Url, expected: &str) -> (Option<SocketAddr>, Option<Problem>) {
        let mut response = match self.client.get(url.clone()).send().await {
            Ok(response) => response,
            Err(error) => return (None, Some(self.request_problem(&error, url))),
        };
        let remote = response.remote_addr();
        let final_url = response.url().clone();
        let status = response.status();
        if status != StatusCode::OK {
            // RFC 8555 §8.3: the server must answer the GET with the key authorization; only
            // a 200 carries it.
            return (
                remote,
                Some(Problem::unauthorized(format!(
                    "{final_url} returned HTTP {status}; the key authorization must be served with status 200"
                ))),
            );
        }

        let max = self.config.max_body_bytes;
        let too_large = || {
            Problem::unauthorized(format!(
                "{final_url} returned a body larger than {max} bytes; a key authorization is far shorter, so the response was not read"
            ))
        };
        if response
            .content_length()
            .is_some_and(|length| length > max as u64)
        {
            return (remote, Some(too_large()));
        }
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > max {
                        return (remote, Some(too_large()));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(error) => return (remote, Some(self.request_problem(&error, &final_url))),
            }
        }

        // RFC 8555 §8.3: the body is the key authorization; whitespace around it (a trailing
        // newline left by `echo`) is ignored.
        let received = body.trim_ascii();
        if received == expected.as_bytes() {
            return (remote, None);
        }
        (
            remote,
            Some(Problem::new(
                ProblemType::IncorrectResponse,
                format!(
                    "the key authorization file at {final_url} did not match this challenge: expected \"{expected}\", got \"{}\"",
                    quote(received)
                ),
            )),
        )
    }

    /// Explains a failed request from the root cause in reqwest's error chain.
    fn request_problem(&self, error: &reqwest::Error, fallback: &Url) -> Problem {
        let url = error.url().unwrap_or(fallback);
        let authority = authority(url);
        if let Some(rejected) = find::<RedirectRejected>(error) {
            return Problem::new(
                ProblemType::Connection,
                format!("redirect rejected: {rejected}"),
            );
        }
        if let Some(failure) = find::<LookupFailure>(error) {
            return Problem::new(
                ProblemType::Dns,
                format!("DNS problem: {failure} (fetching {url})"),
            );
        }
        if let Some(tls) = find::<rustls::Error>(error) {
            return Problem::new(
                ProblemType::Tls,
                format!("TLS handshake with {authority} failed: {tls} (fetching {url})"),
            );
        }
        if error.is_timeout() {
            let detail = if error.is_connect() {
                format!(
                    "connect timeout: no connection to {authority} within {} (fetching {url})",
                    humantime::format_duration(self.config.connect_timeout)
                )
            } else {
                format!(
                    "timed out: {url} did not answer within {}",
                    humantime::format_duration(self.config.attempt_timeout)
                )
            };
            return Problem::new(ProblemType::Connection, detail);
        }
        let detail = match find::<io::Error>(error).map(io::Error::kind) {
            Some(io::ErrorKind::ConnectionRefused) => {
                format!(
                    "connection refused: nothing accepted a connection to {authority} (fetching {url})"
                )
            }
            Some(io::ErrorKind::ConnectionReset) => {
                format!("connection reset by {authority} (fetching {url})")
            }
            Some(io::ErrorKind::ConnectionAborted | io::ErrorKind::UnexpectedEof) => {
                format!("connection closed early by {authority} (fetching {url})")
            }
            Some(io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable) => {
                format!("{authority} is unreachable (fetching {url})")
            }
            _ => format!("fetching {url} failed: {}", chain(error)),
        };
        Problem::new(ProblemType::Connection, detail)
    }
}

/// The redirect policy: at most `max_redirects` hops, only http and https, only to ports
/// 80, 443 and the two configured challenge ports (Boulder's rule, so a redirect cannot be
/// used to reach an arbitrary service of the host).
fn redirect_policy(config: &ValidationConfig) -> reqwest::redirect::Policy {
    let max = config.max_redirects;
    let mut ports = vec![80, 443, config.http01_port, config.tlsalpn01_port];
    ports.sort_unstable();
    ports.dedup();
    reqwest::redirect::Policy::custom(move |attempt| {
        let target = attempt.url().clone();
        // `previous` holds the first URL too, so this is redirect number `previous.len()`.
        let hops = attempt.previous().len();
        let from = attempt
            .previous()
            .last()
            .map_or_else(String::new, Url::to_string);
        if let Err(why) = check_redirect(&target, hops, max, &ports) {
            return attempt.error(RedirectRejected(format!(
                "{from} redirected to {target}, which is not followed: {why}"
            )));
        }
        if let Some(trace) = Trace::current() {
            trace.record_redirect(target);
        }
        attempt.follow()
    })
}

fn check_redirect(target: &Url, hops: usize, max: usize, ports: &[u16]) -> Result<(), String> {
    if hops > max {
        return Err(format!("too many redirects (at most {max} are followed)"));
    }
    // RFC 8555 §8.3 allows redirects, and Boulder follows them to http and https only.
    if !matches!(target.scheme(), "http" | "https") {
        return Err(format!(
            "only http and https redirect targets are followed, not {}:",
            target.scheme()
        ));
    }
    if target.host_str().is_none_or(str::is_empty) {
        return Err("the redirect target has no host".to_owned());
    }
    match target.port_or_known_default() {
        Some(port) if ports.contains(&port) => Ok(()),
        port => {
            let allowed: Vec<String> = ports.iter().map(u16::to_string).collect();
            Err(format!(
                "redirects may only go to ports {}, not {}",
                allowed.join(", "),
                port.map_or_else(|| "an unknown port".to_owned(), |p| p.to_string())
            ))
        }
    }
}

/// One record per URL fetched: the first, then each redirect target followed. Lookups are
/// matched to URLs by host, in order; the address used is known for the last hop only.
fn records(first: &Url, trace: &TraceData, remote: Option<SocketAddr>) -> Vec<ValidationRecord> {
    let mut used = vec![false; trace.lookups.len()];
    let mut records: Vec<ValidationRecord> = std::iter::once(first)
        .chain(&trace.redirects)
        .map(|url| {
            let host = url.host_str().unwrap_or_default();
            let bare = host.trim_start_matches('[').trim_end_matches(']');
            let mut record = ValidationRecord {
                url: Some(url.to_string()),
                hostname: bare.to_owned(),
                port: url.port_or_known_default(),
                ..ValidationRecord::default()
            };
            if let Ok(ip) = bare.parse::<IpAddr>() {
                // An IP literal is not looked up.
                record.addresses_resolved = vec![ip];
            } else if let Some((index, lookup)) = trace
                .lookups
                .iter()
                .enumerate()
                .find(|(i, l)| !used[*i] && l.host.eq_ignore_ascii_case(bare))
            {
                used[index] = true;
                record.addresses_resolved.clone_from(&lookup.addresses);
                record.resolver_answers.clone_from(&lookup.answers);
            }
            record
        })
        .collect();
    if let Some(last) = records.last_mut() {
        last.address_used = remote.map(|addr| addr.ip());
    }
    records
}

/// `host:port` of `url`, for details about connections.
fn authority(url: &Url) -> String {
    match (url.host_str(), url.port_or_known_default()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        _ => url.to_string(),
    }
}

/// The first error of type `T` in the chain, looking inside `io::Error`s too (their `source`
/// skips the error they wrap, where rustls and hyper put theirs).
fn find<'a, T: StdError + 'static>(error: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(found) = error.downcast_ref::<T>() {
            return Some(found);
        }
        if let Some(inner) = error
            .downcast_ref::<io::Error>()
            .and_then(io::Error::get_ref)
            && let Some(found) = find::<T>(inner)
        {
            return Some(found);
        }
        current = error.source();
    }
    None
}

/// The error and its sources, joined, for causes without a better wording.
fn chain(error: &(dyn StdError + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    let mut current = error.source();
    while let Some(error) = current {
        let text = error.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        current = error.source();
    }
    parts.join(": ")
}

/// The start of a wrong body, escaped so control characters and quotes stay readable.
fn quote(body: &[u8]) -> String {
    let mut quoted: String = body
        .iter()
        .take(QUOTED_BODY_BYTES)
        .flat_map(|byte| std::ascii::escape_default(*byte))
        .map(char::from)
        .collect();
    if body.len() > QUOTED_BODY_BYTES {
        quoted.push('…');
    }
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    const PORTS: [u16; 4] = [80, 443, 5002, 5001];

    fn check(url: &str, hops: usize) -> Result<(), String> {
        check_redirect(&Url::parse(url).unwrap(), hops, 2, &PORTS)
    }

    #[test]
    fn redirects_follow_boulders_port_and_scheme_rules() {
        assert_eq!(check("http://a.test/x", 1), Ok(()));
        assert_eq!(check("https://a.test/x", 2), Ok(()));
        assert_eq!(check("http://a.test:5002/x", 1), Ok(()));
        assert!(
            check("http://a.test:8080/x", 1)
                .unwrap_err()
                .contains("not 8080")
        );
        assert!(check("https://a.test:80/x", 1).is_ok());
        assert!(check("ftp://a.test/x", 1).unwrap_err().contains("not ftp:"));
        assert!(check("file:///etc/passwd", 1).is_err());
        assert!(
            check("http://a.test/x", 3)
                .unwrap_err()
                .contains("too many redirects")
        );
    }

    #[test]
    fn quoted_bodies_are_escaped_and_cut() {
        assert_eq!(quote(b"a\"b\n\x01"), "a\\\"b\\n\\x01");
        let long = quote(&[b'x'; 100]);
        assert_eq!(
            long.chars().filter(|c| *c == 'x').count(),
            QUOTED_BODY_BYTES
        );
        assert!(long.ends_with('…'));
    }
}
