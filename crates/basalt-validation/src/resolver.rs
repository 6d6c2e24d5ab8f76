//! The one DNS resolver every validation uses, for dns-01 TXT lookups and for every host name
//! the http-01 client connects to (redirect targets included).
//!
//! Validation must see what the authoritative DNS says now, so the resolver keeps no cache
//! and never reads the hosts file; names are always looked up as absolute names, so no search
//! domain can turn `a.test` into `a.test.corp.example`.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::rdata::{CAA, TXT};
use hickory_resolver::proto::rr::{RData, Record, RecordType};
use hickory_resolver::{Resolver, TokioResolver};

use crate::config::ValidationConfig;
use crate::egress::{EgressPolicy, EgressRefused};
use crate::error::Error;
use crate::trace::{HostLookup, Trace};

/// Queries are retried once: one lost UDP packet must not fail a validation.
const RETRIES: usize = 1;
/// No query waits less than this, however short the connect timeout.
const MIN_QUERY_TIMEOUT: Duration = Duration::from_millis(100);

/// Cheap to clone: hickory's resolver shares its state behind `Arc`s.
#[derive(Clone)]
pub(crate) struct DnsResolver {
    inner: TokioResolver,
}

impl fmt::Debug for DnsResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DnsResolver").finish_non_exhaustive()
    }
}

/// Why a lookup gave no usable answer; each kind gets its own wording for the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LookupFailureKind {
    /// The name does not exist (NXDOMAIN).
    NxDomain,
    /// The name exists but has no record of the type asked (NOERROR, empty answer).
    NoRecords,
    /// The server reported a failure (SERVFAIL, REFUSED, ...).
    ServerFailure,
    /// No answer in time.
    Timeout,
    /// Anything else: the server could not be reached, a malformed name or answer.
    Other,
}

/// A failed lookup, with a detail that names the query and says what went wrong.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{detail}")]
pub(crate) struct LookupFailure {
    pub(crate) kind: LookupFailureKind,
    pub(crate) detail: String,
}

/// The addresses of a host, IPv6 first, and the answers they came from.
#[derive(Debug, Clone)]
pub(crate) struct AddressLookup {
    pub(crate) addresses: Vec<IpAddr>,
    pub(crate) answers: Vec<String>,
}

/// The TXT values at a name (each record's strings joined) and the answers they came from.
#[derive(Debug, Clone)]
pub(crate) struct TxtLookup {
    pub(crate) values: Vec<String>,
    pub(crate) answers: Vec<String>,
}

/// One CAA property as published (RFC 8659 §4.1): interpreting it is the CAA checker's job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CaaProperty {
    /// The Issuer Critical Flag (bit 0, value 128).
    pub(crate) critical: bool,
    /// The property tag as published; tags match case-insensitively (RFC 8659 §4.1).
    pub(crate) tag: String,
    /// The raw property value.
    pub(crate) value: Vec<u8>,
}

/// The CAA RRset at a name (after any CNAME hickory followed) and the answers it came from.
#[derive(Debug, Clone)]
pub(crate) struct CaaLookup {
    pub(crate) properties: Vec<CaaProperty>,
    pub(crate) answers: Vec<String>,
}

