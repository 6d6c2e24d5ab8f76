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

/// RSA modulus sizes accepted for account and certificate keys, in bits: Boulder's goodkey
/// allows exactly these, and CA/B Forum BR §6.1.5 requires at least 2048.
pub const RSA_MODULUS_BITS: [usize; 3] = [2048, 3072, 4096];

/// The one RSA public exponent accepted (CA/B Forum BR §6.1.6 allows odd e ≥ 3; Boulder's
/// goodkey, which basalt follows, requires 65537).
pub const RSA_PUBLIC_EXPONENT: u32 = 65_537;

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

/// A public key, decoded. Byte fields hold the base64url-decoded members; RSA `n` and `e` are
/// big-endian integers, and every constructor here leaves them minimal (no leading zero
/// octets), so one key has one JSON form, one thumbprint and one account.
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
    /// Parses a JWK a client sent, refusing private keys, unknown key types and curves,
    /// non-minimal RSA integers, and RSA keys outside [`check_rsa_key`].
    pub fn from_json(value: &Value) -> Result<Self, JwsError> {
        let key = Self::parse(value)?;
        if let Self::Rsa { n, e } = &key {
            // RFC 7518 §6.3.1.1 and §6.3.1.2: n and e "MUST utilize the minimum number of
            // octets". A zero-padded copy of a key would otherwise get its own thumbprint, so
            // one key could hold several accounts and pass for a different key at finalize.
            for (member, value) in [("n", n), ("e", e)] {
                if value.first() == Some(&0) {
                    return Err(JwsError::BadPublicKey(format!(
                        "the RSA member {member:?} has leading zero octets; RFC 7518 §6.3.1 requires the minimal encoding"
                    )));
                }
            }
            check_rsa_key(n, e).map_err(JwsError::BadPublicKey)?;
        }
        Ok(key)
    }

    /// Parses a key basalt stored itself (an account's key), which passed [`Jwk::from_json`]
    /// under the policy of its day: the structure is checked again, the RSA policy is not
    /// (an older, wider policy must not lock an account out), and RSA integers are made
    /// minimal so the key compares equal to the same key from anywhere else.
    pub fn from_stored_json(value: &Value) -> Result<Self, JwsError> {
        Ok(match Self::parse(value)? {
            Self::Rsa { n, e } => Self::Rsa {
                n: strip_zeros(&n).to_vec(),
                e: strip_zeros(&e).to_vec(),
            },
            key => key,
        })
    }

    /// The structural checks shared by both constructors.
    fn parse(value: &Value) -> Result<Self, JwsError> {
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
            "RSA" => Ok(Self::Rsa {
                n: bytes_member(map, "n")?,
                e: bytes_member(map, "e")?,
            }),
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

    /// The public JWK as JSON with members in lexicographic order and RSA integers minimal:
    /// also the RFC 7638 §3.2 canonical input for the thumbprint, and the key's one canonical
    /// form (see [`Jwk::same_key`]).
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
                // RFC 7518 §6.3.1: minimal octets, even for a value built by hand.
                format!(
                    r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
                    b64(strip_zeros(e)),
                    b64(strip_zeros(n))
                )
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

    /// True if both are the same public key, compared by canonical form (RFC 7638 §3.2 JSON,
    /// RSA integers minimal): the one comparison for "is this the account key" (RFC 8555
    /// §11.1), "is this the certificate's key" (§7.6) and "is this key in use" (§7.3.5).
    pub fn same_key(&self, other: &Self) -> bool {
        self.to_json() == other.to_json()
    }
}

