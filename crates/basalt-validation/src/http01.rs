//! http-01 (RFC 8555 §8.3): the key authorization must be served at
//! `http://<name>/.well-known/acme-challenge/<token>`.
//!
//! One HTTP client per egress policy (in practice one, or one per directory that overrides
//! it) serves every validation. It resolves names only through the configured resolver and
//! dials only the addresses the egress policy allows (the resolver filters names; IP literals
//! are checked here, for the first URL and in the redirect policy), follows redirects only
//! within a fixed policy, keeps no connections between validations, and reads at most
//! `max_body_bytes` of the body.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, PoisonError};

use basalt_protocol::{Identifier, IdentifierType, KeyAuthorization, Problem, ProblemType};
use reqwest::{StatusCode, Url};

use crate::config::ValidationConfig;
use crate::egress::{EgressPolicy, EgressRefused};
use crate::error::Error;
use crate::outcome::{ValidationOutcome, ValidationRecord};
use crate::resolver::{DnsResolver, LookupFailure, NoAllowedAddress, PolicedResolver};
use crate::tls::redirect_client_config;
use crate::trace::{Trace, TraceData};

/// How much of a wrong body is quoted back to the client.
const QUOTED_BODY_BYTES: usize = 64;

/// The http-01 validator: the shared clients and the settings it needs per validation.
#[derive(Debug)]
pub(crate) struct Http01 {
    /// One client per egress policy, since the policy is part of the client (its resolver and
    /// redirect policy). The configured policy's is built at start; a directory's own policy
    /// gets its client at its first validation. Policies come from the configuration, so
    /// this stays as small as the number of directories.
    clients: Mutex<HashMap<EgressPolicy, reqwest::Client>>,
    resolver: DnsResolver,
    config: ValidationConfig,
}

/// A redirect the policy refused; found again in reqwest's error chain to explain the failure.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct RedirectRejected(String);

impl Http01 {
    /// Builds the client for the configured egress policy, so a bad configuration fails at
    /// start.
    pub(crate) fn new(config: &ValidationConfig, resolver: DnsResolver) -> Result<Self, Error> {
        let client = build_client(config, &resolver, &config.egress)?;
        Ok(Self {
            clients: Mutex::new(HashMap::from([(config.egress.clone(), client)])),
            resolver,
            config: config.clone(),
        })
    }

    /// The client enforcing `policy`, built on first use.
    fn client(&self, policy: &EgressPolicy) -> Result<reqwest::Client, Error> {
        // A panic while holding the lock leaves the map valid (insert is one step).
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(client) = clients.get(policy) {
            return Ok(client.clone());
        }
        let client = build_client(&self.config, &self.resolver, policy)?;
        clients.insert(policy.clone(), client.clone());
        Ok(client)
    }

    /// Fetches the challenge URL and compares the body with the key authorization; connects
    /// only where `policy` allows.
    pub(crate) async fn validate(
        &self,
        identifier: &Identifier,
        token: &str,
        key_authorization: &KeyAuthorization,
        policy: &EgressPolicy,
    ) -> ValidationOutcome {
        let url = match self.challenge_url(identifier, token) {
            Ok(url) => url,
            Err(problem) => return ValidationOutcome::invalid(Vec::new(), problem),
        };
        // An IP literal is not looked up, so the resolver never sees it: check it here,
        // before anything is sent.
        if let Err(refused) = check_literal(&url, policy) {
            return ValidationOutcome::invalid(
                records(&url, &TraceData::default(), None),
                refused_problem(&refused, &url),
            );
        }
        let client = match self.client(policy) {
            Ok(client) => client,
            Err(error) => {
                return ValidationOutcome::invalid(
                    Vec::new(),
                    Problem::server_internal(format!("cannot validate http-01: {error}")),
                );
            }
        };
        let trace = Trace::default();
        let (remote, problem) = trace
            .scope(fetch(
                &client,
                &self.config,
                identifier,
                &url,
                key_authorization.as_str(),
            ))
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
                identifier.value()
            )));
        }
        let host = match identifier.identifier_type() {
            IdentifierType::Dns => identifier.value().to_owned(),
            IdentifierType::Ip => match identifier.value().parse::<IpAddr>() {
                Ok(IpAddr::V6(ip)) => format!("[{ip}]"),
                Ok(IpAddr::V4(ip)) => ip.to_string(),
                Err(_) => {
                    return Err(Problem::malformed(format!(
                        "the IP identifier {:?} is not an IP address",
                        identifier.value()
                    )));
                }
            },
        };
        let raw = format!(
            "http://{host}:{}/.well-known/acme-challenge/{token}",
            self.config.http01_port
        );
        let url = Url::parse(&raw).map_err(|error| {
            Problem::malformed(format!("cannot fetch {raw}: not a valid URL ({error})"))
        })?;
        // WHATWG URL parsing reads names such as `0x7f000001`, `0177.0.0.1` or `2130706433`
        // as IPv4 addresses: the request would skip DNS and go to an address the identifier
        // never named. A DNS identifier is validated through DNS or not at all.
        if identifier.identifier_type() == IdentifierType::Dns
            && let Some(ip) = literal_address(&url)
        {
            return Err(Problem::new(
                ProblemType::RejectedIdentifier,
                format!(
                    "the DNS name {} reads as the IP address {ip} in a URL; it cannot be validated with http-01",
                    identifier.value()
                ),
            ));
        }
        Ok(url)
    }
}

