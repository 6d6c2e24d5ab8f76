//! The kinds of subject key basalt certifies, by name, so an area can limit them.
//!
//! The names are the ones `basalt.toml` (`key_types = [...]`) and the admin CLI use. The set is
//! exactly what [`crate::key_policy`] accepts: nothing outside it can be named.

use std::fmt;
use std::str::FromStr;

/// One accepted subject key type and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyType {
    EcdsaP256,
    EcdsaP384,
    Rsa2048,
    Rsa3072,
    Rsa4096,
    Ed25519,
}

impl KeyType {
    /// Every key type, in the order the documentation lists them (the default of an area).
    pub const ALL: [Self; 6] = [
        Self::EcdsaP256,
        Self::EcdsaP384,
        Self::Rsa2048,
        Self::Rsa3072,
        Self::Rsa4096,
        Self::Ed25519,
    ];

    /// The configuration name: `ecdsa-p256`, `ecdsa-p384`, `rsa-2048`, `rsa-3072`, `rsa-4096`,
    /// `ed25519`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EcdsaP256 => "ecdsa-p256",
            Self::EcdsaP384 => "ecdsa-p384",
            Self::Rsa2048 => "rsa-2048",
            Self::Rsa3072 => "rsa-3072",
            Self::Rsa4096 => "rsa-4096",
            Self::Ed25519 => "ed25519",
        }
    }

    /// The RSA key type for a modulus of exactly `bits` bits, if basalt certifies that size.
    pub(crate) fn rsa(bits: usize) -> Option<Self> {
        match bits {
            2048 => Some(Self::Rsa2048),
            3072 => Some(Self::Rsa3072),
            4096 => Some(Self::Rsa4096),
            _ => None,
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown key type name; the message lists the accepted ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown key type {0:?}; expected one of ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096, ed25519"
)]
pub struct UnknownKeyType(pub String);

impl FromStr for KeyType {
    type Err = UnknownKeyType;

    /// Exactly the names [`KeyType::as_str`] gives (lowercase, no aliases), so a
    /// configuration means the same thing wherever it is read.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownKeyType(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_nothing_else_parses() {
        for key_type in KeyType::ALL {
            assert_eq!(key_type.to_string().parse::<KeyType>(), Ok(key_type));
        }
        assert_eq!(
            KeyType::ALL.map(KeyType::as_str),
            [
                "ecdsa-p256",
                "ecdsa-p384",
                "rsa-2048",
                "rsa-3072",
                "rsa-4096",
                "ed25519"
            ]
        );
        for bad in [
            "ECDSA-P256",
            "p256",
            "rsa",
            "rsa-1024",
            "ecdsa-p521",
            "",
            " ed25519",
        ] {
            let err = bad.parse::<KeyType>().unwrap_err();
            assert!(err.to_string().contains("rsa-3072"), "{err}");
        }
    }
}
