//! Reading certificates basalt issued: fingerprints, serials, keys, PEM.
//!
//! Revocation (RFC 8555 §7.6) needs a certificate's serial and key; `init` prints the root's
//! fingerprint so operators can check what they install against a second channel.

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

use basalt_protocol::Jwk;

use crate::Error;
use crate::serial::serial_text;
use crate::spki::public_key_jwk;

/// SHA-256 over the DER, as `openssl x509 -noout -fingerprint -sha256` prints it: uppercase
/// hex pairs separated by colons.
pub fn sha256_fingerprint(der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    digest
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// A certificate's serial (in the form of `IssuedCertificate::serial`) and subject public key,
/// for revocation requests signed with the certificate's own key.
pub fn certificate_serial_and_key(der: &[u8]) -> Result<(String, Jwk), Error> {
    let cert = parse_certificate(der)?;
    let serial = serial_text(cert.raw_serial());
    let key = public_key_jwk(cert.public_key().raw)?;
    Ok((serial, key))
}

/// A certificate's notAfter and key id (hex SKI, like [`crate::Issuer::key_id`]; empty when
/// it has none): what the server's metrics report of the root.
pub fn certificate_expiry_and_key_id(der: &[u8]) -> Result<(OffsetDateTime, String), Error> {
    let cert = parse_certificate(der)?;
    let key_id = cert
        .extensions()
        .iter()
        .find_map(|ext| match ext.parsed_extension() {
            x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(ski) => {
                Some(ski.0.iter().map(|b| format!("{b:02x}")).collect::<String>())
            }
            _ => None,
        })
        .unwrap_or_default();
    Ok((cert.validity().not_after.to_datetime(), key_id))
}

/// The DER of every CERTIFICATE block in `pem`, in order; other blocks are skipped. No
/// certificate at all is an error, since every caller expects at least one.
pub fn pem_to_der(pem: &str) -> Result<Vec<Vec<u8>>, Error> {
    let ders = CertificateDer::pem_slice_iter(pem.as_bytes())
        .map(|cert| cert.map(|c| c.to_vec()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::Certificate(format!("bad PEM: {e}")))?;
    if ders.is_empty() {
        return Err(Error::Certificate("no CERTIFICATE block in the PEM".into()));
    }
    Ok(ders)
}

/// RFC 7468 §5 PEM of one DER certificate, LF line endings, 64-character lines.
pub(crate) fn certificate_pem(der: &[u8]) -> String {
    pkcs8::der::pem::encode_string("CERTIFICATE", pkcs8::der::pem::LineEnding::LF, der)
        // Encoding into a String only fails for an invalid label, and this one is constant.
        .unwrap_or_default()
}

/// The one certificate in a PEM file, or why there is not exactly one.
pub(crate) fn single_certificate(pem: &str) -> Result<Vec<u8>, String> {
    let mut ders = pem_to_der(pem).map_err(|e| e.to_string())?;
    match ders.len() {
        1 => Ok(ders.remove(0)),
        n => Err(format!("expected one certificate, found {n}")),
    }
}

/// The subject public key bits (the SPKI BIT STRING contents) of a DER certificate: what a
/// key pair's public half must equal for the pair to belong to the certificate.
pub(crate) fn public_key_bits(cert_der: &[u8]) -> Result<Vec<u8>, Error> {
    let cert = parse_certificate(cert_der)?;
    Ok(cert.public_key().subject_public_key.data.to_vec())
}

/// Parses a DER certificate, refusing trailing bytes.
pub(crate) fn parse_certificate(der: &[u8]) -> Result<X509Certificate<'_>, Error> {
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        Ok(_) => Err(Error::Certificate(
            "trailing bytes after the certificate".into(),
        )),
        Err(e) => Err(Error::Certificate(format!("not a DER certificate: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_uppercase_colon_hex() {
        // SHA-256 of the empty string.
        assert_eq!(
            sha256_fingerprint(b""),
            "E3:B0:C4:42:98:FC:1C:14:9A:FB:F4:C8:99:6F:B9:24:27:AE:41:E4:64:9B:93:4C:A4:95:99:1B:78:52:B8:55"
        );
    }

    #[test]
    fn pem_without_certificates_is_an_error() {
        assert!(pem_to_der("").is_err());
        assert!(
            pem_to_der("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").is_err()
        );
    }
}
