//! The names a CSR asks for, and the rule that they are exactly the order's identifiers.
//!
//! RFC 8555 §7.4: the CSR "MUST indicate the exact same set of requested identifiers as the
//! initial newOrder request". Names are compared canonically: DNS names lower-cased without one
//! trailing dot, IP addresses as addresses (so `2001:DB8::1` and `2001:db8:0::1` are equal).

use std::fmt;
use std::net::IpAddr;

use basalt_protocol::{Identifier, IdentifierType};
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::cri_attributes::ParsedCriAttribute;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::oid_registry::OID_X509_EXT_SUBJECT_ALT_NAME;

use crate::csr::CsrError;

/// One name, in the form names are compared in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Name {
    Dns(String),
    Ip(IpAddr),
}

impl Name {
    fn dns(raw: &str) -> Self {
        Self::Dns(raw.strip_suffix('.').unwrap_or(raw).to_ascii_lowercase())
    }

    /// A subject CN may hold a DNS name or an IP address literal (RFC 8738 §7 lets CAs put an
    /// IP identifier in the CN).
    fn from_common_name(raw: &str) -> Self {
        match raw.parse::<IpAddr>() {
            Ok(ip) => Self::Ip(ip),
            Err(_) => Self::dns(raw),
        }
    }

    fn from_identifier(identifier: &Identifier) -> Result<Self, CsrError> {
        match identifier.identifier_type() {
            IdentifierType::Dns => Ok(Self::dns(identifier.value())),
            IdentifierType::Ip => identifier.value().parse().map(Self::Ip).map_err(|_| {
                CsrError::UnsupportedName(format!(
                    "the IP identifier {:?}, which is not an IP address",
                    identifier.value()
                ))
            }),
        }
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dns(name) => f.write_str(name),
            Self::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// What a CSR asks to be certified.
#[derive(Debug, Default)]
pub(crate) struct RequestedNames {
    /// SAN dNSName and iPAddress entries in CSR order (or the CN alone if there is no SAN).
    pub(crate) names: Vec<Name>,
    pub(crate) common_name: Option<Name>,
}

/// Collects the SAN entries of every extensionRequest attribute (RFC 2985 §5.4.2) and the
/// subject CN. Any other name type is refused rather than silently dropped.
pub(crate) fn requested_names(
    csr: &X509CertificationRequest<'_>,
) -> Result<RequestedNames, CsrError> {
    let mut common_names = csr.certification_request_info.subject.iter_common_name();
    let common_name = match (common_names.next(), common_names.next()) {
        (None, _) => None,
        (Some(cn), None) => Some(Name::from_common_name(cn.as_str().map_err(|_| {
            CsrError::Unparseable("the subject common name is not a string".into())
        })?)),
        (Some(_), Some(_)) => {
            return Err(CsrError::UnsupportedName(
                "several subject common names; send at most one".into(),
            ));
        }
    };

    let mut san: Option<Vec<Name>> = None;
    for attribute in csr.certification_request_info.iter_attributes() {
        let ParsedCriAttribute::ExtensionRequest(request) = attribute.parsed_attribute() else {
            continue;
        };
        for extension in &request.extensions {
            if extension.oid != OID_X509_EXT_SUBJECT_ALT_NAME {
                // Other requested extensions (TLS Feature, KU, EKU, …) are tolerated and
                // ignored: the certificate profile is the CA's decision.
                continue;
            }
            let ParsedExtension::SubjectAlternativeName(names) = extension.parsed_extension()
            else {
                return Err(CsrError::Unparseable(
                    "the subjectAltName extension is malformed".into(),
                ));
            };
            let collected = san.get_or_insert_with(Vec::new);
            for general_name in &names.general_names {
                collected.push(san_name(general_name)?);
            }
        }
    }

    // RFC 8555 §7.4 allows a CSR with no SAN whose CN is the only name (older clients do this).
    let names = san.unwrap_or_else(|| common_name.iter().cloned().collect());
    Ok(RequestedNames { names, common_name })
}

fn san_name(name: &GeneralName<'_>) -> Result<Name, CsrError> {
    let unsupported = |what: String| Err(CsrError::UnsupportedName(what));
    match name {
        GeneralName::DNSName(dns) => Ok(Name::dns(dns)),
        // RFC 5280 §4.2.1.6: four octets for IPv4, sixteen for IPv6.
        GeneralName::IPAddress(bytes) => match *bytes {
            &[a, b, c, d] => Ok(Name::Ip(IpAddr::from([a, b, c, d]))),
            _ => match <[u8; 16]>::try_from(*bytes) {
                Ok(v6) => Ok(Name::Ip(IpAddr::from(v6))),
                Err(_) => Err(CsrError::Unparseable(format!(
                    "an iPAddress name is {} bytes long; it must be 4 or 16",
                    bytes.len()
                ))),
            },
        },
        GeneralName::RFC822Name(email) => unsupported(format!("the email address {email}")),
        GeneralName::URI(uri) => unsupported(format!("the URI {uri}")),
        GeneralName::DirectoryName(dn) => unsupported(format!("the directory name {dn}")),
        GeneralName::OtherName(oid, _) => unsupported(format!("an otherName of type {oid}")),
        GeneralName::RegisteredID(oid) => unsupported(format!("the registered ID {oid}")),
        GeneralName::X400Address(_) => unsupported("an X.400 address".into()),
        GeneralName::EDIPartyName(_) => unsupported("an EDI party name".into()),
        GeneralName::Invalid(..) => Err(CsrError::Unparseable(
            "a subjectAltName entry is malformed".into(),
        )),
    }
}

/// RFC 8555 §7.4: the SAN set must equal the identifier set (duplicates on either side are
/// harmless), and a CN, if any, must be one of the identifiers.
pub(crate) fn check_names(
    requested: &RequestedNames,
    identifiers: &[Identifier],
) -> Result<(), CsrError> {
    let wanted = identifiers
        .iter()
        .map(Name::from_identifier)
        .collect::<Result<Vec<_>, _>>()?;

    let extra = distinct(requested.names.iter().filter(|n| !wanted.contains(n)));
    if !extra.is_empty() {
        return Err(CsrError::ExtraNames(extra));
    }
    let missing = distinct(wanted.iter().filter(|n| !requested.names.contains(n)));
    if !missing.is_empty() {
        return Err(CsrError::MissingNames(missing));
    }
    if let Some(cn) = &requested.common_name
        && !wanted.contains(cn)
    {
        return Err(CsrError::CommonNameNotInNames(cn.to_string()));
    }
    Ok(())
}

/// The names' texts, first occurrence order, without repeats.
fn distinct<'a>(names: impl Iterator<Item = &'a Name>) -> Vec<String> {
    let mut texts: Vec<String> = Vec::new();
    for name in names {
        let text = name.to_string();
        if !texts.contains(&text) {
            texts.push(text);
        }
    }
    texts
}
