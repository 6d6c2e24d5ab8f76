//! An area's name policy: which identifiers its directory certifies, and the RFC 5280
//! §4.2.1.10 name constraints that carry the same boundary into its intermediate.
//!
//! basalt enforces the policy itself at newOrder; the constraints make every relying party
//! enforce the area's outer boundary too. The two may differ in one direction only: the
//! constraints may be broader than the policy (basalt refuses the difference), never
//! narrower (a relying party would reject certificates basalt issued).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use basalt_protocol::identifier::normalise_dns_name;
use basalt_protocol::{Identifier, IdentifierType};
use basalt_signer::{IpRange, NameConstraints};
use basalt_validation::Cidr;

/// One `allow` or `deny` entry: `name` is exactly that name, `.name` every name below it
/// (not the name itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameRule {
    Exact(String),
    Below(String),
}

impl NameRule {
    /// Parses a config entry; the error says what is wrong with it.
    pub fn parse(entry: &str) -> Result<Self, String> {
        let (below, name) = match entry.strip_prefix('.') {
            Some(rest) => (true, rest),
            None => (false, entry),
        };
        if name.starts_with('*') {
            return Err(format!(
                "{entry:?}: write \".{}\" for every name below a domain, not a wildcard",
                name.trim_start_matches("*.")
            ));
        }
        let name = normalise_dns_name(name).map_err(|e| format!("{entry:?}: {e}"))?;
        Ok(if below {
            Self::Below(name)
        } else {
            Self::Exact(name)
        })
    }

    /// Whether `name` (lowercase, a wildcard written `*.x`) falls under this rule.
    fn matches(&self, name: &str) -> bool {
        match self {
            Self::Exact(exact) => name == exact,
            Self::Below(domain) => is_below(name, domain),
        }
    }
}

impl fmt::Display for NameRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(name) => f.write_str(name),
            Self::Below(name) => write!(f, ".{name}"),
        }
    }
}

/// `name` is strictly below `domain` (`a.b.c` is below `b.c`; `b.c` is not).
fn is_below(name: &str, domain: &str) -> bool {
    name.len() > domain.len() + 1
        && name.ends_with(domain)
        && name.as_bytes()[name.len() - domain.len() - 1] == b'.'
}

/// Which identifiers an area certifies (`[directories.NAME.names]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamePolicy {
    pub identifier_types: Vec<IdentifierType>,
    /// Empty: every DNS name (that `deny` does not refuse).
    pub allow: Vec<NameRule>,
    /// Wins over `allow`.
    pub deny: Vec<NameRule>,
    pub wildcards: bool,
    /// Names of one label (`db`), which a private network may use.
    pub single_label: bool,
    /// Empty: every IP address (when `ip` identifiers are allowed).
    pub ip_ranges: Vec<Cidr>,
}

impl Default for NamePolicy {
    /// Everything the ACME server accepted before areas had policies.
    fn default() -> Self {
        Self {
            identifier_types: vec![IdentifierType::Dns, IdentifierType::Ip],
            allow: Vec::new(),
            deny: Vec::new(),
            wildcards: true,
            single_label: true,
            ip_ranges: Vec::new(),
        }
    }
}

