//! Identifiers (RFC 8555 §9.7.7 `dns`, RFC 8738 `ip`) and their normalisation.
//!
//! Parsing happens once, at the edge: a [`Identifier`] returned by [`Identifier::parse`] is
//! already normalised (lower case, no trailing dot, canonical IP text), so later comparisons
//! (CSR names against order identifiers, authorization reuse) are plain string equality.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::problem::{ProblemType, Subproblem};

/// RFC 1035 §2.3.4: a name is at most 255 octets on the wire, 253 characters as text.
const MAX_NAME_LEN: usize = 253;
/// RFC 1035 §2.3.4: a label is at most 63 octets.
const MAX_LABEL_LEN: usize = 63;

/// The identifier types basalt knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentifierType {
    /// RFC 8555 §9.7.7.
    Dns,
    /// RFC 8738 §3.
    Ip,
}

impl IdentifierType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dns => "dns",
            Self::Ip => "ip",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "dns" => Some(Self::Dns),
            "ip" => Some(Self::Ip),
            _ => None,
        }
    }
}

/// An identifier as it appears on the wire (RFC 8555 §7.1.3, §7.1.4).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Identifier {
    #[serde(rename = "type")]
    pub identifier_type: IdentifierType,
    pub value: String,
}

/// An identifier as a client sent it, before any check: the type is kept as a string so an
/// unknown type can be reported per identifier (RFC 8555 §6.7.1) instead of failing the body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawIdentifier {
    #[serde(rename = "type")]
    pub identifier_type: String,
    pub value: String,
}

impl Identifier {
    pub fn dns(value: impl Into<String>) -> Self {
        Self {
            identifier_type: IdentifierType::Dns,
            value: value.into(),
        }
    }

    pub fn ip(addr: IpAddr) -> Self {
        Self {
            identifier_type: IdentifierType::Ip,
            value: addr.to_string(),
        }
    }

    /// Checks and normalises a client's identifier. The error is the subproblem to report
    /// for it (RFC 8555 §6.7.1), naming the identifier as the client sent it.
    pub fn parse(raw: &RawIdentifier) -> Result<Self, Subproblem> {
        let reject = |problem_type, detail: String| Subproblem {
            problem_type,
            detail,
            identifier: Self {
                // The subproblem names the identifier as sent; an unknown type is reported as dns
                // because the wire type must be one RFC 8555 knows.
                identifier_type: IdentifierType::parse(&raw.identifier_type)
                    .unwrap_or(IdentifierType::Dns),
                value: raw.value.clone(),
            },
        };
        match IdentifierType::parse(&raw.identifier_type) {
            Some(IdentifierType::Dns) => normalise_dns_name(&raw.value)
                .map(Self::dns)
                .map_err(|why| reject(ProblemType::RejectedIdentifier, why)),
            Some(IdentifierType::Ip) => parse_ip(&raw.value)
                .map(Self::ip)
                .map_err(|why| reject(ProblemType::Malformed, why)),
            None => Err(reject(
                ProblemType::UnsupportedIdentifier,
                format!(
                    "identifier type {:?} is not supported; use \"dns\" or \"ip\"",
                    raw.identifier_type
                ),
            )),
        }
    }

    /// True for a `dns` identifier whose first label is `*` (RFC 8555 §7.1.3).
    pub fn is_wildcard(&self) -> bool {
        self.identifier_type == IdentifierType::Dns && self.value.starts_with("*.")
    }

    /// The identifier an authorization is for: the base name of a wildcard (RFC 8555 §7.1.4:
    /// "the identifier ... without the wildcard prefix"), the identifier itself otherwise.
    pub fn authorization_identifier(&self) -> Self {
        match self.value.strip_prefix("*.") {
            Some(base) if self.identifier_type == IdentifierType::Dns => Self::dns(base),
            _ => self.clone(),
        }
    }
}

impl std::fmt::Display for Identifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.identifier_type.as_str(), self.value)
    }
}

/// Normalises a DNS name (lower case, one trailing dot removed) and checks it is a valid
/// LDH host name, optionally with a single leading `*.` wildcard label. The error says why,
/// in words a person can act on.
pub fn normalise_dns_name(raw: &str) -> Result<String, String> {
    if raw.is_empty() {
        return Err("the name is empty".to_owned());
    }
    if !raw.is_ascii() {
        return Err(format!(
            "{raw:?} contains non-ASCII characters; send internationalised names as A-labels (xn--…)"
        ));
    }
    let name = raw.strip_suffix('.').unwrap_or(raw).to_ascii_lowercase();
    if name.len() > MAX_NAME_LEN {
        return Err(format!(
            "the name is {} characters long; at most {MAX_NAME_LEN} are allowed",
            name.len()
        ));
    }
    if name.parse::<IpAddr>().is_ok() {
        return Err(format!(
            "{raw:?} is an IP address; request it with identifier type \"ip\""
        ));
    }
    let (wildcard, base) = match name.strip_prefix("*.") {
        Some(base) => (true, base),
        None => (false, name.as_str()),
    };
    let labels: Vec<&str> = base.split('.').collect();
    for label in &labels {
        check_label(label).map_err(|why| format!("{raw:?}: {why}"))?;
    }
    if labels
        .last()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!(
            "{raw:?} ends in an all-numeric label; it looks like an IP address, not a DNS name"
        ));
    }
    if wildcard && labels.len() < 2 {
        return Err(format!(
            "{raw:?}: a wildcard must sit below a name of at least two labels"
        ));
    }
    Ok(name)
}

