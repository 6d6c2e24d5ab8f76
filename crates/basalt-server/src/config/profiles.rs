//! An area's certificate profiles (draft-ietf-acme-profiles): what a client may ask for with
//! `profile` in newOrder, and the shipped set an area without a `profiles` table offers.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use basalt_protocol::IdentifierType;
use basalt_signer::{ExtendedKeyUsage, KeyUsage, LeafProfile};

use super::IssuancePolicy;

/// The longest profile name: the width of `orders.profile` and `certificates.profile`.
pub const MAX_PROFILE_NAME_LEN: usize = 64;

/// The name of the shipped default profile (and of the profile of orders stored before
/// profiles existed, whose `profile` is NULL).
pub const DEFAULT_PROFILE: &str = "default";

/// One profile of an area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// `meta.profiles` value (draft-ietf-acme-profiles §3).
    pub description: String,
    /// What the signer puts in the leaf; shared, as finalize hands it to the signer.
    pub leaf: Arc<LeafProfile>,
    /// Default lifetime; `None`: the area's `certificate_lifetime`.
    pub certificate_lifetime: Option<Duration>,
    /// Longest lifetime notBefore/notAfter may ask for; `None`: the area's.
    pub max_certificate_lifetime: Option<Duration>,
    /// Identifier types the profile certifies (within the area's).
    pub identifier_types: Vec<IdentifierType>,
}

impl Profile {
    /// The area's issuance policy with this profile's lifetimes (policy/validity.rs works on
    /// the result).
    pub fn issuance_policy(&self, area: &IssuancePolicy) -> IssuancePolicy {
        IssuancePolicy {
            certificate_lifetime: self
                .certificate_lifetime
                .unwrap_or(area.certificate_lifetime),
            max_certificate_lifetime: self
                .max_certificate_lifetime
                .unwrap_or(area.max_certificate_lifetime),
            ..area.clone()
        }
    }

    fn shipped(
        name: &str,
        description: &str,
        extended_key_usages: &[ExtendedKeyUsage],
        lifetime: Option<Duration>,
    ) -> (String, Self) {
        let leaf = LeafProfile {
            name: name.to_owned(),
            extended_key_usages: extended_key_usages.to_vec(),
            ..LeafProfile::acme_default(name)
        };
        let profile = Self {
            description: description.to_owned(),
            leaf: Arc::new(leaf),
            certificate_lifetime: lifetime,
            max_certificate_lifetime: lifetime,
            identifier_types: vec![IdentifierType::Dns, IdentifierType::Ip],
        };
        (name.to_owned(), profile)
    }
}

/// The profiles of one area and which one an order without `profile` gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileSet {
    default: String,
    profiles: BTreeMap<String, Profile>,
}

/// How long the shipped `short` profile's certificates live.
const SHORT_LIFETIME: Duration = Duration::from_secs(6 * 3600);

impl ProfileSet {
    /// The profiles of an area without a `profiles` table: `default` (serverAuth and
    /// clientAuth, the area's lifetimes: what basalt issued before profiles), `tls-server`
    /// (serverAuth), `mtls-client` (clientAuth; digitalSignature only) and `short` (six
    /// hours, or the area's lifetime if that is shorter).
    pub fn shipped(area: &IssuancePolicy) -> Self {
        use ExtendedKeyUsage::{ClientAuth, ServerAuth};
        let short = SHORT_LIFETIME.min(area.certificate_lifetime);
        let (name, mut mtls) = Profile::shipped(
            "mtls-client",
            "Client certificates for mutual TLS (clientAuth only)",
            &[ClientAuth],
            None,
        );
        Arc::make_mut(&mut mtls.leaf).key_usages = vec![KeyUsage::DigitalSignature];
        let profiles = BTreeMap::from([
            Profile::shipped(
                DEFAULT_PROFILE,
                "TLS server and client certificates (serverAuth and clientAuth)",
                &[ServerAuth, ClientAuth],
                None,
            ),
            Profile::shipped(
                "tls-server",
                "TLS server certificates (serverAuth only)",
                &[ServerAuth],
                None,
            ),
            (name, mtls),
            Profile::shipped(
                "short",
                &format!(
                    "Short-lived TLS server and client certificates ({})",
                    humantime::format_duration(short)
                ),
                &[ServerAuth, ClientAuth],
                Some(short),
            ),
        ]);
        Self {
            default: DEFAULT_PROFILE.to_owned(),
            profiles,
        }
    }

    /// A configured set; `None` when `default` is not one of `profiles` or `profiles` is
    /// empty (the configuration reports which key).
    pub fn new(default: String, profiles: BTreeMap<String, Profile>) -> Option<Self> {
        profiles
            .contains_key(&default)
            .then_some(Self { default, profiles })
    }

    /// The profile an order without `profile` gets.
    pub fn default_name(&self) -> &str {
        &self.default
    }

    /// The profile called `name`, with the name as the set holds it.
    pub fn get(&self, name: &str) -> Option<(&str, &Profile)> {
        self.profiles
            .get_key_value(name)
            .map(|(n, p)| (n.as_str(), p))
    }

    /// Names and profiles, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Profile)> {
        self.profiles.iter().map(|(n, p)| (n.as_str(), p))
    }

    /// The names, comma-separated, for problem details.
    pub fn names(&self) -> String {
        self.profiles
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Whether `name` may name a profile: `[a-z0-9-]`, 1 to 64 characters (the draft allows any
/// string; basalt keeps names that fit the column and a URL or command line unquoted).
pub fn valid_profile_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_PROFILE_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}
