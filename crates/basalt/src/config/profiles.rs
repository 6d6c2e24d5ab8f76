//! `[directories.NAME.profiles.PNAME]`: an area's certificate profiles
//! (draft-ietf-acme-profiles), turned into the server's [`ProfileSet`] with errors that name
//! the key path. An area without the table offers the shipped profiles.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use basalt_protocol::IdentifierType;
use basalt_server::{IssuancePolicy, Profile, ProfileSet, valid_profile_name};
use basalt_signer::{ExtendedKeyUsage, KeyUsage, LeafProfile};
use serde::{Deserialize, Serialize};

use super::DirectorySection;

/// One profile's keys; every key but `description` has a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ProfileSection {
    /// `meta.profiles` value shown to clients.
    pub(crate) description: String,
    /// `serverAuth`, `clientAuth`.
    pub(crate) extended_key_usages: Vec<String>,
    /// `digitalSignature` (required), `keyEncipherment` (RSA keys only).
    pub(crate) key_usages: Vec<String>,
    /// Default lifetime; unset: the area's `certificate_lifetime`.
    #[serde(
        with = "crate::duration::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) certificate_lifetime: Option<Duration>,
    /// Longest lifetime notBefore/notAfter may ask for; unset: the area's.
    #[serde(
        with = "crate::duration::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) max_certificate_lifetime: Option<Duration>,
    /// Copy the CSR's CN into the subject.
    pub(crate) common_name: bool,
    /// Identifier types the profile certifies; unset: the area's `names.identifier_types`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) identifier_types: Option<Vec<String>>,
    /// Link the area's CRL from the leaf (when the area has a CRL and a `pki_base_url`).
    pub(crate) crl_distribution_point: bool,
}

impl Default for ProfileSection {
    fn default() -> Self {
        Self {
            description: String::new(),
            extended_key_usages: ExtendedKeyUsage::ALL
                .map(|u| u.as_str().to_owned())
                .to_vec(),
            key_usages: KeyUsage::ALL.map(|u| u.as_str().to_owned()).to_vec(),
            certificate_lifetime: None,
            max_certificate_lifetime: None,
            common_name: true,
            identifier_types: None,
            crl_distribution_point: true,
        }
    }
}

impl DirectorySection {
    /// The area's profiles: its `profiles` tables, or the shipped set without them, with
    /// `default_profile` checked against them. `area_types` are the area's identifier types.
    pub(crate) fn profile_set(
        &self,
        area: &str,
        area_types: &[IdentifierType],
    ) -> anyhow::Result<ProfileSet> {
        let policy = IssuancePolicy {
            certificate_lifetime: self.certificate_lifetime,
            max_certificate_lifetime: self.max_certificate_lifetime,
            ..IssuancePolicy::default()
        };
        let set = if self.profiles.is_empty() {
            let shipped = ProfileSet::shipped(&policy);
            let mut set = BTreeMap::new();
            for (name, profile) in shipped.iter() {
                let profile = Profile {
                    identifier_types: area_types.to_vec(),
                    ..profile.clone()
                };
                set.insert(name.to_owned(), profile);
            }
            set
        } else {
            self.profiles
                .iter()
                .map(|(name, section)| {
                    section
                        .parse(area, name, &policy, area_types)
                        .map(|p| (name.clone(), p))
                })
                .collect::<anyhow::Result<BTreeMap<_, _>>>()?
        };
        let names = set.keys().cloned().collect::<Vec<_>>().join(", ");
        ProfileSet::new(self.default_profile.clone(), set).with_context(|| {
            format!(
                "directories.{area}.default_profile: {:?} is not one of the area's profiles ({names})",
                self.default_profile
            )
        })
    }
}

impl ProfileSection {
    fn parse(
        &self,
        area: &str,
        name: &str,
        area_policy: &IssuancePolicy,
        area_types: &[IdentifierType],
    ) -> anyhow::Result<Profile> {
        let key = |k: &str| format!("directories.{area}.profiles.{name}.{k}");
        if !valid_profile_name(name) {
            bail!(
                "directories.{area}.profiles.{name}: a profile name uses only a-z, 0-9 and '-', \
                 at most {} characters",
                basalt_server::MAX_PROFILE_NAME_LEN
            );
        }
        if self.description.trim().is_empty() {
            bail!(
                "{}: required (clients see it in meta.profiles)",
                key("description")
            );
        }
        let extended_key_usages =
            parse_all::<ExtendedKeyUsage>(&self.extended_key_usages, &key("extended_key_usages"))?;
        let key_usages = parse_all::<KeyUsage>(&self.key_usages, &key("key_usages"))?;
        if !key_usages.contains(&KeyUsage::DigitalSignature) {
            bail!(
                "{}: digitalSignature is required (TLS handshakes with (EC)DHE and client \
                 authentication sign with the key)",
                key("key_usages")
            );
        }
        let lifetime = self
            .certificate_lifetime
            .unwrap_or(area_policy.certificate_lifetime);
        let max = self
            .max_certificate_lifetime
            .unwrap_or(area_policy.max_certificate_lifetime);
        if lifetime < Duration::from_secs(60) {
            bail!(
                "{}: must be at least one minute",
                key("certificate_lifetime")
            );
        }
        if lifetime > max {
            bail!(
                "{}: {} is longer than max_certificate_lifetime ({})",
                key("certificate_lifetime"),
                humantime::format_duration(lifetime),
                humantime::format_duration(max)
            );
        }
        let identifier_types = match &self.identifier_types {
            None => area_types.to_vec(),
            Some(types) => {
                let types = types
                    .iter()
                    .map(|t| {
                        let parsed = IdentifierType::parse(t).with_context(|| {
                            format!(
                                "{}: {t:?} is not an identifier type (dns, ip)",
                                key("identifier_types")
                            )
                        })?;
                        if !area_types.contains(&parsed) {
                            bail!(
                                "{}: {t:?} is not among the area's names.identifier_types",
                                key("identifier_types")
                            );
                        }
                        Ok(parsed)
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                if types.is_empty() {
                    bail!("{}: at least one type is required", key("identifier_types"));
                }
                types
            }
        };
        Ok(Profile {
            description: self.description.trim().to_owned(),
            leaf: Arc::new(LeafProfile {
                name: name.to_owned(),
                extended_key_usages,
                key_usages,
                common_name: self.common_name,
                crl_distribution_point: self.crl_distribution_point,
            }),
            certificate_lifetime: self.certificate_lifetime,
            max_certificate_lifetime: self.max_certificate_lifetime,
            identifier_types,
        })
    }
}

/// Each entry parsed, duplicates dropped; empty is an error naming `key`.
fn parse_all<T>(entries: &[String], key: &str) -> anyhow::Result<Vec<T>>
where
    T: std::str::FromStr<Err = basalt_signer::UnknownUsage> + PartialEq,
{
    let mut out = Vec::new();
    for entry in entries {
        let parsed = entry
            .parse::<T>()
            .map_err(|e| anyhow::anyhow!("{key}: {e}"))?;
        if !out.contains(&parsed) {
            out.push(parsed);
        }
    }
    if out.is_empty() {
        bail!("{key}: at least one is required");
    }
    Ok(out)
}
