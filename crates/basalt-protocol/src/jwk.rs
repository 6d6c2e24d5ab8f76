//! Public JSON Web Keys (RFC 7517/7518/8037) as ACME accounts use them, and their RFC 7638
//! thumbprints.
//!
//! Only public keys are accepted: a JWK with private members is refused rather than having
//! them silently ignored (josekit would ignore them).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::error::JwsError;

/// Members that only a private (or symmetric) key has (RFC 7518 §6.2.2, §6.3.2, §6.4.1).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Smallest and largest RSA modulus accepted for account keys, in bits (Boulder's goodkey
/// accepts 2048, 3072 and 4096).
const RSA_MIN_BITS: usize = 2048;
const RSA_MAX_BITS: usize = 4096;

/// Elliptic curves of RFC 7518 §6.2.1.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EcCurve {
    P256,
    P384,
    P521,
}

impl EcCurve {
    pub fn name(self) -> &'static str {
        match self {
            Self::P256 => "P-256",
            Self::P384 => "P-384",
            Self::P521 => "P-521",
        }
    }

    /// Length in bytes of one coordinate.
    pub fn coordinate_len(self) -> usize {
        match self {
            Self::P256 => 32,
            Self::P384 => 48,
            Self::P521 => 66,
        }
    }

    fn parse(name: &str) -> Option<Self> {
        match name {
            "P-256" => Some(Self::P256),
            "P-384" => Some(Self::P384),
            "P-521" => Some(Self::P521),
            _ => None,
        }
    }
}

/// A public key, decoded. Byte fields hold the base64url-decoded members exactly as sent, so
/// the thumbprint matches the one the client computes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Jwk {
    /// RFC 7518 §6.2.
    Ec {
        curve: EcCurve,
        x: Vec<u8>,
        y: Vec<u8>,
    },
    /// RFC 7518 §6.3.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// RFC 8037 §2, Ed25519 only.
    Ed25519 { x: Vec<u8> },
}

impl Jwk {
    /// Parses a JWK JSON object, refusing private keys, unknown key types and curves, and
    /// sizes outside policy.
    pub fn from_json(value: &Value) -> Result<Self, JwsError> {
        let Some(map) = value.as_object() else {
            return Err(JwsError::BadJwk("the jwk is not a JSON object".into()));
        };
        if let Some(member) = PRIVATE_MEMBERS.iter().find(|m| map.contains_key(**m)) {
            return Err(JwsError::BadJwk(format!(
                "the jwk carries the private member {member:?}; send the public key only"
            )));
        }
        match str_member(map, "kty")? {
            "EC" => {
                let curve_name = str_member(map, "crv")?;
                let curve = EcCurve::parse(curve_name).ok_or_else(|| {
                    JwsError::BadPublicKey(format!("unsupported EC curve {curve_name:?}"))
                })?;
                let x = bytes_member(map, "x")?;
                let y = bytes_member(map, "y")?;
                let len = curve.coordinate_len();
                if x.len() != len || y.len() != len {
                    return Err(JwsError::BadPublicKey(format!(
                        "{} coordinates must be {len} bytes each",
                        curve.name()
                    )));
                }
                Ok(Self::Ec { curve, x, y })
            }
            "RSA" => {
                let n = bytes_member(map, "n")?;
                let e = bytes_member(map, "e")?;
                let bits = significant_bits(&n);
                if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
                    return Err(JwsError::BadPublicKey(format!(
                        "RSA keys must be {RSA_MIN_BITS} to {RSA_MAX_BITS} bits; this one has {bits}"
                    )));
                }
                if e.last().is_none_or(|b| b & 1 == 0) || significant_bits(&e) < 2 {
                    return Err(JwsError::BadPublicKey(
                        "the RSA public exponent must be odd and greater than 1".into(),
                    ));
                }
                Ok(Self::Rsa { n, e })
            }
            "OKP" => match str_member(map, "crv")? {
                "Ed25519" => {
                    let x = bytes_member(map, "x")?;
                    if x.len() != 32 {
                        return Err(JwsError::BadPublicKey(
                            "Ed25519 public keys are 32 bytes".into(),
                        ));
                    }
                    Ok(Self::Ed25519 { x })
                }
                other => Err(JwsError::BadPublicKey(format!(
                    "unsupported OKP curve {other:?}; only Ed25519 is accepted"
                ))),
            },
            "oct" => Err(JwsError::BadJwk(
                "symmetric (oct) keys cannot identify an account".into(),
            )),
            other => Err(JwsError::BadPublicKey(format!(
                "unsupported key type {other:?}; use EC, RSA or OKP (Ed25519)"
            ))),
        }
    }

    /// The public JWK as JSON with members in lexicographic order: also the RFC 7638 §3.2
    /// canonical input for the thumbprint.
    pub fn to_json(&self) -> String {
        let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
        match self {
            Self::Ec { curve, x, y } => format!(
                r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
                curve.name(),
                b64(x),
                b64(y)
            ),
            Self::Rsa { n, e } => {
                format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, b64(e), b64(n))
            }
            Self::Ed25519 { x } => format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, b64(x)),
        }
    }

    /// RFC 7638 §3: base64url(SHA-256(canonical JSON of the required members)).
    pub fn thumbprint(&self) -> String {
        let digest = ring::digest::digest(&ring::digest::SHA256, self.to_json().as_bytes());
        URL_SAFE_NO_PAD.encode(digest.as_ref())
    }

    /// The contents of the SubjectPublicKeyInfo BIT STRING for EC (uncompressed point) and
    /// Ed25519 keys; for RSA the (n, e) pair is compared instead by [`Jwk::same_rsa_key`].
    pub fn public_key_bytes(&self) -> Option<Vec<u8>> {
        match self {
            Self::Ec { x, y, .. } => {
                let mut point = Vec::with_capacity(1 + x.len() + y.len());
                point.push(0x04);
                point.extend_from_slice(x);
                point.extend_from_slice(y);
                Some(point)
            }
            Self::Ed25519 { x } => Some(x.clone()),
            Self::Rsa { .. } => None,
        }
    }

    /// True if this is an RSA key with the given modulus and exponent (leading zeros ignored).
    pub fn same_rsa_key(&self, n: &[u8], e: &[u8]) -> bool {
        match self {
            Self::Rsa {
                n: mine_n,
                e: mine_e,
            } => strip_zeros(mine_n) == strip_zeros(n) && strip_zeros(mine_e) == strip_zeros(e),
            _ => false,
        }
    }
}

