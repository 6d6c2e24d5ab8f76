//! Which subject keys basalt certifies (in the spirit of Boulder's goodkey).
//!
//! ECDSA P-256 and P-384, RSA with a 2048–4096-bit modulus, and Ed25519: what current TLS
//! stacks verify and ring can check a CSR signature with. P-521 is refused because ring cannot
//! verify it; RSA under 2048 bits because it is breakable (CA/B Forum BR §6.1.5).

use basalt_protocol::Jwk;
use basalt_protocol::jwk::EcCurve;

use crate::encoding::magnitude;

/// Smallest and largest accepted RSA modulus, in bits.
const RSA_BITS: std::ops::RangeInclusive<usize> = 2048..=4096;

/// `Ok` if `key` may be certified, else a sentence saying why not and what to use instead.
pub(crate) fn check_key_policy(key: &Jwk) -> Result<(), String> {
    match key {
        Jwk::Ec {
            curve: EcCurve::P256 | EcCurve::P384,
            ..
        }
        | Jwk::Ed25519 { .. } => Ok(()),
        Jwk::Ec {
            curve: EcCurve::P521,
            ..
        } => Err("P-521 keys are not accepted; use P-256, P-384, RSA or Ed25519".into()),
        Jwk::Rsa { n, e } => {
            let bits = bit_length(n);
            if !RSA_BITS.contains(&bits) {
                return Err(format!(
                    "RSA keys must have a {}- to {}-bit modulus; this one has {bits} bits",
                    RSA_BITS.start(),
                    RSA_BITS.end()
                ));
            }
            // RFC 8017 §3.1: e is odd and at least 3.
            if e.last().is_none_or(|b| b & 1 == 0) || bit_length(e) < 2 {
                return Err("the RSA public exponent must be odd and at least 3".into());
            }
            Ok(())
        }
    }
}

/// Number of significant bits in an unsigned big-endian integer.
fn bit_length(bytes: &[u8]) -> usize {
    let value = magnitude(bytes);
    match value.first() {
        Some(first) => value.len() * 8 - first.leading_zeros() as usize,
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rsa(bits: usize, e: &[u8]) -> Jwk {
        let mut n = vec![0xffu8; bits.div_ceil(8)];
        n[0] = 0xff >> (n.len() * 8 - bits);
        Jwk::Rsa { n, e: e.to_vec() }
    }

    #[test]
    fn rsa_modulus_is_counted_in_bits_not_bytes() {
        assert!(check_key_policy(&rsa(2048, &[1, 0, 1])).is_ok());
        assert!(check_key_policy(&rsa(4096, &[1, 0, 1])).is_ok());
        assert!(check_key_policy(&rsa(2047, &[1, 0, 1])).is_err());
        assert!(check_key_policy(&rsa(4097, &[1, 0, 1])).is_err());
        assert!(check_key_policy(&rsa(1024, &[1, 0, 1])).is_err());
    }

    #[test]
    fn rsa_exponent_must_be_odd_and_above_one() {
        assert!(check_key_policy(&rsa(2048, &[3])).is_ok());
        assert!(check_key_policy(&rsa(2048, &[1])).is_err());
        assert!(check_key_policy(&rsa(2048, &[1, 0, 0])).is_err());
    }

    #[test]
    fn p521_is_refused() {
        let key = Jwk::Ec {
            curve: EcCurve::P521,
            x: vec![0; 66],
            y: vec![0; 66],
        };
        assert!(check_key_policy(&key).unwrap_err().contains("P-521"));
    }
}