impl DnsResolver {
    /// Builds the resolver: the configured servers (UDP, and TCP for truncated answers), or
    /// the system's when none is configured.
    pub(crate) fn new(config: &ValidationConfig) -> Result<Self, Error> {
        let mut builder = if config.resolvers.is_empty() {
            TokioResolver::builder_tokio().map_err(Error::SystemResolverConfig)?
        } else {
            let servers = config.resolvers.iter().map(name_server).collect();
            Resolver::builder_with_config(
                ResolverConfig::from_parts(None, Vec::new(), servers),
                TokioRuntimeProvider::default(),
            )
        };
        let opts: &mut ResolverOpts = builder.options_mut();
        // No cache: a record the client has just published must be seen, and a removed one
        // must not be.
        opts.cache_size = 0;
        // The hosts file is local configuration, not the DNS the identifier's owner controls.
        opts.use_hosts_file = ResolveHosts::Never;
        // Names are looked up as given, never with a search domain appended.
        opts.ndots = 0;
        // Two tries must fit in the connect timeout, which also covers the lookup before a
        // connect; this way a slow DNS server is reported as a DNS timeout, not a connect one.
        opts.timeout = (config.connect_timeout / (RETRIES as u32 + 2)).max(MIN_QUERY_TIMEOUT);
        opts.attempts = RETRIES;
        let inner = builder.build().map_err(Error::Resolver)?;
        Ok(Self { inner })
    }

    /// The A and AAAA records of `host`, IPv6 first as Boulder prefers. Succeeds when either
    /// family has an address.
    pub(crate) async fn lookup_addresses(
        &self,
        host: &str,
    ) -> Result<AddressLookup, LookupFailure> {
        let name = absolute(host);
        let (v6, v4) = tokio::join!(
            self.inner.lookup(name.as_str(), RecordType::AAAA),
            self.inner.lookup(name.as_str(), RecordType::A),
        );
        let mut found = AddressLookup {
            addresses: Vec::new(),
            answers: Vec::new(),
        };
        let mut failures = Vec::new();
        for (record_type, result) in [(RecordType::AAAA, v6), (RecordType::A, v4)] {
            match result {
                Ok(lookup) => {
                    for record in lookup.answers() {
                        found.answers.push(record.to_string());
                        match &record.data {
                            RData::AAAA(aaaa) => found.addresses.push(IpAddr::V6(aaaa.0)),
                            RData::A(a) => found.addresses.push(IpAddr::V4(a.0)),
                            _ => {}
                        }
                    }
                }
                Err(error) => failures.push((record_type, error)),
            }
        }
        if !found.addresses.is_empty() {
            return Ok(found);
        }
        // Both families failed or were empty: report the most telling reason.
        let worst = failures
            .iter()
            .map(|(record_type, error)| (classify(error), *record_type, error))
            .min_by_key(|(kind, _, _)| severity(*kind));
        Err(match worst {
            Some((LookupFailureKind::NoRecords, _, _)) | None => LookupFailure {
                kind: LookupFailureKind::NoRecords,
                detail: format!("no A or AAAA records found for {host}"),
            },
            Some((_, record_type, error)) => failure(error, record_type, host),
        })
    }

    /// The TXT records at `name`. CNAMEs are followed by hickory itself; only the TXT data of
    /// the answer counts. An empty answer (NOERROR) is an empty list, not an error: "no TXT
    /// record" is the dns-01 validator's to report.
    pub(crate) async fn lookup_txt(&self, name: &str) -> Result<TxtLookup, LookupFailure> {
        let lookup = match self
            .inner
            .lookup(absolute(name).as_str(), RecordType::TXT)
            .await
        {
            Ok(lookup) => lookup,
            Err(error) if classify(&error) == LookupFailureKind::NoRecords => {
                return Ok(TxtLookup {
                    values: Vec::new(),
                    answers: Vec::new(),
                });
            }
            Err(error) => return Err(failure(&error, RecordType::TXT, name)),
        };
        let answers: &[Record] = lookup.answers();
        Ok(TxtLookup {
            values: answers
                .iter()
                .filter_map(|record| match &record.data {
                    RData::TXT(txt) => Some(txt_value(txt)),
                    _ => None,
                })
                .collect(),
            answers: answers.iter().map(ToString::to_string).collect(),
        })
    }