pub(crate) fn strip_zeros(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    &b[start..]
}

fn significant_bits(b: &[u8]) -> usize {
    let b = strip_zeros(b);
    match b.first() {
        Some(first) => (b.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
        None => 0,
    }
}

fn str_member<'a>(map: &'a Map<String, Value>, name: &str) -> Result<&'a str, JwsError> {
    map.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| JwsError::BadJwk(format!("the jwk has no string member {name:?}")))
}

fn bytes_member(map: &Map<String, Value>, name: &str) -> Result<Vec<u8>, JwsError> {
    let text = str_member(map, name)?;
    URL_SAFE_NO_PAD.decode(text).map_err(|_| {
        JwsError::BadJwk(format!(
            "the jwk member {name:?} is not base64url without padding"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7638_section_3_1_example_thumbprint() {
        let jwk = serde_json::json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        let key = Jwk::from_json(&jwk).unwrap();
        assert_eq!(
            key.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn private_keys_are_refused() {
        let jwk = serde_json::json!({"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA","d":"AAAA"});
        assert!(matches!(Jwk::from_json(&jwk), Err(JwsError::BadJwk(m)) if m.contains("\"d\"")));
    }

    #[test]
    fn wrong_coordinate_lengths_and_curves_are_bad_public_keys() {
        let short = serde_json::json!({"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"});
        assert!(matches!(
            Jwk::from_json(&short),
            Err(JwsError::BadPublicKey(_))
        ));
        let curve = serde_json::json!({"kty":"EC","crv":"secp256k1","x":"AAAA","y":"AAAA"});
        assert!(matches!(
            Jwk::from_json(&curve),
            Err(JwsError::BadPublicKey(_))
        ));
        let small_rsa =
            serde_json::json!({"kty":"RSA","n": URL_SAFE_NO_PAD.encode([0xffu8; 128]),"e":"AQAB"});
        assert!(matches!(
            Jwk::from_json(&small_rsa),
            Err(JwsError::BadPublicKey(_))
        ));
    }
}
