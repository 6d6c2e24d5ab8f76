//! PKCS#11 `CKM_ECDSA` returns the signature as r ‖ s (PKCS#11 v2.40 §2.3.1, each as wide as
//! the curve's order); X.509 wants the DER `Ecdsa-Sig-Value` (RFC 5480 §2.2.3, RFC 3279
//! §2.2.3): SEQUENCE { r INTEGER, s INTEGER }.

use crate::encoding::magnitude;

/// r ‖ s (two halves of equal length) → DER `Ecdsa-Sig-Value`.
pub(crate) fn ecdsa_sig_value(raw: &[u8]) -> Result<Vec<u8>, String> {
    if raw.is_empty() || !raw.len().is_multiple_of(2) || raw.len() > 2 * 66 {
        return Err(format!(
            "the token returned a {}-byte ECDSA signature, not r ‖ s",
            raw.len()
        ));
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    let mut body = integer(r);
    body.extend(integer(s));
    let mut out = vec![0x30];
    out.extend(length(body.len()));
    out.extend(body);
    Ok(out)
}

/// A positive DER INTEGER (X.690 §8.3): minimal, with a zero octet before a set high bit.
fn integer(unsigned: &[u8]) -> Vec<u8> {
    let value = magnitude(unsigned);
    let value = if value.is_empty() { &[0][..] } else { value };
    let pad = value[0] & 0x80 != 0;
    let mut out = vec![0x02];
    out.extend(length(value.len() + usize::from(pad)));
    if pad {
        out.push(0);
    }
    out.extend_from_slice(value);
    out
}

/// DER definite length (X.690 §8.1.3); signatures stay below 256 bytes.
fn length(len: usize) -> Vec<u8> {
    match u8::try_from(len) {
        Ok(short) if short < 0x80 => vec![short],
        Ok(long) => vec![0x81, long],
        Err(_) => vec![0x82, (len >> 8) as u8, len as u8],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_r_and_s_as_minimal_positive_integers() {
        let mut raw = vec![0u8; 64];
        raw[0] = 0x80; // r needs a leading zero octet
        raw[31] = 1;
        raw[63] = 0x7f; // s = 0x7f: one byte after the zeros are stripped
        let der = ecdsa_sig_value(&raw).unwrap();
        assert_eq!(&der[..5], &[0x30, 4 + 33 + 1, 0x02, 33, 0x00]);
        assert_eq!(&der[der.len() - 3..], &[0x02, 1, 0x7f]);
        assert_eq!(der.len(), 2 + 2 + 33 + 3);
    }

    #[test]
    fn an_all_zero_half_is_the_integer_zero_and_odd_input_is_refused() {
        let der = ecdsa_sig_value(&[0, 0, 0, 5]).unwrap();
        assert_eq!(der, vec![0x30, 6, 0x02, 1, 0, 0x02, 1, 5]);
        assert!(ecdsa_sig_value(&[1, 2, 3]).is_err());
        assert!(ecdsa_sig_value(&[]).is_err());
    }

    #[test]
    fn ring_verifies_a_converted_p384_signature() {
        use ring::rand::SystemRandom;
        use ring::signature::{
            ECDSA_P384_SHA384_ASN1, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _,
        };
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &rng).unwrap();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        for _ in 0..20 {
            let fixed = key.sign(&rng, b"message").unwrap();
            let der = ecdsa_sig_value(fixed.as_ref()).unwrap();
            ring::signature::UnparsedPublicKey::new(
                &ECDSA_P384_SHA384_ASN1,
                key.public_key().as_ref(),
            )
            .verify(b"message", &der)
            .unwrap();
        }
    }
}
