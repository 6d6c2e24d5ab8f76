//! The egress policy: which addresses validation may connect to.
//!
//! A validation connects wherever the applicant's DNS, URL or redirect says, from inside the
//! CA's network. Without a policy an account holder can aim it at the CA host itself
//! (`0.0.0.0`, `::`, loopback), at a cloud metadata service (169.254.169.254) or at anything
//! else only the CA can reach, and read part of the answer back in the challenge's error. So
//! every address is checked here immediately before it is dialled: the addresses the resolver
//! hands to the HTTP client (every name of every hop, and therefore what DNS rebinding
//! returns, since nothing is looked up twice), the IP literals of the first URL and of every
//! redirect target, and each address tls-alpn-01 connects to.
//!
//! The default refuses the IANA special-purpose ranges that are never a validation target
//! (RFC 6890 registries) and lets RFC 1918 and ULA addresses through, because a private CA's
//! job is to validate internal hosts. `allow` lifts the default refusal for chosen ranges
//! (tests allow loopback); `deny` adds ranges an operator wants refused (the CA's own subnet)
//! and wins over everything.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::error::Error;

/// An address range, `addr/prefix` (or one address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// The range of `addr` with the first `prefix` bits fixed; `None` when `prefix` is longer
    /// than the address. Host bits are cleared, so `10.1.2.3/8` is `10.0.0.0/8`.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Self> {
        let bits = match addr {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        if prefix > bits {
            return None;
        }
        let addr = match addr {
            IpAddr::V4(v4) => IpAddr::V4(Ipv4Addr::from_bits(v4.to_bits() & mask32(prefix))),
            IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & mask128(prefix))),
        };
        Some(Self { addr, prefix })
    }

    /// The first address of the range (host bits cleared).
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// How many leading bits are fixed.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    const fn v4(a: u8, b: u8, c: u8, d: u8, prefix: u8) -> Self {
        Self {
            addr: IpAddr::V4(Ipv4Addr::new(a, b, c, d)),
            prefix,
        }
    }

    const fn v6(bits: u128, prefix: u8) -> Self {
        Self {
            addr: IpAddr::V6(Ipv6Addr::from_bits(bits)),
            prefix,
        }
    }

    /// True when `ip` is in this range (same family only: mapped forms are handled by the
    /// policy, which knows what they mean).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                ip.to_bits() & mask32(self.prefix) == net.to_bits()
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                ip.to_bits() & mask128(self.prefix) == net.to_bits()
            }
            _ => false,
        }
    }
}