/// Boulder's goodkey RSA rules, for account keys (`badPublicKey`) and certificate keys
/// (`badCSR`) alike: a modulus of exactly 2048, 3072 or 4096 bits (CA/B Forum BR §6.1.5) and
/// the public exponent 65537 (BR §6.1.6). `n` and `e` are big-endian; leading zeros are
/// ignored here (encoding is the caller's check). The error is a sentence for the client.
pub fn check_rsa_key(n: &[u8], e: &[u8]) -> Result<(), String> {
    let bits = significant_bits(n);
    if !RSA_MODULUS_BITS.contains(&bits) {
        return Err(format!(
            "RSA keys must have a 2048-, 3072- or 4096-bit modulus; this one has {bits} bits"
        ));
    }
    if strip_zeros(e) != strip_zeros(&RSA_PUBLIC_EXPONENT.to_be_bytes()) {
        return Err(format!(
            "the RSA public exponent must be {RSA_PUBLIC_EXPONENT} (CA/B Forum BR §6.1.6)"
        ));
    }
    Ok(())
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

    /// The 2048-bit modulus of the RFC 7638 §3.1 example key.
    const RFC7638_N: &str = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

    fn rsa_jwk(n: &[u8], e: &[u8]) -> Value {
        serde_json::json!({"kty": "RSA", "n": URL_SAFE_NO_PAD.encode(n), "e": URL_SAFE_NO_PAD.encode(e)})
    }

    fn rfc7638_n() -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(RFC7638_N).unwrap()
    }

    #[test]
    fn rfc7638_section_3_1_example_thumbprint() {
        let jwk = serde_json::json!({
            "kty": "RSA",
            "n": RFC7638_N,
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

    #[test]
    fn rsa_members_with_leading_zero_octets_are_bad_public_keys() {
        // RFC 7518 §6.3.1.1/§6.3.1.2: one key, one encoding.
        let n = rfc7638_n();
        assert!(Jwk::from_json(&rsa_jwk(&n, &[1, 0, 1])).is_ok());
        let padded_n = [&[0u8][..], &n].concat();
        let padded_e = [0u8, 1, 0, 1];
        for (jwk, member) in [
            (rsa_jwk(&padded_n, &[1, 0, 1]), "\"n\""),
            (rsa_jwk(&n, &padded_e), "\"e\""),
            (rsa_jwk(&[&[0u8, 0][..], &n].concat(), &[1, 0, 1]), "\"n\""),
        ] {
            let err = Jwk::from_json(&jwk).unwrap_err();
            assert!(
                matches!(&err, JwsError::BadPublicKey(m) if m.contains(member) && m.contains("leading zero")),
                "{err:?}"
            );
        }
    }

    #[test]
    fn rsa_policy_is_65537_and_2048_3072_or_4096_bits() {
        let n = rfc7638_n();
        for e in [
            &[3u8][..],
            &[1],
            &[1, 0, 0, 1],
            &[1, 0, 1, 1],
            &[0x01, 0x00, 0x03],
        ] {
            let err = Jwk::from_json(&rsa_jwk(&n, e)).unwrap_err();
            assert!(
                matches!(&err, JwsError::BadPublicKey(m) if m.contains("65537")),
                "{e:?}: {err:?}"
            );
        }
        let modulus = |bits: usize| {
            let mut n = vec![0xffu8; bits.div_ceil(8)];
            n[0] = 0xff >> (n.len() * 8 - bits);
            n
        };
        for bits in [2048, 3072, 4096] {
            assert!(
                Jwk::from_json(&rsa_jwk(&modulus(bits), &[1, 0, 1])).is_ok(),
                "{bits}"
            );
        }
        for bits in [1024, 2047, 2049, 2560, 3071, 4095, 4097, 8192] {
            let err = Jwk::from_json(&rsa_jwk(&modulus(bits), &[1, 0, 1])).unwrap_err();
            assert!(
                matches!(&err, JwsError::BadPublicKey(m) if m.contains(&format!("{bits} bits"))),
                "{bits}: {err:?}"
            );
        }
    }

    #[test]
    fn keys_compare_and_thumbprint_by_canonical_form() {
        let n = rfc7638_n();
        let canonical = Jwk::from_json(&rsa_jwk(&n, &[1, 0, 1])).unwrap();
        // A stored key from before the encoding rule, and a value built by hand, both padded.
        let stored =
            Jwk::from_stored_json(&rsa_jwk(&[&[0u8][..], &n].concat(), &[0, 1, 0, 1])).unwrap();
        let by_hand = Jwk::Rsa {
            n: [&[0u8, 0][..], &n].concat(),
            e: vec![0, 1, 0, 1],
        };
        for other in [&stored, &by_hand] {
            assert!(canonical.same_key(other));
            assert_eq!(canonical.thumbprint(), other.thumbprint());
            assert_eq!(canonical.to_json(), other.to_json());
        }
        assert_eq!(stored, canonical);
        let other_key =
            Jwk::from_json(&rsa_jwk(&[&n[..255], &[n[255] ^ 2]].concat(), &[1, 0, 1])).unwrap();
        assert!(!canonical.same_key(&other_key));
    }

    #[test]
    fn stored_keys_skip_the_rsa_policy_but_not_the_structure() {
        // An account created under an older policy (e = 3) still authenticates.
        assert!(Jwk::from_stored_json(&rsa_jwk(&rfc7638_n(), &[3])).is_ok());
        let private = serde_json::json!({"kty":"RSA","n":RFC7638_N,"e":"AQAB","d":"AQAB"});
        assert!(Jwk::from_stored_json(&private).is_err());
    }
}
