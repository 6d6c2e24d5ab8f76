//! SubjectPublicKeyInfo → JWK, so a CSR's or certificate's key can be compared with an
//! account key by RFC 7638 thumbprint.
//!
//! Shared by CSR checks (RFC 8555 §7.4: the CSR key must not be the account key) and revocation
//! (RFC 8555 §7.6: a request signed by the certificate's own key). Only the key types a JWK can
//! carry are decoded; whether a key is *acceptable* is `key_policy`'s business.

use basalt_protocol::Jwk;
use basalt_protocol::jwk::EcCurve;
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_NIST_EC_P521,
    OID_PKCS1_RSAENCRYPTION, OID_SIG_ED25519,
};
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;
use x509_parser::x509::SubjectPublicKeyInfo;

use crate::Error;
use crate::encoding::magnitude;

/// Why an SPKI could not be turned into a JWK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SpkiError {
    /// The DER is broken.
    Malformed(String),
    /// Well-formed, but a key type or curve a JWK here cannot describe.
    Unsupported(String),
}

/// The public key of a DER SubjectPublicKeyInfo as a [`Jwk`] (RSA `n` and `e` without
/// leading zero bytes, as RFC 7518 §6.3.1 requires for the thumbprint to match the client's).
pub fn public_key_jwk(spki_der: &[u8]) -> Result<Jwk, Error> {
    let spki = match SubjectPublicKeyInfo::from_der(spki_der) {
        Ok(([], spki)) => spki,
        Ok(_) => {
            return Err(Error::Certificate(
                "trailing bytes after the public key".into(),
            ));
        }
        Err(e) => return Err(Error::Certificate(format!("bad public key: {e}"))),
    };
    jwk_from_spki(&spki).map_err(|e| match e {
        SpkiError::Malformed(why) | SpkiError::Unsupported(why) => Error::Certificate(why),
    })
}

/// [`public_key_jwk`] for an SPKI x509-parser already parsed.
pub(crate) fn jwk_from_spki(spki: &SubjectPublicKeyInfo<'_>) -> Result<Jwk, SpkiError> {
    let algorithm = &spki.algorithm.algorithm;
    if *algorithm == OID_KEY_TYPE_EC_PUBLIC_KEY {
        ec_jwk(spki)
    } else if *algorithm == OID_PKCS1_RSAENCRYPTION {
        rsa_jwk(spki)
    } else if *algorithm == OID_SIG_ED25519 {
        // RFC 8410 §3: the parameters MUST be absent.
        if spki.algorithm.parameters.is_some() {
            return Err(SpkiError::Malformed(
                "an Ed25519 key must not carry algorithm parameters".into(),
            ));
        }
        let x = spki.subject_public_key.data.to_vec();
        if x.len() != 32 {
            return Err(SpkiError::Malformed(format!(
                "an Ed25519 public key is 32 bytes, this one {}",
                x.len()
            )));
        }
        Ok(Jwk::Ed25519 { x })
    } else {
        Err(SpkiError::Unsupported(format!(
            "key algorithm {} is not supported; use ECDSA P-256 or P-384, RSA, or Ed25519",
            algorithm.to_id_string()
        )))
    }
}

/// RFC 5480 §2.1.1: id-ecPublicKey with a named curve; §2.2: the point as an OCTET STRING.
fn ec_jwk(spki: &SubjectPublicKeyInfo<'_>) -> Result<Jwk, SpkiError> {
    let curve_oid = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .ok_or_else(|| {
            SpkiError::Malformed("an EC key must name its curve (RFC 5480 §2.1.1)".into())
        })?;
    let curve = if curve_oid == OID_EC_P256 {
        EcCurve::P256
    } else if curve_oid == OID_NIST_EC_P384 {
        EcCurve::P384
    } else if curve_oid == OID_NIST_EC_P521 {
        EcCurve::P521
    } else {
        return Err(SpkiError::Unsupported(format!(
            "EC curve {} is not supported; use P-256 or P-384",
            curve_oid.to_id_string()
        )));
    };
    let point: &[u8] = &spki.subject_public_key.data;
    let len = curve.coordinate_len();
    // SEC 1 §2.3.3: 0x04 || X || Y is the uncompressed form; a JWK needs both coordinates.
    match point.split_first() {
        Some((0x04, xy)) if xy.len() == 2 * len => Ok(Jwk::Ec {
            curve,
            x: xy[..len].to_vec(),
            y: xy[len..].to_vec(),
        }),
        Some((0x02 | 0x03, _)) => Err(SpkiError::Unsupported(
            "compressed EC points are not supported; send the uncompressed point".into(),
        )),
        _ => Err(SpkiError::Malformed(format!(
            "the {} point has the wrong encoding or length",
            curve.name()
        ))),
    }
}

/// RFC 8017 §A.1.1: RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }.
fn rsa_jwk(spki: &SubjectPublicKeyInfo<'_>) -> Result<Jwk, SpkiError> {
    let Ok(PublicKey::RSA(key)) = spki.parsed() else {
        return Err(SpkiError::Malformed(
            "the RSA public key is not valid DER".into(),
        ));
    };
    // DER INTEGERs are two's complement: a set top bit without a 0x00 pad is negative.
    if key.modulus.first().is_none_or(|b| b & 0x80 != 0)
        || key.exponent.first().is_none_or(|b| b & 0x80 != 0)
    {
        return Err(SpkiError::Malformed(
            "the RSA modulus or exponent is negative or empty".into(),
        ));
    }
    Ok(Jwk::Rsa {
        n: magnitude(key.modulus).to_vec(),
        e: magnitude(key.exponent).to_vec(),
    })
}
