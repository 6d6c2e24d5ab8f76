//! Accepting a client's CSR at finalize (RFC 8555 §7.4): parse, verify, apply key policy and
//! match its names against the order.
//!
//! Parsed with x509-parser, not rcgen's CSR parser: rcgen refuses any extension it does not know
//! (certbot's must-staple TLS Feature) and would copy requested KU/EKU into the certificate,
//! which a CA must decide itself. Nothing from the CSR but its key, its names and its CN
//! reaches the certificate.

use basalt_protocol::{Identifier, Jwk};
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::error::X509Error;
use x509_parser::oid_registry::Oid;
use x509_parser::prelude::FromDer;

use crate::KeyType;
use crate::csr_names::{check_names, requested_names};
use crate::key_policy::check_key_policy;
use crate::spki::{SpkiError, jwk_from_spki};

/// A CSR that passed every check, reduced to what issuance needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedCsr {
    /// The subject public key as DER SubjectPublicKeyInfo, to be certified as is.
    pub spki_der: Vec<u8>,
    /// The same key as a JWK, so the server can refuse a CSR for the account key itself
    /// (RFC 8555 §11.1) by comparing thumbprints.
    pub public_key: Jwk,
    /// The subject CN, normalised like an identifier, if the CSR had one. It is always one of
    /// the order's identifiers.
    pub common_name: Option<String>,
    /// RSA keys also get keyEncipherment (RFC 5280 §4.2.1.3), for TLS 1.2 RSA key exchange.
    pub is_rsa: bool,
    /// Decided by the key policy; private so it always agrees with `public_key`.
    key_type: KeyType,
}

impl CheckedCsr {
    /// The subject key's type, for an area's `key_types` rule.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }
}

/// Why a CSR was refused. The texts are written for the ACME client's operator: they end up in
/// the `badCSR` problem's detail (RFC 8555 §7.4).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsrError {
    /// Not a DER PKCS#10 request (RFC 2986), or trailing bytes after it.
    #[error("the CSR is not a valid DER PKCS#10 request: {0}")]
    Unparseable(String),

    /// The self-signature does not verify with the CSR's own key (RFC 2986 §3: it proves
    /// possession of the private key).
    #[error(
        "the CSR's signature does not verify with the public key it contains; sign it with that key"
    )]
    BadSignature,

    /// Signed with SHA-1 or MD5, or with an algorithm basalt cannot verify.
    #[error(
        "the CSR is signed with {0}, which basalt does not accept; sign it with ECDSA, RSA (PKCS#1 v1.5 or PSS) or Ed25519 using SHA-256 or stronger"
    )]
    WeakSignatureAlgorithm(String),

    /// Order identifiers the CSR does not name: RFC 8555 §7.4 wants exactly the order's names.
    #[error("the order contains {}, which the CSR does not list; request exactly the order's identifiers", list(.0))]
    MissingNames(Vec<String>),

    /// Names in the CSR that the order does not contain, so were never validated.
    #[error("the CSR lists {}, which the order does not contain", list(.0))]
    ExtraNames(Vec<String>),

    /// The subject common name is not one of the order's identifiers.
    #[error(
        "the CSR's common name {0} is not one of the order's identifiers; use one of them or leave the subject empty"
    )]
    CommonNameNotInNames(String),

    /// The subject key is of a type or size basalt does not certify.
    #[error("the CSR's public key is not accepted: {0}")]
    KeyPolicy(String),

    /// The CSR asks for a kind of name basalt does not certify (email, URI, several CNs, …).
    #[error("the CSR asks for {0}; basalt certifies only DNS names and IP addresses")]
    UnsupportedName(String),
}

/// "a", "a and b", "a, b and c": names in an error, as a sentence.
fn list(names: &[String]) -> String {
    match names {
        [] => "no names".to_owned(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Checks a finalize CSR against the order's identifiers (already normalised by
/// `Identifier::parse`).
pub fn check_csr(der: &[u8], identifiers: &[Identifier]) -> Result<CheckedCsr, CsrError> {
    let csr = match X509CertificationRequest::from_der(der) {
        Ok(([], csr)) => csr,
        Ok(_) => {
            return Err(CsrError::Unparseable(
                "there are trailing bytes after the request".into(),
            ));
        }
        Err(e) => return Err(CsrError::Unparseable(e.to_string())),
    };

    let algorithm = &csr.signature_algorithm.algorithm;
    if let Some(name) = weak_algorithm_name(algorithm) {
        return Err(CsrError::WeakSignatureAlgorithm(name.to_owned()));
    }

    // Key policy before the signature: ring cannot verify P-521 or RSA under 2048 bits, and
    // "key not accepted" is the useful answer for those, not "bad signature".
    let spki = &csr.certification_request_info.subject_pki;
    let public_key = jwk_from_spki(spki).map_err(|e| match e {
        SpkiError::Malformed(why) => CsrError::Unparseable(why),
        SpkiError::Unsupported(why) => CsrError::KeyPolicy(why),
    })?;
    let key_type = check_key_policy(&public_key).map_err(CsrError::KeyPolicy)?;

    // RFC 2986 §3: the signature proves possession of the key being certified.
    csr.verify_signature().map_err(|e| match e {
        X509Error::SignatureUnsupportedAlgorithm => {
            CsrError::WeakSignatureAlgorithm(algorithm.to_id_string())
        }
        _ => CsrError::BadSignature,
    })?;

    let requested = requested_names(&csr)?;
    check_names(&requested, identifiers)?;

    Ok(CheckedCsr {
        spki_der: spki.raw.to_vec(),
        is_rsa: matches!(public_key, Jwk::Rsa { .. }),
        key_type,
        public_key,
        common_name: requested.common_name.map(|cn| cn.to_string()),
    })
}

/// Names for signature algorithms refused outright. x509-parser's `verify_signature` still
/// accepts sha1WithRSAEncryption, so SHA-1 (SHAttered, 2017) and older are filtered here.
fn weak_algorithm_name(oid: &Oid<'_>) -> Option<&'static str> {
    match oid.to_id_string().as_str() {
        "1.2.840.113549.1.1.2" => Some("md2WithRSAEncryption"),
        "1.2.840.113549.1.1.4" => Some("md5WithRSAEncryption"),
        "1.2.840.113549.1.1.5" => Some("sha1WithRSAEncryption"),
        "1.3.14.3.2.29" => Some("sha1WithRSAEncryption (OIW)"),
        "1.2.840.10045.4.1" => Some("ecdsa-with-SHA1"),
        "1.2.840.10040.4.3" => Some("dsa-with-SHA1"),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
