//! An IP address range (address and prefix length), as name constraints carry it.
//!
//! RFC 5280 §4.2.1.10 encodes an iPAddress subtree as address then mask (8 octets for IPv4,
//! 32 for IPv6). basalt only ever writes contiguous masks, so a range is an address and a
//! prefix length; the address's host bits are always zero once made through [`IpRange::new`].

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// `addr/prefix`: every address whose first `prefix` bits equal `addr`'s. IPv4 and IPv6 are
/// separate spaces (RFC 5280 §4.2.1.10): an IPv4 range never contains an IPv6 address, an
/// IPv4-mapped one (`::ffff:a.b.c.d`) included, and the other way round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpRange {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl IpRange {
    /// The range of `prefix` leading bits of `addr`, host bits cleared. A prefix longer than
    /// the address (32 for IPv4, 128 for IPv6) is refused.
    pub fn new(addr: IpAddr, prefix: u8) -> Result<Self, String> {
        let bits = address_bits(addr);
        if u32::from(prefix) > bits {
            return Err(format!(
                "prefix /{prefix} is longer than an {}-bit address",
                bits
            ));
        }
        Ok(Self {
            addr: masked(addr, prefix),
            prefix,
        })
    }

    /// True if `addr` is in this range (same address family only).
    pub fn contains(&self, addr: IpAddr) -> bool {
        let prefix = self.prefix.min(address_bits(self.addr) as u8);
        match (self.addr, addr) {
            (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => {
                masked(self.addr, prefix) == masked(addr, prefix)
            }
            _ => false,
        }
    }

    /// The name-constraint form: address (host bits cleared) followed by the mask, in network
    /// byte order (RFC 5280 §4.2.1.10).
    pub(crate) fn to_rcgen(self) -> rcgen::CidrSubnet {
        rcgen::CidrSubnet::from_addr_prefix(self.addr, self.prefix)
    }

    /// Reads an iPAddress subtree (address then mask, 8 or 32 octets). A mask that is not a
    /// run of ones followed by zeros cannot be a prefix and is refused, as is any other length.
    pub(crate) fn from_address_and_mask(octets: &[u8]) -> Result<Self, String> {
        let (addr, mask) = match octets.len() {
            8 => {
                let addr: [u8; 4] = octets[..4].try_into().unwrap_or_default();
                (IpAddr::V4(Ipv4Addr::from(addr)), &octets[4..])
            }
            32 => {
                let addr: [u8; 16] = octets[..16].try_into().unwrap_or_default();
                (IpAddr::V6(Ipv6Addr::from(addr)), &octets[16..])
            }
            n => {
                return Err(format!(
                    "an iPAddress name constraint of {n} octets (expected 8 or 32)"
                ));
            }
        };
        let ones: u32 = mask.iter().map(|b| b.count_ones()).sum();
        let contiguous = mask.iter().enumerate().all(|(i, &b)| {
            let before = (i as u32) * 8;
            let want_ones = ones.saturating_sub(before).min(8);
            b == (0xffu8.checked_shl(8 - want_ones).unwrap_or(0))
        });
        if !contiguous {
            return Err(format!(
                "the iPAddress name constraint {addr} has a mask that is not a prefix"
            ));
        }
        // `ones` is at most 128.
        Self::new(addr, ones as u8)
    }
}

fn address_bits(addr: IpAddr) -> u32 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// `addr` with every bit after the first `prefix` cleared.
fn masked(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(v4) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask))
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
        }
    }
}

impl fmt::Display for IpRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl FromStr for IpRange {
    type Err = String;

    /// CIDR notation, `192.0.2.0/24` or `2001:db8::/32`. Host bits are cleared, so
    /// `192.0.2.7/24` is `192.0.2.0/24`.
    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, prefix) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?} is not in CIDR notation (address/prefix)"))?;
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{addr:?} in {s:?} is not an IP address"))?;
        let prefix: u8 = prefix
            .parse()
            .map_err(|_| format!("{prefix:?} in {s:?} is not a prefix length"))?;
        Self::new(addr, prefix).map_err(|e| format!("{s:?}: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(s: &str) -> IpRange {
        s.parse().unwrap()
    }

    #[test]
    fn parsing_clears_host_bits_and_refuses_bad_prefixes() {
        assert_eq!(range("192.0.2.7/24").to_string(), "192.0.2.0/24");
        assert_eq!(range("2001:db8::1/32").to_string(), "2001:db8::/32");
        assert_eq!(range("0.0.0.0/0").to_string(), "0.0.0.0/0");
        assert_eq!(range("::/0").to_string(), "::/0");
        for bad in ["192.0.2.0/33", "::/129", "192.0.2.0", "x/8", "10.0.0.0/-1"] {
            assert!(bad.parse::<IpRange>().is_err(), "{bad}");
        }
    }

    #[test]
    fn families_never_mix() {
        let v4 = range("0.0.0.0/0");
        let v6 = range("::/0");
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert!(v4.contains("192.0.2.1".parse().unwrap()));
        assert!(!v4.contains(mapped));
        assert!(v6.contains(mapped));
        assert!(!v6.contains("192.0.2.1".parse().unwrap()));
        assert!(!range("::ffff:0:0/96").contains("192.0.2.1".parse().unwrap()));
    }

    #[test]
    fn containment_follows_the_prefix() {
        let r = range("10.1.0.0/16");
        assert!(r.contains("10.1.255.255".parse().unwrap()));
        assert!(!r.contains("10.2.0.0".parse().unwrap()));
        let host = range("192.0.2.1/32");
        assert!(host.contains("192.0.2.1".parse().unwrap()));
        assert!(!host.contains("192.0.2.2".parse().unwrap()));
        // Fields are public: a range built by hand with host bits set still matches by prefix.
        let by_hand = IpRange {
            addr: "10.1.2.3".parse().unwrap(),
            prefix: 16,
        };
        assert!(by_hand.contains("10.1.9.9".parse().unwrap()));
    }

    #[test]
    fn address_and_mask_octets_round_trip_and_non_prefix_masks_are_refused() {
        assert_eq!(
            IpRange::from_address_and_mask(&[192, 0, 2, 0, 255, 255, 255, 0]).unwrap(),
            range("192.0.2.0/24")
        );
        assert_eq!(
            IpRange::from_address_and_mask(&[0; 8]).unwrap(),
            range("0.0.0.0/0")
        );
        let mut v6 = [0u8; 32];
        v6[..2].copy_from_slice(&[0x20, 0x01]);
        v6[16..20].copy_from_slice(&[0xff, 0xff, 0xff, 0xf0]);
        assert_eq!(
            IpRange::from_address_and_mask(&v6).unwrap(),
            range("2001::/28")
        );
        assert!(IpRange::from_address_and_mask(&[10, 0, 0, 0, 255, 0, 255, 0]).is_err());
        assert!(IpRange::from_address_and_mask(&[10, 0, 0, 0, 0xf0, 0xf0, 0, 0]).is_err());
        assert!(IpRange::from_address_and_mask(&[10, 0, 0, 0]).is_err());
    }
}