impl NamePolicy {
    /// `Ok` if the area certifies `id`, else the rule that refuses it, as a sentence for the
    /// client (the caller prefixes the area's name).
    pub fn check(&self, id: &Identifier) -> Result<(), String> {
        let kind = id.identifier_type();
        if !self.identifier_types.contains(&kind) {
            return Err(format!(
                "{:?}: {} identifiers are not allowed (names.identifier_types = [{}])",
                id.value(),
                kind.as_str(),
                self.identifier_types
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        match kind {
            IdentifierType::Dns => self.check_dns(id.value()),
            IdentifierType::Ip => self.check_ip(id.value()),
        }
    }

    fn check_dns(&self, name: &str) -> Result<(), String> {
        let wildcard_base = name.strip_prefix("*.");
        if wildcard_base.is_some() && !self.wildcards {
            return Err(format!(
                "{name:?}: wildcard names are not allowed (names.wildcards = false)"
            ));
        }
        if !self.single_label && !name.contains('.') {
            return Err(format!(
                "{name:?}: single-label names are not allowed (names.single_label = false)"
            ));
        }
        if let Some(rule) = self.deny.iter().find(|r| r.matches(name)) {
            return Err(format!("{name:?} is denied (names.deny entry \"{rule}\")"));
        }
        // A wildcard `*.b` is good for every one-label name under `b`: a denied `x.b` would
        // be covered by it.
        if let Some(base) = wildcard_base
            && let Some(rule) = self.deny.iter().find(|r| match r {
                NameRule::Exact(n) => n.split_once('.').is_some_and(|(_, parent)| parent == base),
                NameRule::Below(_) => false,
            })
        {
            return Err(format!(
                "{name:?} would cover a denied name (names.deny entry \"{rule}\")"
            ));
        }
        if !self.allow.is_empty() && !self.allow.iter().any(|r| r.matches(name)) {
            return Err(format!(
                "{name:?} is not an allowed name (names.allow = [{}])",
                list(&self.allow)
            ));
        }
        Ok(())
    }

    fn check_ip(&self, value: &str) -> Result<(), String> {
        let Ok(ip) = value.parse::<IpAddr>() else {
            return Err(format!("{value:?} is not an IP address"));
        };
        if !self.ip_ranges.is_empty() && !self.ip_ranges.iter().any(|r| r.contains(ip)) {
            return Err(format!(
                "{value} is outside the allowed IP ranges (names.ip_ranges = [{}])",
                list(&self.ip_ranges)
            ));
        }
        Ok(())
    }

    /// Refuses a policy that contradicts itself; each string names the entries concerned.
    pub fn contradictions(&self) -> Vec<String> {
        let mut found = Vec::new();
        if self.identifier_types.is_empty() {
            found.push("names.identifier_types is empty: the area could certify nothing".into());
        }
        let dns = self.identifier_types.contains(&IdentifierType::Dns);
        let ip = self.identifier_types.contains(&IdentifierType::Ip);
        if !dns && (!self.allow.is_empty() || !self.deny.is_empty()) {
            found.push(
                "names.allow/names.deny name DNS names, but names.identifier_types excludes dns"
                    .into(),
            );
        }
        if !ip && !self.ip_ranges.is_empty() {
            found.push("names.ip_ranges is set, but names.identifier_types excludes ip".to_owned());
        }
        for allowed in &self.allow {
            let name = match allowed {
                NameRule::Exact(n) => n.clone(),
                // Any name below: stands for the whole subtree.
                NameRule::Below(d) => format!("x.{d}"),
            };
            let covered = match allowed {
                NameRule::Exact(_) => self.deny.iter().find(|d| d.matches(&name)),
                NameRule::Below(domain) => self.deny.iter().find(|d| match d {
                    NameRule::Below(deny) => deny == domain || is_below(domain, deny),
                    NameRule::Exact(_) => false,
                }),
            };
            if let Some(deny) = covered {
                found.push(format!(
                    "names.allow entry \"{allowed}\" can never match: names.deny entry \"{deny}\" covers it"
                ));
            }
        }
        if !self.single_label
            && let Some(rule) = self
                .allow
                .iter()
                .find(|r| matches!(r, NameRule::Exact(n) if !n.contains('.')))
        {
            found.push(format!(
                "names.allow entry \"{rule}\" is a single-label name, but names.single_label = false"
            ));
        }
        found
    }

    /// The RFC 5280 §4.2.1.10 name constraints for an intermediate of this area, or every
    /// reason it cannot be expressed (the constraints would reject a name the policy accepts).
    pub fn name_constraints(&self) -> Result<NameConstraints, Vec<String>> {
        let mut reasons = Vec::new();
        let mut constraints = NameConstraints {
            permitted_dns: Vec::new(),
            excluded_dns: Vec::new(),
            permitted_ip: Vec::new(),
            excluded_ip: Vec::new(),
        };
        if !self.identifier_types.contains(&IdentifierType::Dns) {
            reasons.push(
                "names.identifier_types excludes dns, and no RFC 5280 name constraint excludes \
                 every DNS name"
                    .to_owned(),
            );
        }
        // A dNSName subtree `d` is `d` and every name below it, so both allow forms map to
        // `d`: broader than the policy, which basalt still enforces.
        for rule in &self.allow {
            let (NameRule::Exact(d) | NameRule::Below(d)) = rule;
            if !constraints.permitted_dns.contains(d) {
                constraints.permitted_dns.push(d.clone());
            }
        }
        for rule in &self.deny {
            match rule {
                NameRule::Below(d) if self.deny.contains(&NameRule::Exact(d.clone())) => {
                    constraints.excluded_dns.push(d.clone());
                }
                NameRule::Below(d) => reasons.push(format!(
                    "names.deny entry \".{d}\": an excluded subtree would also exclude {d} \
                     itself, which the policy allows; deny \"{d}\" too"
                )),
                NameRule::Exact(d) if self.deny.contains(&NameRule::Below(d.clone())) => {}
                NameRule::Exact(d) => reasons.push(format!(
                    "names.deny entry \"{d}\": an excluded subtree would also exclude every \
                     name below {d}, which the policy allows; deny \".{d}\" too"
                )),
            }
        }
        if self.identifier_types.contains(&IdentifierType::Ip) {
            constraints.permitted_ip = self
                .ip_ranges
                .iter()
                .map(|c| IpRange {
                    addr: c.addr(),
                    prefix: c.prefix(),
                })
                .collect();
        } else {
            // The CA/B Forum's way to say "no IP addresses at all".
            constraints.excluded_ip = vec![
                IpRange {
                    addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                    prefix: 0,
                },
                IpRange {
                    addr: IpAddr::V6(Ipv6Addr::UNSPECIFIED),
                    prefix: 0,
                },
            ];
        }
        if reasons.is_empty() {
            Ok(constraints)
        } else {
            Err(reasons)
        }
    }
}

fn list<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(|i| format!("\"{i}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests;