/// A client enforcing `policy`: its resolver hands back only allowed addresses and its
/// redirect policy refuses IP literals the policy refuses.
fn build_client(
    config: &ValidationConfig,
    resolver: &DnsResolver,
    policy: &EgressPolicy,
) -> Result<reqwest::Client, Error> {
    let tls = redirect_client_config().map_err(Error::Tls)?;
    reqwest::Client::builder()
        // Validation must reach the identifier's own server, never a proxy's idea of it.
        .no_proxy()
        .dns_resolver(PolicedResolver {
            resolver: resolver.clone(),
            policy: policy.clone(),
        })
        .connect_timeout(config.connect_timeout)
        .timeout(config.attempt_timeout)
        .user_agent(config.user_agent.as_str())
        .redirect(redirect_policy(config, policy.clone()))
        // The previous hop is none of the redirect target's business.
        .referer(false)
        // Every validation resolves and connects afresh: a pooled connection would skip
        // the DNS lookup, and could reach an address the name no longer has.
        .pool_max_idle_per_host(0)
        .tls_backend_preconfigured(tls)
        .build()
        .map_err(Error::HttpClient)
}

/// The request itself: the address the response came from (if any) and the problem (if the
/// validation failed).
async fn fetch(
    client: &reqwest::Client,
    config: &ValidationConfig,
    identifier: &Identifier,
    url: &Url,
    expected: &str,
) -> (Option<SocketAddr>, Option<Problem>) {
    let mut response = match client.get(url.clone()).send().await {
        Ok(response) => response,
        Err(error) => return (None, Some(request_problem(config, &error, url))),
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

    let max = config.max_body_bytes;
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
            Err(error) => return (remote, Some(request_problem(config, &error, &final_url))),
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
        Some(wrong_body_problem(
            identifier, &final_url, expected, received,
        )),
    )
}

/// The detail for a body that is not the key authorization. The body is quoted only when it
/// came from the identifier's own host: a redirect can point anywhere, and quoting what
/// another host answered would make validation a way to read it.
fn wrong_body_problem(
    identifier: &Identifier,
    final_url: &Url,
    expected: &str,
    received: &[u8],
) -> Problem {
    let detail = if is_identifier_host(identifier, final_url) {
        format!(
            "the key authorization file at {final_url} did not match this challenge: expected \"{expected}\", got \"{}\"",
            quote(received)
        )
    } else {
        format!(
            "the key authorization file at {final_url} did not match this challenge: expected \"{expected}\" ({} bytes received; the body of a host other than {} is not quoted)",
            received.len(),
            identifier.value()
        )
    };
    Problem::new(ProblemType::IncorrectResponse, detail)
}

/// True when `url`'s host is the identifier itself (names without regard to case, addresses
/// by value, so `[::1]` is `::1`).
fn is_identifier_host(identifier: &Identifier, url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match identifier.identifier_type() {
        IdentifierType::Dns => bare.eq_ignore_ascii_case(identifier.value().trim_end_matches('.')),
        IdentifierType::Ip => {
            matches!((bare.parse::<IpAddr>(), identifier.value().parse::<IpAddr>()), (Ok(a), Ok(b)) if a == b)
        }
    }
}

/// The address an IP-literal host of `url` is dialled at, read the way the HTTP client reads
/// it (hyper-util: brackets stripped, then IPv4, then IPv6): such a host skips the resolver,
/// and with it the resolver's egress check. `None` for a name.
fn literal_address(url: &Url) -> Option<IpAddr> {
    let host = url.host_str()?;
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse::<std::net::Ipv4Addr>()
        .map(IpAddr::V4)
        .or_else(|_| bare.parse::<std::net::Ipv6Addr>().map(IpAddr::V6))
        .ok()
}

/// The egress check of an IP-literal host (names are checked by the resolver).
fn check_literal(url: &Url, policy: &EgressPolicy) -> Result<(), EgressRefused> {
    literal_address(url).map_or(Ok(()), |ip| policy.check(ip))
}

/// A refused address: a `connection` problem, since no connection was made.
fn refused_problem(refused: &dyn StdError, url: &Url) -> Problem {
    Problem::new(
        ProblemType::Connection,
        format!("{refused}; nothing was sent (fetching {url})"),
    )
}

/// Explains a failed request from the root cause in reqwest's error chain.
fn request_problem(config: &ValidationConfig, error: &reqwest::Error, fallback: &Url) -> Problem {
    let url = error.url().unwrap_or(fallback);
    let authority = authority(url);
    // First: a refusal can be wrapped in a redirect error too.
    if let Some(refused) = find::<EgressRefused>(error) {
        return refused_problem(refused, url);
    }
    if let Some(refused) = find::<NoAllowedAddress>(error) {
        return refused_problem(refused, url);
    }
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
                humantime::format_duration(config.connect_timeout)
            )
        } else {
            format!(
                "timed out: {url} did not answer within {}",
                humantime::format_duration(config.attempt_timeout)
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

/// The redirect policy: at most `max_redirects` hops, only http and https, only to ports
/// 80, 443 and the two configured challenge ports (Boulder's rule, so a redirect cannot be
/// used to reach an arbitrary service of the host).
/// Every target is also checked against the egress policy when its host is an IP literal
/// (a name is checked when the resolver answers for it).
fn redirect_policy(config: &ValidationConfig, policy: EgressPolicy) -> reqwest::redirect::Policy {
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
        if let Err(refused) = check_literal(&target, &policy) {
            return attempt.error(refused);
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
