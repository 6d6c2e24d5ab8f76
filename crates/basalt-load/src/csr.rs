//! The finalize CSR (RFC 8555 §7.4, RFC 2986): a fresh ECDSA P-256 key per order, the
//! ordered names as SANs, and the first name as CN.
//!
//! The key is new for every order because certificates for one key can be revoked together;
//! reusing it would also let a server skip work a real client would make it do.

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, PKCS_ECDSA_P256_SHA256};

use crate::error::Error;

/// DER of a CSR for `names` (at least one). The private key is dropped: the load generator
/// never uses the certificate.
pub(crate) fn csr_der(names: &[String]) -> Result<Vec<u8>, Error> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(Error::Csr)?;
    let mut params = CertificateParams::new(names.to_vec()).map_err(Error::Csr)?;
    // rcgen's default subject is "rcgen self signed cert"; CAs accept only a CN that is one
    // of the order's names.
    let mut subject = DistinguishedName::new();
    if let Some(first) = names.first() {
        subject.push(DnType::CommonName, first.as_str());
    }
    params.distinguished_name = subject;
    let request = params.serialize_request(&key).map_err(Error::Csr)?;
    Ok(request.der().to_vec())
}

#[cfg(test)]
mod tests {
    use x509_parser::certification_request::X509CertificationRequest;
    use x509_parser::extensions::{GeneralName, ParsedExtension};
    use x509_parser::prelude::FromDer;

    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn csr_holds_the_names_a_p256_key_and_a_valid_signature() {
        let ordered = names(&["a.load.test", "b.load.test", "c.load.test"]);
        let der = csr_der(&ordered).unwrap();
        let (_, csr) = X509CertificationRequest::from_der(&der).unwrap();
        csr.verify_signature().unwrap();

        let sans: Vec<&str> = csr
            .requested_extensions()
            .unwrap()
            .filter_map(|ext| match ext {
                ParsedExtension::SubjectAlternativeName(san) => Some(san),
                _ => None,
            })
            .flat_map(|san| san.general_names.iter())
            .filter_map(|name| match name {
                GeneralName::DNSName(dns) => Some(*dns),
                _ => None,
            })
            .collect();
        assert_eq!(sans, ["a.load.test", "b.load.test", "c.load.test"]);

        let info = &csr.certification_request_info;
        let cn: Vec<&str> = info
            .subject
            .iter_common_name()
            .map(|cn| cn.as_str().unwrap())
            .collect();
        assert_eq!(cn, ["a.load.test"]);
        // id-ecPublicKey with the prime256v1 curve parameter.
        assert_eq!(
            info.subject_pki.algorithm.algorithm.to_id_string(),
            "1.2.840.10045.2.1"
        );
        let curve = info.subject_pki.algorithm.parameters.as_ref().unwrap();
        assert_eq!(
            curve.as_oid().unwrap().to_id_string(),
            "1.2.840.10045.3.1.7"
        );
    }

    #[test]
    fn every_order_gets_a_fresh_key() {
        let ordered = names(&["a.load.test"]);
        let fresh_public_key = || {
            X509CertificationRequest::from_der(&csr_der(&ordered).unwrap())
                .unwrap()
                .1
                .certification_request_info
                .subject_pki
                .subject_public_key
                .data
                .to_vec()
        };
        assert_ne!(fresh_public_key(), fresh_public_key());
    }
}