fn mask32(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask128(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

impl FromStr for Cidr {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let error = || Error::Cidr(s.to_owned());
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| error())?;
        let prefix = match prefix {
            // Digits only: `u8::from_str` would also take `+8`.
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().map_err(|_| error())?
            }
            Some(_) => return Err(error()),
            None if addr.is_ipv4() => 32,
            None => 128,
        };
        Self::new(addr, prefix).ok_or_else(error)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// One range refused by default, and why, for the detail the client reads.
struct Special {
    range: Cidr,
    what: &'static str,
}

/// IPv4 ranges never used as a validation target (IANA IPv4 Special-Purpose Address
/// Registry, RFC 6890). The limited broadcast address comes before 240.0.0.0/4, which holds
/// it, so its detail names it.
const SPECIAL_V4: &[Special] = &[
    // RFC 791 / RFC 6890 §2.2.2: "this host on this network"; Linux dials it as loopback.
    Special {
        range: Cidr::v4(0, 0, 0, 0, 8),
        what: "\"this network\" (0.0.0.0/8, RFC 6890)",
    },
    // RFC 1122 §3.2.1.3.
    Special {
        range: Cidr::v4(127, 0, 0, 0, 8),
        what: "loopback (127.0.0.0/8, RFC 1122)",
    },
    // RFC 3927: where cloud metadata services live (169.254.169.254).
    Special {
        range: Cidr::v4(169, 254, 0, 0, 16),
        what: "link-local (169.254.0.0/16, RFC 3927)",
    },
    // RFC 5771.
    Special {
        range: Cidr::v4(224, 0, 0, 0, 4),
        what: "multicast (224.0.0.0/4, RFC 5771)",
    },
    // RFC 919 / RFC 8190.
    Special {
        range: Cidr::v4(255, 255, 255, 255, 32),
        what: "the limited broadcast address (RFC 919)",
    },
    // RFC 1112 §4: reserved.
    Special {
        range: Cidr::v4(240, 0, 0, 0, 4),
        what: "reserved (240.0.0.0/4, RFC 1112)",
    },
];

/// IPv6 ranges never used as a validation target (IANA IPv6 Special-Purpose Address
/// Registry). `::` and `::1` come first for their details; `::/96` (IPv4-compatible,
/// deprecated by RFC 4291 §2.5.5.1) holds them.
const SPECIAL_V6: &[Special] = &[
    // RFC 4291 §2.5.2.
    Special {
        range: Cidr::v6(0, 128),
        what: "the unspecified address (::, RFC 4291)",
    },
    // RFC 4291 §2.5.3.
    Special {
        range: Cidr::v6(1, 128),
        what: "loopback (::1, RFC 4291)",
    },
    // RFC 4291 §2.5.5.1: IPv4-compatible addresses are deprecated.
    Special {
        range: Cidr::v6(0, 96),
        what: "IPv4-compatible (::/96, deprecated by RFC 4291)",
    },
    // RFC 4291 §2.5.6.
    Special {
        range: Cidr::v6(0xfe80 << 112, 10),
        what: "link-local (fe80::/10, RFC 4291)",
    },
    // RFC 4291 §2.7.
    Special {
        range: Cidr::v6(0xff00 << 112, 8),
        what: "multicast (ff00::/8, RFC 4291)",
    },
];

/// RFC 4291 §2.5.5.2: `::ffff:a.b.c.d` is the IPv4 address a.b.c.d; a dual-stack socket
/// dials it over IPv4.
const MAPPED: Cidr = Cidr::v6(0xffff << 32, 96);
/// RFC 6052 §2.1: `64:ff9b::a.b.c.d` is a.b.c.d behind a NAT64 gateway.
const NAT64: Cidr = Cidr::v6(0x0064_ff9b << 96, 96);

/// Which addresses validation may dial. Compared and hashed so the validator can keep one
/// HTTP client per distinct policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct EgressPolicy {
    /// Ranges allowed although the default refuses them (tests: `127.0.0.0/8`, `::1`).
    pub allow: Vec<Cidr>,
    /// Ranges refused although the default allows them; wins over `allow`.
    pub deny: Vec<Cidr>,
}

/// An address the policy refused: nothing was sent to it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the address {address} is not allowed as a validation target: {reason}")]
pub struct EgressRefused {
    pub address: IpAddr,
    pub reason: String,
}

impl EgressPolicy {
    /// `Ok` when validation may connect to `ip`; otherwise why not.
    pub fn check(&self, ip: IpAddr) -> Result<(), EgressRefused> {
        self.reason(ip).map_or(Ok(()), |reason| {
            Err(EgressRefused {
                address: ip,
                reason,
            })
        })
    }

    fn reason(&self, ip: IpAddr) -> Option<String> {
        if let Some(range) = self.deny.iter().find(|range| range.contains(ip)) {
            return Some(format!("in {range}, which this CA's configuration refuses"));
        }
        if self.allow.iter().any(|range| range.contains(ip)) {
            return None;
        }
        if let IpAddr::V6(v6) = ip
            && let Some(v4) = embedded_v4(v6)
        {
            // The embedded IPv4 address is where the packet goes: it gets the same answer,
            // including an operator's allow or deny for it.
            return self
                .reason(IpAddr::V4(v4))
                .map(|reason| format!("it stands for {v4}, which is {reason}"));
        }
        let table = match ip {
            IpAddr::V4(_) => SPECIAL_V4,
            IpAddr::V6(_) => SPECIAL_V6,
        };
        table
            .iter()
            .find(|special| special.range.contains(ip))
            .map(|special| special.what.to_owned())
    }
}

