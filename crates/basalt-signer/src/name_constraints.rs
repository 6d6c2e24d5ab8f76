//! Name constraints (RFC 5280 §4.2.1.10) of an intermediate: what they are, whether they
//! permit an identifier, and their encoding.
//!
//! basalt writes only dNSName and iPAddress subtrees, derived from an area's name policy, so
//! that clients themselves refuse a leaf for a name the area may not certify. At newOrder the
//! server asks [`NameConstraints::permits`] of the active intermediate's own constraints (read
//! from its certificate, so a hand-made intermediate's count too) and refuses early what a
//! client would refuse later.

use std::net::IpAddr;

use basalt_protocol::{Identifier, IdentifierType};
use rcgen::GeneralSubtree;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;

use crate::IpRange;

/// The dNSName and iPAddress subtrees of a nameConstraints extension. Empty lists put no
/// constraint on their name form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameConstraints {
    /// dNSName bases: a name is inside `b` if it is `b` or ends with `.b`.
    pub permitted_dns: Vec<String>,
    pub excluded_dns: Vec<String>,
    pub permitted_ip: Vec<IpRange>,
    pub excluded_ip: Vec<IpRange>,
}

impl NameConstraints {
    /// No subtree at all: an extension with nothing in it must not be written (RFC 5280
    /// §4.2.1.10: at least one of the two lists is present, and neither may be empty).
    pub fn is_empty(&self) -> bool {
        self.permitted_dns.is_empty()
            && self.excluded_dns.is_empty()
            && self.permitted_ip.is_empty()
            && self.excluded_ip.is_empty()
    }

    /// `Ok` if a certificate for `id` under these constraints is valid, else a sentence naming
    /// the subtree that rejects it. RFC 5280 §4.2.1.10 and §6.1.3 (b), (c): a name inside an
    /// excluded subtree is rejected even if a permitted one contains it; if any permitted
    /// subtree of the name's form exists, the name must be inside one of them; a form without
    /// subtrees is unconstrained. A wildcard (`*.example.test`) is matched as the DNS name it
    /// is in the certificate, as verifiers do.
    pub fn permits(&self, id: &Identifier) -> Result<(), String> {
        match id.identifier_type() {
            IdentifierType::Dns => self.permits_dns(id.value()),
            IdentifierType::Ip => {
                let addr: IpAddr = id
                    .value()
                    .parse()
                    .map_err(|_| format!("{} is not an IP address", id.value()))?;
                self.permits_ip(addr)
            }
        }
    }

    fn permits_dns(&self, name: &str) -> Result<(), String> {
        if let Some(base) = self.excluded_dns.iter().find(|b| dns_within(name, b)) {
            return Err(format!(
                "{name} is inside the excluded dNSName subtree {base} of the intermediate's name constraints"
            ));
        }
        if !self.permitted_dns.is_empty() && !self.permitted_dns.iter().any(|b| dns_within(name, b))
        {
            return Err(format!(
                "{name} is outside the permitted dNSName subtrees of the intermediate's name constraints ({})",
                self.permitted_dns.join(", ")
            ));
        }
        Ok(())
    }

    fn permits_ip(&self, addr: IpAddr) -> Result<(), String> {
        if let Some(range) = self.excluded_ip.iter().find(|r| r.contains(addr)) {
            return Err(format!(
                "{addr} is inside the excluded iPAddress subtree {range} of the intermediate's name constraints"
            ));
        }
        if !self.permitted_ip.is_empty() && !self.permitted_ip.iter().any(|r| r.contains(addr)) {
            let ranges: Vec<String> = self.permitted_ip.iter().map(IpRange::to_string).collect();
            return Err(format!(
                "{addr} is outside the permitted iPAddress subtrees of the intermediate's name constraints ({})",
                ranges.join(", ")
            ));
        }
        Ok(())
    }