fn check_label(label: &str) -> Result<(), String> {
    if label.is_empty() {
        return Err("it has an empty label (two dots in a row, or a leading dot)".to_owned());
    }
    if label == "*" {
        return Err("a wildcard `*` may only be the whole leftmost label, once".to_owned());
    }
    if label.len() > MAX_LABEL_LEN {
        return Err(format!(
            "the label {label:?} is {} characters long; at most {MAX_LABEL_LEN} are allowed",
            label.len()
        ));
    }
    if let Some(bad) = label
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return Err(format!(
            "the label {label:?} contains {bad:?}; only letters, digits and hyphens are allowed"
        ));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(format!("the label {label:?} starts or ends with a hyphen"));
    }
    // RFC 5891 §4.2.3.1: "--" in positions 3 and 4 is reserved for A-labels ("xn--").
    if label.get(2..4) == Some("--") && !label.starts_with("xn--") {
        return Err(format!(
            "the label {label:?} has \"--\" in positions 3-4, which only A-labels (xn--) may use"
        ));
    }
    Ok(())
}

/// RFC 8738 §3: the value is the textual form of an IPv4 or IPv6 address (no zone id, no
/// brackets, no prefix length). Returned canonical (RFC 5952 for IPv6).
pub fn parse_ip(raw: &str) -> Result<IpAddr, String> {
    if raw.contains('%') {
        return Err(format!(
            "{raw:?} carries an IPv6 zone id; zone ids are local to one host and cannot be certified"
        ));
    }
    raw.parse::<IpAddr>()
        .map_err(|_| format!("{raw:?} is not an IPv4 or IPv6 address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dns(v: &str) -> Result<Identifier, Subproblem> {
        Identifier::parse(&RawIdentifier {
            identifier_type: "dns".into(),
            value: v.into(),
        })
    }

    #[test]
    fn dns_names_are_lower_cased_and_lose_one_trailing_dot() {
        assert_eq!(dns("WWW.A.Test.").unwrap().value, "www.a.test");
        assert_eq!(dns("*.a.test").unwrap().value, "*.a.test");
        assert_eq!(
            dns("xn--bcher-kva.test").unwrap().value,
            "xn--bcher-kva.test"
        );
        assert_eq!(dns("intranet").unwrap().value, "intranet");
    }

    #[test]
    fn bad_dns_names_are_rejected_identifiers() {
        for bad in [
            "",
            ".",
            "a..test",
            ".a.test",
            "a.test..",
            "under_score.test",
            "*.*.a.test",
            "a.*.test",
            "*",
            "*.test",
            "-a.test",
            "a-.test",
            "ab--c.test",
            "1.2.3.4",
            "::1",
            "a.123",
            "bücher.test",
            "a b.test",
        ] {
            let err = dns(bad).expect_err(bad);
            assert_eq!(err.problem_type, ProblemType::RejectedIdentifier, "{bad}");
            assert_eq!(err.identifier.value, bad);
        }
        let long_label = format!("{}.test", "a".repeat(64));
        assert!(dns(&long_label).is_err());
        let long_name = format!("{}.test", ["abcdefghi"; 25].join("."));
        assert!(long_name.len() > 253);
        assert!(dns(&long_name).is_err());
    }

    #[test]
    fn ip_identifiers_are_canonical_and_reject_zone_ids() {
        let ip = |v: &str| {
            Identifier::parse(&RawIdentifier {
                identifier_type: "ip".into(),
                value: v.into(),
            })
        };
        assert_eq!(ip("2001:DB8:0:0::1").unwrap().value, "2001:db8::1");
        assert_eq!(ip("127.0.0.1").unwrap().value, "127.0.0.1");
        assert_eq!(
            ip("fe80::1%eth0").unwrap_err().problem_type,
            ProblemType::Malformed
        );
        assert!(ip("a.test").is_err());
    }

    #[test]
    fn unknown_types_are_unsupported() {
        let err = Identifier::parse(&RawIdentifier {
            identifier_type: "email".into(),
            value: "a@b.test".into(),
        })
        .unwrap_err();
        assert_eq!(err.problem_type, ProblemType::UnsupportedIdentifier);
    }

    #[test]
    fn wildcard_authorizations_are_for_the_base_name() {
        let id = dns("*.a.test").unwrap();
        assert!(id.is_wildcard());
        assert_eq!(id.authorization_identifier(), Identifier::dns("a.test"));
    }
}