    /// The CAA records at `name`. CNAMEs are followed by hickory itself (RFC 8659 §3: the
    /// CAA RRset of an alias is that of its target); only the CAA data of the answer counts.
    /// A name that does not exist (NXDOMAIN) or has no CAA record is an empty set, not an
    /// error: either way the search goes on at the parent (RFC 8659 §3).
    pub(crate) async fn lookup_caa(&self, name: &str) -> Result<CaaLookup, LookupFailure> {
        let lookup = match self
            .inner
            .lookup(absolute(name).as_str(), RecordType::CAA)
            .await
        {
            Ok(lookup) => lookup,
            Err(error)
                if matches!(
                    classify(&error),
                    LookupFailureKind::NxDomain | LookupFailureKind::NoRecords
                ) =>
            {
                return Ok(CaaLookup {
                    properties: Vec::new(),
                    answers: Vec::new(),
                });
            }
            Err(error) => return Err(failure(&error, RecordType::CAA, name)),
        };
        let answers: &[Record] = lookup.answers();
        Ok(CaaLookup {
            properties: answers
                .iter()
                .filter_map(|record| match &record.data {
                    RData::CAA(caa) => Some(caa_property(caa)),
                    _ => None,
                })
                .collect(),
            answers: answers.iter().map(ToString::to_string).collect(),
        })
    }
}

/// The resolver the HTTP client dials through: every lookup reqwest makes (the first URL and
/// every redirect target) goes through the configured resolver, is recorded in the
/// validation's trace, and only the addresses the egress policy allows are handed back. The
/// client dials exactly what this returns and looks nothing up again, so this is the check on
/// the address dialled for every name, DNS rebinding included. (IP literals skip the
/// resolver; `http01.rs` checks them.)
#[derive(Debug, Clone)]
pub(crate) struct PolicedResolver {
    pub(crate) resolver: DnsResolver,
    pub(crate) policy: EgressPolicy,
}

impl reqwest::dns::Resolve for PolicedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let resolver = self.resolver.clone();
        let policy = self.policy.clone();
        // Taken now, while the request's task is polling: the returned future may be polled
        // elsewhere.
        let trace = Trace::current();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let result = resolver.lookup_addresses(&host).await;
            if let Some(trace) = trace {
                let (addresses, answers) = match &result {
                    Ok(found) => (found.addresses.clone(), found.answers.clone()),
                    Err(_) => (Vec::new(), Vec::new()),
                };
                trace.record_lookup(HostLookup {
                    host,
                    addresses,
                    answers,
                });
            }
            let found = match result {
                Ok(found) => found,
                Err(failure) => {
                    return Err(Box::new(failure) as Box<dyn std::error::Error + Send + Sync>);
                }
            };
            let (allowed, refused) = police(&policy, found.addresses);
            if allowed.is_empty() {
                // Nothing left to dial (lookup_addresses never answers an empty list).
                return Err(
                    Box::new(NoAllowedAddress(refused)) as Box<dyn std::error::Error + Send + Sync>
                );
            }
            // Port 0: reqwest puts in the URL's port.
            let addrs: reqwest::dns::Addrs =
                Box::new(allowed.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

/// Every address a name resolved to was refused by the egress policy; each refusal says why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NoAllowedAddress(pub(crate) Vec<EgressRefused>);

impl fmt::Display for NoAllowedAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let refusals: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&refusals.join("; "))
    }
}

impl std::error::Error for NoAllowedAddress {}

/// Splits `addresses` into those `policy` allows (order kept) and the refusals of the rest.
fn police(policy: &EgressPolicy, addresses: Vec<IpAddr>) -> (Vec<IpAddr>, Vec<EgressRefused>) {
    let mut allowed = Vec::with_capacity(addresses.len());
    let mut refused = Vec::new();
    for ip in addresses {
        match policy.check(ip) {
            Ok(()) => allowed.push(ip),
            Err(refusal) => refused.push(refusal),
        }
    }
    (allowed, refused)
}

/// The value of one TXT record. RFC 8555 §8.4 puts one value in one record; a record longer
/// than 255 octets is split in several character-strings (RFC 1035 §3.3.14), so they are
/// joined back.
fn txt_value(txt: &TXT) -> String {
    txt.txt_data
        .iter()
        .map(|part| String::from_utf8_lossy(part))
        .collect()
}