    /// Refuses a dNSName base that is not a DNS name in the form RFC 5280 §4.2.1.10 gives
    /// (labels of letters, digits and hyphens, no leading or trailing dot), so a certificate
    /// basalt writes never carries a subtree verifiers read differently.
    pub(crate) fn check(&self) -> Result<(), String> {
        for base in self.permitted_dns.iter().chain(&self.excluded_dns) {
            let well_formed = !base.is_empty()
                && base.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && label
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                });
            if !well_formed {
                return Err(format!(
                    "the dNSName name constraint {base:?} is not a DNS name (write example.test, which also covers every name below it)"
                ));
            }
        }
        Ok(())
    }

    /// Every subtree as a short phrase (`permitted DNS:prod.test`, `excluded IP:0.0.0.0/0`),
    /// for operators.
    pub fn describe(&self) -> Vec<String> {
        let dns = |kind: &str, bases: &[String]| {
            bases
                .iter()
                .map(|b| format!("{kind} DNS:{b}"))
                .collect::<Vec<_>>()
        };
        let ip = |kind: &str, ranges: &[IpRange]| {
            ranges
                .iter()
                .map(|r| format!("{kind} IP:{r}"))
                .collect::<Vec<_>>()
        };
        [
            dns("permitted", &self.permitted_dns),
            ip("permitted", &self.permitted_ip),
            dns("excluded", &self.excluded_dns),
            ip("excluded", &self.excluded_ip),
        ]
        .concat()
    }

    /// rcgen's form; `None` when there is nothing to constrain. rcgen marks the extension
    /// critical, as RFC 5280 §4.2.1.10 requires.
    pub(crate) fn to_rcgen(&self) -> Option<rcgen::NameConstraints> {
        if self.is_empty() {
            return None;
        }
        let subtrees = |dns: &[String], ip: &[IpRange]| {
            dns.iter()
                .map(|b| GeneralSubtree::DnsName(b.clone()))
                .chain(ip.iter().map(|r| GeneralSubtree::IpAddress(r.to_rcgen())))
                .collect()
        };
        Some(rcgen::NameConstraints {
            permitted_subtrees: subtrees(&self.permitted_dns, &self.permitted_ip),
            excluded_subtrees: subtrees(&self.excluded_dns, &self.excluded_ip),
        })
    }

    /// The constraints of a certificate, `None` if it has no nameConstraints extension.
    /// Subtrees of other forms (rfc822Name, directoryName, URI, …) never match a DNS name or
    /// an IP address and are left out; an iPAddress subtree that is not a prefix is an error.
    pub(crate) fn from_certificate(cert: &X509Certificate<'_>) -> Result<Option<Self>, String> {
        let Some(extension) = cert
            .name_constraints()
            .map_err(|e| format!("unreadable nameConstraints extension: {e}"))?
        else {
            return Ok(None);
        };
        let mut constraints = Self::default();
        let trees = [
            (
                &extension.value.permitted_subtrees,
                &mut constraints.permitted_dns,
                &mut constraints.permitted_ip,
            ),
            (
                &extension.value.excluded_subtrees,
                &mut constraints.excluded_dns,
                &mut constraints.excluded_ip,
            ),
        ];
        for (subtrees, dns, ip) in trees {
            for subtree in subtrees.iter().flatten() {
                match &subtree.base {
                    GeneralName::DNSName(base) => dns.push((*base).to_owned()),
                    GeneralName::IPAddress(octets) => {
                        ip.push(IpRange::from_address_and_mask(octets)?)
                    }
                    _ => {}
                }
            }
        }
        Ok(Some(constraints))
    }
}

/// RFC 5280 §4.2.1.10: a DNS name is inside the subtree of `base` if it is `base` or `base`
/// with one or more labels added on the left, compared case-insensitively. Two forms RFC 5280
/// does not define for dNSName are read as OpenSSL and Go's crypto/x509 read them, so basalt
/// never promises more than clients enforce: an empty base contains every name, and a base
/// with a leading dot (`.example.test`) contains only names strictly below it.
fn dns_within(name: &str, base: &str) -> bool {
    let ends_with = |suffix: &str| {
        name.len() >= suffix.len()
            && name.as_bytes()[name.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
    };
    if base.is_empty() {
        return true;
    }
    if base.starts_with('.') {
        return name.len() > base.len() && ends_with(base);
    }
    if name.len() == base.len() {
        return name.eq_ignore_ascii_case(base);
    }
    name.len() > base.len()
        && ends_with(base)
        && name.as_bytes()[name.len() - base.len() - 1] == b'.'
}

/// The name constraints of a CA certificate given as PEM (`None`: it has none), for
/// `basalt area show`.
pub fn certificate_name_constraints(pem: &str) -> Result<Option<NameConstraints>, crate::Error> {
    let der = crate::inspect::single_certificate(pem).map_err(crate::Error::Certificate)?;
    let cert = crate::inspect::parse_certificate(&der)?;
    NameConstraints::from_certificate(&cert).map_err(crate::Error::Certificate)
}

#[cfg(test)]
mod tests;
