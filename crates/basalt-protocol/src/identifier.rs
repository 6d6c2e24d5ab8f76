//! Identifiers (RFC 8555 §9.7.7 `dns`, RFC 8738 `ip`) and their normalisation.
//!
//! Parsing happens once, at the edge: a [`Identifier`] returned by [`Identifier::parse`] is
//! already normalised (lower case, no trailing dot, canonical IP text), so later comparisons
//! (CSR names against order identifiers, authorization reuse) are plain string equality.
//!
//! Two kinds of refusal live here. Names that are not what they seem (invalid IDNA A-labels,
//! names a URL parser reads as an IPv4 address) are refused by [`Identifier::parse`], always.
//! Identifiers that are well-formed but mean "this machine" or "no one" (loopback, link-local,
//! multicast, `localhost`) are only classified, by [`Identifier::reserved`]: whether a
//! directory may certify them is the server's policy.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

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

/// An identifier as it appears on the wire (RFC 8555 §7.1.3, §7.1.4), checked and
/// normalised. Its fields are private so that [`Identifier::parse`] (or [`Identifier::dns`]
/// and [`Identifier::ip`], which apply the same rules) is the only way to make one:
/// deserialising goes through `parse` too, so every `Identifier` in the program, stored ones
/// included, obeys the same rules.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawIdentifier")]
pub struct Identifier {
    #[serde(rename = "type")]
    identifier_type: IdentifierType,
    value: String,
}

impl TryFrom<RawIdentifier> for Identifier {
    type Error = String;

    fn try_from(raw: RawIdentifier) -> Result<Self, String> {
        Self::parse(&raw).map_err(|refused| refused.detail)
    }
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
    /// A DNS identifier, checked and normalised exactly as [`Identifier::parse`] does.
    pub fn dns(name: &str) -> Result<Self, Subproblem> {
        Self::parse(&RawIdentifier {
            identifier_type: IdentifierType::Dns.as_str().to_owned(),
            value: name.to_owned(),
        })
    }

