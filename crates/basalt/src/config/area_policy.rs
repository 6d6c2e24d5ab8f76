//! An area's policy keys (`[directories.NAME]`) turned into the server's types, with errors
//! that name the key path.

use std::time::Duration;

use anyhow::{Context, bail};
use basalt_protocol::{ChallengeType, IdentifierType};
use basalt_server::{CrlSettings, EabMode, NamePolicy, NameRule, ProfileSet, RenewalSettings};
use basalt_signer::KeyType;
use basalt_validation::Cidr;

use super::DirectorySection;

/// Everything of an area's policy that `serve` and `area add` need, parsed.
#[derive(Debug, Clone)]
pub(crate) struct AreaPolicy {
    pub(crate) names: NamePolicy,
    pub(crate) challenge_types: Vec<ChallengeType>,
    pub(crate) key_types: Vec<KeyType>,
    pub(crate) crl: Option<CrlSettings>,
    pub(crate) pki_base_url: Option<String>,
    pub(crate) renewal: RenewalSettings,
    pub(crate) external_account_binding: EabMode,
    pub(crate) profiles: ProfileSet,
}

impl DirectorySection {
    /// Parses and checks the area's policy keys; the error names the key and the value.
    pub(crate) fn area_policy(&self, area: &str) -> anyhow::Result<AreaPolicy> {
        let key = |k: &str| format!("directories.{area}.{k}");
        let names = &self.names;
        let identifier_types = names
            .identifier_types
            .iter()
            .map(|t| {
                IdentifierType::parse(t).with_context(|| {
                    format!(
                        "{}: {t:?} is not an identifier type (dns, ip)",
                        key("names.identifier_types")
                    )
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let rules = |which: &str, entries: &[String]| {
            entries
                .iter()
                .map(|e| NameRule::parse(e).map_err(|m| anyhow::anyhow!("{}: {m}", key(which))))
                .collect::<anyhow::Result<Vec<_>>>()
        };
        let ip_ranges = names
            .ip_ranges
            .iter()
            .map(|r| {
                r.parse::<Cidr>().ok().with_context(|| {
                    format!(
                        "{}: {r:?} is not a CIDR (like 10.0.0.0/8)",
                        key("names.ip_ranges")
                    )
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let policy = NamePolicy {
            identifier_types,
            allow: rules("names.allow", &names.allow)?,
            deny: rules("names.deny", &names.deny)?,
            wildcards: names.wildcards,
            single_label: names.single_label,
            ip_ranges,
        };
        if let Some(problem) = policy.contradictions().first() {
            bail!("directories.{area}.{problem}");
        }

        let challenge_types = self
            .challenge_types
            .iter()
            .map(|t| {
                ChallengeType::parse(t).with_context(|| {
                    format!(
                        "{}: {t:?} is not a challenge type (http-01, dns-01, tls-alpn-01)",
                        key("challenge_types")
                    )
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        if challenge_types.is_empty() {
            bail!(
                "{}: at least one challenge type is required",
                key("challenge_types")
            );
        }
        if policy.wildcards && !challenge_types.contains(&ChallengeType::Dns01) {
            bail!(
                "{}: wildcard names can only be validated with dns-01 (RFC 8555 §7.1.3); \
                 allow dns-01 or set names.wildcards = false",
                key("challenge_types")
            );
        }
        let key_types = self
            .key_types
            .iter()
            .map(|t| {
                t.parse::<KeyType>().map_err(|_| {
                    anyhow::anyhow!(
                        "{}: {t:?} is not a key type ({})",
                        key("key_types"),
                        KeyType::ALL
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        if key_types.is_empty() {
            bail!("{}: at least one key type is required", key("key_types"));
        }
        if let Some(url) = &self.pki_base_url {
            check_base_url(url).with_context(|| key("pki_base_url"))?;
        }
        if self.crl && self.crl_lifetime < Duration::from_secs(3600) {
            bail!("{}: must be at least one hour", key("crl_lifetime"));
        }
        let external_account_binding = match self.external_account_binding.as_deref() {
            None | Some("off") => EabMode::Off,
            Some("optional") => EabMode::Optional,
            Some("required") => EabMode::Required,
            Some(other) => bail!(
                "{}: {other:?} is not an External Account Binding mode (off, optional, required)",
                key("external_account_binding")
            ),
        };
        let profiles = self.profile_set(area, &policy.identifier_types)?;
        let renewal = self.renewal_settings(area)?;
        Ok(AreaPolicy {
            renewal,
            profiles,
            names: policy,
            challenge_types,
            key_types,
            crl: self.crl.then_some(CrlSettings {
                lifetime: self.crl_lifetime,
            }),
            pki_base_url: self.pki_base_url.clone(),
            external_account_binding,
        })
    }
}

impl DirectorySection {
    /// RFC 9773 window keys: the window must lie inside the lifetime and have a width.
    fn renewal_settings(&self, area: &str) -> anyhow::Result<RenewalSettings> {
        let key = |k: &str| format!("directories.{area}.{k}");
        // Boulder's default puts the ideal time at one half or two thirds.
        let at = self.renewal_at.unwrap_or(0.5);
        if let Some(at) = self.renewal_at
            && !(at > 0.0 && at < 1.0)
        {
            bail!(
                "{}: {at} must lie strictly between 0 and 1",
                key("renewal_at")
            );
        }
        let margin = self.renewal_margin;
        if !(margin >= 0.0 && margin < at.min(1.0 - at)) {
            bail!(
                "{}: {margin} must be at least 0 and less than {} (the window must lie inside the lifetime)",
                key("renewal_margin"),
                at.min(1.0 - at)
            );
        }
        if self.renewal_retry_after < Duration::from_secs(1) {
            bail!(
                "{}: must be at least one second",
                key("renewal_retry_after")
            );
        }
        Ok(RenewalSettings {
            ideal_at: self.renewal_at,
            margin,
            retry_after: self.renewal_retry_after,
        })
    }
}

/// An `http://` or `https://` URL with a host and no query or fragment: it is written into
/// every certificate, so a typo must stop the configuration, not a relying party.
fn check_base_url(url: &str) -> anyhow::Result<()> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .with_context(|| format!("{url:?} must start with http:// (or https://)"))?;
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() || !url.is_ascii() || url.contains(['?', '#', ' ', '"', '<', '>', '\\']) {
        bail!("{url:?} is not a usable base URL (like http://ca.example.internal)");
    }
    Ok(())
}