fn caa_property(caa: &CAA) -> CaaProperty {
    CaaProperty {
        critical: caa.issuer_critical,
        tag: caa.tag.clone(),
        value: caa.value.clone(),
    }
}

/// A configured server, on its own port, over UDP and TCP.
fn name_server(addr: &SocketAddr) -> NameServerConfig {
    let mut udp = ConnectionConfig::udp();
    udp.port = addr.port();
    let mut tcp = ConnectionConfig::tcp();
    tcp.port = addr.port();
    // The configured resolver is the CA's own: its NXDOMAIN is final.
    NameServerConfig::new(addr.ip(), true, vec![udp, tcp])
}

/// `name` as an absolute name (trailing dot), so no search domain applies.
fn absolute(name: &str) -> String {
    if name.ends_with('.') {
        name.to_owned()
    } else {
        format!("{name}.")
    }
}

fn classify(error: &NetError) -> LookupFailureKind {
    match error {
        _ if error.is_nx_domain() => LookupFailureKind::NxDomain,
        _ if error.is_no_records_found() => LookupFailureKind::NoRecords,
        NetError::Dns(DnsError::ResponseCode(_)) => LookupFailureKind::ServerFailure,
        NetError::Timeout => LookupFailureKind::Timeout,
        _ => LookupFailureKind::Other,
    }
}

/// Which failure to report when both address families failed: the most definite first.
fn severity(kind: LookupFailureKind) -> u8 {
    match kind {
        LookupFailureKind::NxDomain => 0,
        LookupFailureKind::ServerFailure => 1,
        LookupFailureKind::Timeout => 2,
        LookupFailureKind::Other => 3,
        LookupFailureKind::NoRecords => 4,
    }
}

/// The failure for `error`, worded for the owner of `name` (Boulder's wording where it has
/// one).
fn failure(error: &NetError, record_type: RecordType, name: &str) -> LookupFailure {
    let kind = classify(error);
    let detail = match kind {
        LookupFailureKind::NxDomain => format!(
            "no such domain: NXDOMAIN looking up {record_type} for {name}; check that a DNS record exists for this domain"
        ),
        LookupFailureKind::NoRecords => format!("no {record_type} records found for {name}"),
        LookupFailureKind::ServerFailure => {
            let code = match error {
                NetError::Dns(DnsError::ResponseCode(code)) => *code,
                _ => ResponseCode::ServFail,
            };
            // The mnemonic operators know from dig: SERVFAIL, REFUSED, FORMERR, ...
            let mnemonic = format!("{code:?}").to_ascii_uppercase();
            format!(
                "{mnemonic} looking up {record_type} for {name}; the domain's name servers may be malfunctioning"
            )
        }
        LookupFailureKind::Timeout => format!(
            "query timed out looking up {record_type} for {name}; the DNS server did not answer in time"
        ),
        LookupFailureKind::Other => {
            format!("DNS lookup of {record_type} for {name} failed: {error}")
        }
    };
    LookupFailure { kind, detail }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_string_txt_records_are_joined() {
        let txt = TXT::from_bytes(vec![b"abc".as_slice(), b"def".as_slice()]);
        assert_eq!(txt_value(&txt), "abcdef");
    }

    #[test]
    fn names_are_made_absolute_once() {
        assert_eq!(absolute("a.test"), "a.test.");
        assert_eq!(absolute("a.test."), "a.test.");
    }

    #[test]
    fn nxdomain_wins_over_missing_records_when_both_families_fail() {
        assert!(severity(LookupFailureKind::NxDomain) < severity(LookupFailureKind::NoRecords));
        assert!(
            severity(LookupFailureKind::ServerFailure) < severity(LookupFailureKind::NoRecords)
        );
    }
}