/// The IPv4 address an IPv4-mapped (RFC 4291 §2.5.5.2) or NAT64 well-known-prefix (RFC 6052
/// §2.1) IPv6 address stands for.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let addr = IpAddr::V6(ip);
    if MAPPED.contains(addr) || NAT64.contains(addr) {
        // The low 32 bits; the truncation is the point.
        #[allow(clippy::cast_possible_truncation)]
        return Some(Ipv4Addr::from_bits(ip.to_bits() as u32));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn refused(policy: &EgressPolicy, s: &str) -> bool {
        policy.check(ip(s)).is_err()
    }

    #[test]
    fn the_default_refuses_special_purpose_addresses_and_their_ipv6_forms() {
        let policy = EgressPolicy::default();
        for s in [
            "0.0.0.0",
            "0.1.2.3",
            "127.0.0.1",
            "127.255.0.2",
            "169.254.169.254",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::7f00:1",
            "fe80::1",
            "febf::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:0.0.0.0",
            "::ffff:169.254.169.254",
            "64:ff9b::7f00:1",
            "64:ff9b::169.254.169.254",
        ] {
            assert!(refused(&policy, s), "{s} must be refused");
        }
    }

    #[test]
    fn the_default_allows_private_and_public_addresses() {
        let policy = EgressPolicy::default();
        for s in [
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "100.64.0.1",
            "8.8.8.8",
            "1.0.0.0",
            "126.255.255.255",
            "128.0.0.0",
            "169.253.255.255",
            "223.255.255.255",
            "fd00::1",
            "fc00::1",
            "2001:db8::1",
            "fec0::1",
            "::ffff:10.0.0.1",
            "64:ff9b::8.8.8.8",
        ] {
            assert!(!refused(&policy, s), "{s} must be allowed");
        }
    }

    #[test]
    fn allow_lifts_the_refusal_and_deny_wins() {
        let policy = EgressPolicy {
            allow: vec!["127.0.0.1/32".parse().unwrap(), "::1".parse().unwrap()],
            deny: vec!["10.0.0.0/8".parse().unwrap()],
        };
        assert!(!refused(&policy, "127.0.0.1"));
        assert!(!refused(&policy, "::1"));
        assert!(!refused(&policy, "::ffff:127.0.0.1"));
        assert!(refused(&policy, "127.0.0.2"));
        assert!(refused(&policy, "::ffff:127.0.0.2"));
        assert!(refused(&policy, "10.1.2.3"));
        assert!(refused(&policy, "::ffff:10.1.2.3"));
        assert!(refused(&policy, "64:ff9b::a01:203"));
        let everything = EgressPolicy {
            allow: vec!["0.0.0.0/0".parse().unwrap()],
            deny: vec!["127.0.0.0/8".parse().unwrap()],
        };
        assert!(refused(&everything, "127.0.0.1"));
        assert!(!refused(&everything, "169.254.169.254"));
    }

    #[test]
    fn refusals_say_which_address_and_why() {
        let error = EgressPolicy::default()
            .check(ip("::ffff:169.254.169.254"))
            .unwrap_err();
        let text = error.to_string();
        assert!(text.contains("::ffff:169.254.169.254"), "{text}");
        assert!(text.contains("not allowed"), "{text}");
        assert!(text.contains("link-local"), "{text}");
    }

    #[test]
    fn cidrs_parse_normalise_and_refuse_nonsense() {
        assert_eq!(
            "10.1.2.3/8".parse::<Cidr>().unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!("::1".parse::<Cidr>().unwrap().to_string(), "::1/128");
        assert_eq!(
            "0.0.0.0/0".parse::<Cidr>().unwrap().to_string(),
            "0.0.0.0/0"
        );
        for bad in [
            "",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "a.test/8",
            "0x7f000001",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad:?} must not parse");
        }
        let everything: Cidr = "::/0".parse().unwrap();
        assert!(everything.contains(ip("ff02::1")));
        assert!(!everything.contains(ip("1.2.3.4")));
    }
}
