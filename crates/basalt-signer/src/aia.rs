//! The Authority Information Access extension with one caIssuers URL (RFC 5280 §4.2.2.1),
//! so a client missing the intermediate can fetch it.
//!
//! rcgen has no AIA support, so the extension value is encoded here as DER and handed to rcgen
//! as a non-critical custom extension (§4.2.2.1: "This extension MUST be marked as
//! non-critical").

use rcgen::CustomExtension;

/// id-pe-authorityInfoAccess (RFC 5280 §4.2.2.1).
const OID_AUTHORITY_INFO_ACCESS: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 1, 1];
/// id-ad-caIssuers, 1.3.6.1.5.5.7.48.2, as DER content octets.
const OID_CA_ISSUERS: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x02];

/// DER tags used below.
const SEQUENCE: u8 = 0x30;
const OBJECT_IDENTIFIER: u8 = 0x06;
/// GeneralName uniformResourceIdentifier: [6] IMPLICIT IA5String (RFC 5280 §4.2.1.6).
const URI_TAG: u8 = 0x86;

/// The AIA extension naming `url` (already checked as ASCII by [`crate::uri::check_uri`]) as
/// the place to fetch the issuer's certificate.
pub(crate) fn ca_issuers_extension(url: &str) -> CustomExtension {
    // AuthorityInfoAccessSyntax ::= SEQUENCE SIZE (1..MAX) OF AccessDescription
    // AccessDescription ::= SEQUENCE { accessMethod OBJECT IDENTIFIER, accessLocation GeneralName }
    let access_description = tlv(
        SEQUENCE,
        &[
            tlv(OBJECT_IDENTIFIER, OID_CA_ISSUERS),
            tlv(URI_TAG, url.as_bytes()),
        ]
        .concat(),
    );
    let value = tlv(SEQUENCE, &access_description);
    let mut extension = CustomExtension::from_oid_content(OID_AUTHORITY_INFO_ACCESS, value);
    extension.set_criticality(false);
    extension
}

/// One DER tag-length-value with a definite length (X.690 §8.1.3: short form below 128,
/// otherwise the long form with the fewest length octets).
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let start = bytes
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(bytes.len() - 1);
        out.push(0x80 | (bytes.len() - start) as u8);
        out.extend_from_slice(&bytes[start..]);
    }
    out.extend_from_slice(content);
    out
}

#[cfg(test)]
mod tests {
    use x509_parser::extensions::{GeneralName, ParsedExtension, X509Extension};
    use x509_parser::oid_registry::OID_PKIX_ACCESS_DESCRIPTOR_CA_ISSUERS;
    use x509_parser::prelude::FromDer;

    use super::*;

    /// The extension as a certificate holds it: extnID, critical (DEFAULT FALSE, so absent),
    /// extnValue OCTET STRING.
    fn parse_back(url: &str) -> (bool, Vec<(String, String)>) {
        let extension = ca_issuers_extension(url);
        let oid = tlv(
            OBJECT_IDENTIFIER,
            &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x01],
        );
        let der = tlv(SEQUENCE, &[oid, tlv(0x04, extension.content())].concat());
        let (rest, parsed) = X509Extension::from_der(&der).unwrap();
        assert!(rest.is_empty());
        let ParsedExtension::AuthorityInfoAccess(aia) = parsed.parsed_extension() else {
            panic!("not parsed as AIA: {:?}", parsed.parsed_extension());
        };
        let descriptions = aia
            .accessdescs
            .iter()
            .map(|d| {
                let GeneralName::URI(uri) = &d.access_location else {
                    panic!("not a URI: {:?}", d.access_location);
                };
                (d.access_method.to_id_string(), uri.to_string())
            })
            .collect();
        (extension.criticality(), descriptions)
    }

    #[test]
    fn x509_parser_reads_back_one_ca_issuers_uri_non_critical() {
        let url = "http://ca.test:8080/intermediates/0123abcd.crt";
        let (critical, descriptions) = parse_back(url);
        assert!(!critical);
        assert_eq!(
            descriptions,
            [(
                OID_PKIX_ACCESS_DESCRIPTOR_CA_ISSUERS.to_id_string(),
                url.to_owned()
            )]
        );
    }

    #[test]
    fn long_urls_use_long_form_lengths() {
        // Over 127 and over 255 octets: one and two length octets.
        for len in [200, 300, 70_000] {
            let url = format!("http://ca.test/{}", "a".repeat(len));
            let (_, descriptions) = parse_back(&url);
            assert_eq!(descriptions[0].1, url);
        }
        assert_eq!(tlv(0x04, &[0; 200])[..3], [0x04, 0x81, 200]);
        assert_eq!(tlv(0x04, &[0; 300])[..4], [0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(tlv(0x04, &[])[..], [0x04, 0x00]);
    }
}
