//! Checks the downloaded chain (RFC 8555 §7.4.2): its first certificate must be a leaf for
//! exactly the ordered names.

use std::collections::BTreeSet;

use x509_parser::extensions::GeneralName;
use x509_parser::pem::Pem;

/// `Ok` if the first PEM block is a certificate whose DNS SANs are exactly `names`
/// (compared case-insensitively, order ignored); otherwise why not.
pub(crate) fn check_leaf(chain_pem: &[u8], names: &[String]) -> Result<(), String> {
    let first = Pem::iter_from_buffer(chain_pem)
        .next()
        .ok_or("the body holds no PEM block")?
        .map_err(|e| format!("unreadable PEM: {e}"))?;
    if first.label != "CERTIFICATE" {
        return Err(format!(
            "the first PEM block is {:?}, not CERTIFICATE",
            first.label
        ));
    }
    let leaf = first
        .parse_x509()
        .map_err(|e| format!("the leaf does not parse: {e}"))?;
    let san = leaf
        .subject_alternative_name()
        .map_err(|e| format!("the leaf's subjectAltName does not parse: {e}"))?
        .ok_or("the leaf has no subjectAltName")?;
    let got: BTreeSet<String> = san
        .value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some(dns.to_ascii_lowercase()),
            _ => None,
        })
        .collect();
    let wanted: BTreeSet<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
    if got == wanted {
        Ok(())
    } else {
        Err(format!("the leaf names {got:?}, the order {wanted:?}"))
    }
}

#[cfg(test)]
mod tests {
    use rcgen::{CertificateParams, KeyPair};

    use super::*;

    fn pem_for(names: &[&str]) -> String {
        let key = KeyPair::generate().unwrap();
        let params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
                .unwrap();
        params.self_signed(&key).unwrap().pem()
    }

    fn owned(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn matching_names_in_any_order_and_case_pass() {
        let chain = pem_for(&["b.load.test", "A.load.test"]) + &pem_for(&["issuer.test"]);
        assert_eq!(
            check_leaf(chain.as_bytes(), &owned(&["a.load.test", "b.load.test"])),
            Ok(())
        );
    }

    #[test]
    fn a_missing_or_extra_name_fails() {
        let chain = pem_for(&["a.load.test"]);
        let error =
            check_leaf(chain.as_bytes(), &owned(&["a.load.test", "b.load.test"])).unwrap_err();
        assert!(error.contains("b.load.test"), "{error}");
        let chain = pem_for(&["a.load.test", "evil.test"]);
        assert!(check_leaf(chain.as_bytes(), &owned(&["a.load.test"])).is_err());
    }

    #[test]
    fn a_body_without_certificates_fails() {
        assert!(check_leaf(b"not pem", &owned(&["a.load.test"])).is_err());
    }
}
