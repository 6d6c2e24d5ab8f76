//! What an ACME leaf carries besides its names and validity: the certificate profile of
//! draft-ietf-acme-profiles, as the signer applies it (the server decides which one).

use std::fmt;
use std::str::FromStr;

use rcgen::{ExtendedKeyUsagePurpose, KeyUsagePurpose};

/// An extended key usage a profile may grant (RFC 5280 §4.2.1.12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ExtendedKeyUsage {
    /// id-kp-serverAuth: TLS servers.
    ServerAuth,
    /// id-kp-clientAuth: TLS clients (mutual TLS).
    ClientAuth,
}

impl ExtendedKeyUsage {
    pub const ALL: [Self; 2] = [Self::ServerAuth, Self::ClientAuth];

    /// The name used in basalt.toml and logs (RFC 5280's ASN.1 names).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ServerAuth => "serverAuth",
            Self::ClientAuth => "clientAuth",
        }
    }

    pub(crate) fn purpose(self) -> ExtendedKeyUsagePurpose {
        match self {
            Self::ServerAuth => ExtendedKeyUsagePurpose::ServerAuth,
            Self::ClientAuth => ExtendedKeyUsagePurpose::ClientAuth,
        }
    }
}

/// A key usage a profile may grant (RFC 5280 §4.2.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyUsage {
    /// Signatures in (EC)DHE handshakes and client authentication.
    DigitalSignature,
    /// TLS 1.2 RSA key exchange. Applied to RSA subject keys only: for an EC or Ed25519 key
    /// it would claim an operation the key cannot do (RFC 8813 §3, RFC 8410 §5).
    KeyEncipherment,
}

impl KeyUsage {
    pub const ALL: [Self; 2] = [Self::DigitalSignature, Self::KeyEncipherment];

    /// The name used in basalt.toml and logs (RFC 5280's ASN.1 names).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DigitalSignature => "digitalSignature",
            Self::KeyEncipherment => "keyEncipherment",
        }
    }

    pub(crate) fn purpose(self) -> KeyUsagePurpose {
        match self {
            Self::DigitalSignature => KeyUsagePurpose::DigitalSignature,
            Self::KeyEncipherment => KeyUsagePurpose::KeyEncipherment,
        }
    }
}

/// A name that is neither usage; the message lists the accepted ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownUsage(pub String);

impl fmt::Display for UnknownUsage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UnknownUsage {}

impl FromStr for ExtendedKeyUsage {
    type Err = UnknownUsage;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        by_name(s, Self::ALL, Self::as_str, "extended key usage")
    }
}

impl FromStr for KeyUsage {
    type Err = UnknownUsage;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        by_name(s, Self::ALL, Self::as_str, "key usage")
    }
}

/// The one of `all` whose `name` is `s`, or an error listing the names.
fn by_name<T: Copy>(
    s: &str,
    all: [T; 2],
    name: fn(T) -> &'static str,
    what: &str,
) -> Result<T, UnknownUsage> {
    all.into_iter().find(|u| name(*u) == s).ok_or_else(|| {
        UnknownUsage(format!(
            "{s:?} is not a {what} ({})",
            all.map(name).join(", ")
        ))
    })
}

/// The extensions of one profile's leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafProfile {
    /// The profile's name, for the audit log.
    pub name: String,
    /// Non-empty.
    pub extended_key_usages: Vec<ExtendedKeyUsage>,
    /// Non-empty; `KeyEncipherment` applies to RSA subject keys only.
    pub key_usages: Vec<KeyUsage>,
    /// Copy the CSR's CN into the subject (when it fits and the name constraints allow);
    /// off: an empty subject, the names in the SAN only (RFC 5280 §4.1.2.6).
    pub common_name: bool,
    /// Link the intermediate's CRL (RFC 5280 §4.2.1.13) when the area has one.
    pub crl_distribution_point: bool,
}

impl LeafProfile {
    /// The leaf basalt issued before profiles existed: serverAuth and clientAuth,
    /// digitalSignature (and keyEncipherment for RSA keys), the CSR's CN, the CRL linked.
    pub fn acme_default(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            extended_key_usages: ExtendedKeyUsage::ALL.to_vec(),
            key_usages: KeyUsage::ALL.to_vec(),
            common_name: true,
            crl_distribution_point: true,
        }
    }

    /// The key usages a leaf for this subject key gets.
    pub(crate) fn key_usages_for(&self, is_rsa: bool) -> Vec<KeyUsagePurpose> {
        self.key_usages
            .iter()
            .filter(|u| is_rsa || **u != KeyUsage::KeyEncipherment)
            .map(|u| u.purpose())
            .collect()
    }
}
