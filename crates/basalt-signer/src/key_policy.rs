//! Which subject keys basalt certifies (in the spirit of Boulder's goodkey).
//!
//! ECDSA P-256 and P-384, RSA with a 2048-, 3072- or 4096-bit modulus and exponent 65537, and
//! Ed25519: what current TLS stacks verify and ring can check a CSR signature with. P-521 is
//! refused because ring cannot verify it. The RSA rule is the one account keys follow
//! (`basalt_protocol::jwk::check_rsa_key`; CA/B Forum BR §6.1.5, §6.1.6).

use basalt_protocol::Jwk;
use basalt_protocol::jwk::{EcCurve, check_rsa_key};

use crate::KeyType;
use crate::encoding::magnitude;

/// The key's [`KeyType`] if `key` may be certified, else a sentence saying why not and what
/// to use instead.
pub(crate) fn check_key_policy(key: &Jwk) -> Result<KeyType, String> {
    match key {
        Jwk::Ec {
            curve: EcCurve::P256,
            ..
        } => Ok(KeyType::EcdsaP256),
        Jwk::Ec {
            curve: EcCurve::P384,
            ..
        } => Ok(KeyType::EcdsaP384),
        Jwk::Ed25519 { .. } => Ok(KeyType::Ed25519),
        Jwk::Ec {
            curve: EcCurve::P521,
            ..
        } => Err("P-521 keys are not accepted; use P-256, P-384, RSA or Ed25519".into()),
        Jwk::Rsa { n, e } => {
            check_rsa_key(n, e)?;
            let bits = significant_bits(n);
            KeyType::rsa(bits).ok_or_else(|| format!("RSA keys of {bits} bits are not accepted"))
        }
    }
}

/// The bit length of a big-endian unsigned integer.
fn significant_bits(n: &[u8]) -> usize {
    let n = magnitude(n);
    n.first()
        .map_or(0, |first| n.len() * 8 - first.leading_zeros() as usize)
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
        assert_eq!(
            check_key_policy(&rsa(2048, &[1, 0, 1])),
            Ok(KeyType::Rsa2048)
        );
        assert_eq!(
            check_key_policy(&rsa(3072, &[1, 0, 1])),
            Ok(KeyType::Rsa3072)
        );
        assert_eq!(
            check_key_policy(&rsa(4096, &[1, 0, 1])),
            Ok(KeyType::Rsa4096)
        );
        // A sign octet in front of the modulus does not make it longer.
        let mut padded = rsa(2048, &[1, 0, 1]);
        if let Jwk::Rsa { n, .. } = &mut padded {
            n.insert(0, 0);
        }
        assert_eq!(check_key_policy(&padded), Ok(KeyType::Rsa2048));
        assert!(check_key_policy(&rsa(2047, &[1, 0, 1])).is_err());
        assert!(check_key_policy(&rsa(2049, &[1, 0, 1])).is_err());
        assert!(check_key_policy(&rsa(3000, &[1, 0, 1])).is_err());
        assert!(check_key_policy(&rsa(4097, &[1, 0, 1])).is_err());
        assert!(check_key_policy(&rsa(1024, &[1, 0, 1])).is_err());
    }

    #[test]
    fn rsa_exponent_must_be_65537() {
        // CA/B Forum BR §6.1.6 allows any odd e ≥ 3; Boulder's goodkey, 65537 only.
        assert!(check_key_policy(&rsa(2048, &[0, 1, 0, 1])).is_ok());
        for e in [
            &[3u8][..],
            &[1],
            &[1, 0, 0],
            &[1, 0, 0, 1],
            &[0x01, 0x00, 0x03],
        ] {
            let err = check_key_policy(&rsa(2048, e)).unwrap_err();
            assert!(err.contains("65537"), "{e:?}: {err}");
        }
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