    /// An IP identifier (RFC 8738): any address is well formed; the text form is the
    /// canonical one (RFC 5952 for IPv6).
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
            identifier: RawIdentifier {
                // The subproblem names the identifier as sent; an unknown type is reported as dns
                // because the wire type must be one RFC 8555 knows.
                identifier_type: IdentifierType::parse(&raw.identifier_type)
                    .unwrap_or(IdentifierType::Dns)
                    .as_str()
                    .to_owned(),
                value: raw.value.clone(),
            },
        };
        match IdentifierType::parse(&raw.identifier_type) {
            Some(IdentifierType::Dns) => normalise_dns_name(&raw.value)
                .map(Self::dns_unchecked)
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

    /// Why this identifier is reserved, if it is: an address or name that denotes the
    /// machine itself, its link, a group or no one, never one host of the organisation. A
    /// certificate for one, under a root every machine trusts, would be valid for the
    /// matching local service on every machine. The text is a phrase such as
    /// "a loopback address (127.0.0.0/8, RFC 1122 §3.2.1.3)".
    pub fn reserved(&self) -> Option<&'static str> {
        match self.identifier_type {
            IdentifierType::Ip => self.value.parse().ok().and_then(reserved_ip),
            IdentifierType::Dns => {
                let name = self.value.strip_prefix("*.").unwrap_or(&self.value);
                // RFC 6761 §6.3: localhost and every name below it resolve to loopback.
                (name == "localhost" || name.ends_with(".localhost"))
                    .then_some("a localhost name (RFC 6761 §6.3), which always means loopback")
            }
        }
    }

    /// True for a `dns` identifier whose first label is `*` (RFC 8555 §7.1.3).
    /// Whether this is a DNS name or an IP address.
    pub fn identifier_type(&self) -> IdentifierType {
        self.identifier_type
    }

    /// The normalised value: a lower-case DNS name without a trailing dot (`*.` first for a
    /// wildcard), or an IP address in canonical text form.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// A DNS identifier from a name already normalised by `parse` (or a suffix of one).
    fn dns_unchecked(name: impl Into<String>) -> Self {
        Self {
            identifier_type: IdentifierType::Dns,
            value: name.into(),
        }
    }

    pub fn is_wildcard(&self) -> bool {
        self.identifier_type == IdentifierType::Dns && self.value.starts_with("*.")
    }

    /// The identifier an authorization is for: the base name of a wildcard (RFC 8555 §7.1.4:
    /// "the identifier ... without the wildcard prefix"), the identifier itself otherwise.
    pub fn authorization_identifier(&self) -> Self {
        match self.value.strip_prefix("*.") {
            Some(base) if self.identifier_type == IdentifierType::Dns => Self::dns_unchecked(base),
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
        check_a_label(label).map_err(|why| format!("{raw:?}: {why}"))?;
    }
    if labels.last().is_some_and(|last| ends_in_a_number(last)) {
        return Err(format!(
            "{raw:?} ends in a numeric label, which URL parsers read as an IPv4 address (WHATWG URL \"ends in a number\"); request IP addresses with identifier type \"ip\""
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

/// WHATWG URL Standard, "ends in a number checker": a last label of decimal digits or of
/// `0x` and hex digits makes the whole host an IPv4 address to a URL parser (`0x7f000001`,
/// `2130706433` and `127.1` all become 127.0.0.1), so it must never pass as a DNS name.
fn ends_in_a_number(last_label: &str) -> bool {
    let bytes = last_label.as_bytes();
    if !bytes.is_empty() && bytes.iter().all(u8::is_ascii_digit) {
        return true;
    }
    // The name is lower case already, so "0X" needs no arm of its own.
    last_label
        .strip_prefix("0x")
        .is_some_and(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// RFC 5890 §2.3.2.1, RFC 5891 §5.4: an `xn--` label must be the A-label of a valid U-label:
/// its Punycode decodes, the result passes IDNA validity (UTS #46 with STD3 rules and hyphen
/// checks), and encoding it again gives back the same label. Boulder refuses the rest as
/// malformed IDNs; a certificate for one would show a name no one can type.
fn check_a_label(label: &str) -> Result<(), String> {
    if !label.starts_with("xn--") {
        return Ok(());
    }
    let invalid = || format!("the label {label:?} is not a valid IDNA A-label");
    let (unicode, decoded) = idna::uts46::Uts46::new().to_unicode(
        label.as_bytes(),
        idna::uts46::AsciiDenyList::STD3,
        idna::uts46::Hyphens::Check,
    );
    if decoded.is_err() || unicode.is_ascii() {
        return Err(invalid());
    }
    match idna::domain_to_ascii_strict(&unicode) {
        Ok(again) if again == label => Ok(()),
        _ => Err(invalid()),
    }
}

/// The reserved class of an IP address, or `None` for one that may name a host (public,
/// RFC 1918 and ULA addresses alike: a private CA certifies internal hosts). IPv4-mapped IPv6
/// addresses (RFC 4291 §2.5.5.2) are judged as the IPv4 address they carry.
fn reserved_ip(addr: IpAddr) -> Option<&'static str> {
    match addr {
        IpAddr::V4(v4) => reserved_ipv4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => reserved_ipv4(v4),
            None => reserved_ipv6(v6),
        },
    }
}

/// IANA IPv4 Special-Purpose Address Registry (RFC 6890) entries that are never one host.
fn reserved_ipv4(addr: Ipv4Addr) -> Option<&'static str> {
    let [first, second, ..] = addr.octets();
    if addr.is_broadcast() {
        Some("the limited broadcast address (255.255.255.255, RFC 919 §7)")
    } else if first == 0 {
        Some("a \"this network\" address (0.0.0.0/8, RFC 1122 §3.2.1.3)")
    } else if first == 127 {
        Some("a loopback address (127.0.0.0/8, RFC 1122 §3.2.1.3)")
    } else if first == 169 && second == 254 {
        Some("a link-local address (169.254.0.0/16, RFC 3927)")
    } else if (224..240).contains(&first) {
        Some("a multicast address (224.0.0.0/4, RFC 5771)")
    } else if first >= 240 {
        Some("a reserved address (240.0.0.0/4, RFC 1112 §4)")
    } else {
        None
    }
}

/// IANA IPv6 Special-Purpose Address Registry (RFC 6890) entries that are never one host.
fn reserved_ipv6(addr: Ipv6Addr) -> Option<&'static str> {
    let first = addr.segments()[0];
    if addr.is_unspecified() {
        Some("the unspecified address (::, RFC 4291 §2.5.2)")
    } else if addr.is_loopback() {
        Some("the loopback address (::1, RFC 4291 §2.5.3)")
    } else if first & 0xffc0 == 0xfe80 {
        Some("a link-local address (fe80::/10, RFC 4291 §2.5.6)")
    } else if first & 0xff00 == 0xff00 {
        Some("a multicast address (ff00::/8, RFC 4291 §2.7)")
    } else {
        None
    }
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

    fn ip(v: &str) -> Identifier {
        Identifier::ip(v.parse().unwrap())
    }

    #[test]
    fn names_a_url_parser_reads_as_ipv4_are_rejected() {
        // WHATWG URL "ends in a number": each of these is 127.0.0.1 (or another IPv4) to a
        // URL parser, so it would skip DNS altogether.
        for bad in [
            "0x7f000001",
            "0X7F000001",
            "2130706433",
            "127.1",
            "0177.0.0.1",
            "a.0x10",
            "a.0x",
            "www.a.test.123",
            "*.a.0xff",
        ] {
            let err = dns(bad).expect_err(bad);
            assert_eq!(err.problem_type, ProblemType::RejectedIdentifier, "{bad}");
            assert!(err.detail.contains("IPv4"), "{bad}: {}", err.detail);
        }
        // Hex-looking or numeric labels elsewhere, and letters after 0x, are ordinary names.
        for good in ["0x7f.test", "123.test", "0xzz", "a.0xg1", "a1.b2"] {
            assert!(dns(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn invalid_idna_a_labels_are_rejected() {
        // Valid A-labels: bücher, münchen.
        for good in ["xn--bcher-kva.test", "www.xn--mnchen-3ya.test"] {
            assert!(dns(good).is_ok(), "{good}");
        }
        for bad in [
            // Not valid Punycode.
            "xn--a.test",
            "xn--m.test",
            // Decode to labels UTS #46 / IDNA 2008 refuse: a full-width letter and an
            // upper-case letter (both mapped, so never in a U-label), a disallowed symbol
            // (U+2488), a joiner out of context (RFC 5892 A.2), Hebrew after Latin (RFC 5893
            // bidi rule), and a label not in NFC (RFC 5891 §5.4).
            "xn--bc-bz3n.test",
            "xn--ber-ska.test",
            "xn--x-dcp.test",
            "xn--ab-m1t.test",
            "www.xn--a-0hc.test",
            "xn--uber-vwc.test",
        ] {
            let err = dns(bad).expect_err(bad);
            assert_eq!(err.problem_type, ProblemType::RejectedIdentifier, "{bad}");
            assert!(err.detail.contains("A-label"), "{bad}: {}", err.detail);
        }
    }

    #[test]
    fn reserved_ip_addresses_are_classified() {
        for (addr, class) in [
            ("0.0.0.0", "this network"),
            ("0.1.2.3", "this network"),
            ("127.0.0.1", "loopback"),
            ("127.255.0.9", "loopback"),
            ("169.254.169.254", "link-local"),
            ("224.0.0.1", "multicast"),
            ("239.255.255.250", "multicast"),
            ("240.0.0.1", "reserved"),
            ("255.255.255.255", "broadcast"),
            ("::", "unspecified"),
            ("::1", "loopback"),
            ("fe80::1", "link-local"),
            ("febf::1", "link-local"),
            ("ff02::1", "multicast"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:169.254.169.254", "link-local"),
            ("::ffff:0.0.0.0", "this network"),
        ] {
            let why = ip(addr).reserved().unwrap_or_else(|| panic!("{addr}"));
            assert!(why.contains(class), "{addr}: {why}");
        }
        // Host addresses, private ones included: a private CA certifies internal hosts.
        for addr in [
            "1.1.1.1",
            "10.0.0.1",
            "172.16.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "126.255.255.255",
            "128.0.0.1",
            "169.253.0.1",
            "223.255.255.255",
            "2001:db8::1",
            "fd00::1",
            "fec0::1",
            "::ffff:10.0.0.1",
        ] {
            assert_eq!(ip(addr).reserved(), None, "{addr}");
        }
    }

    #[test]
    fn localhost_names_are_reserved() {
        // RFC 6761 §6.3.
        for name in [
            "localhost",
            "LOCALHOST.",
            "a.localhost",
            "*.a.localhost",
            "*.b.a.localhost",
        ] {
            let id = dns(name).unwrap();
            assert!(id.reserved().unwrap().contains("RFC 6761"), "{name}");
        }
        for name in [
            "localhost.test",
            "notlocalhost",
            "a.localhost-x",
            "mylocalhost.test",
        ] {
            assert_eq!(dns(name).unwrap().reserved(), None, "{name}");
        }
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
        assert_eq!(
            id.authorization_identifier(),
            Identifier::dns("a.test").unwrap()
        );
    }
}
