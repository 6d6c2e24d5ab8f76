//! Signing end-entity certificates: ACME leaves under their profile, and basalt's own serving
//! certificate.
//!
//! Nothing is taken from the CSR but its key and CN: SANs exactly the order's identifiers;
//! KU, EKU, whether the CN is kept and whether the CRL is linked come from the order's
//! [`LeafProfile`] (draft-ietf-acme-profiles); basicConstraints CA:FALSE, SKI, AKI always.

use std::fmt::Write as _;

use basalt_protocol::{Identifier, IdentifierType};
use rcgen::{
    CertificateParams, CrlDistributionPoint, DistinguishedName, DnType, ExtendedKeyUsagePurpose,
    IsCa, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PublicKeyData, SanType,
};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::Error;
use crate::aia::ca_issuers_extension;
use crate::csr::CheckedCsr;
use crate::inspect::certificate_pem;
use crate::issuer::Issuer;
use crate::key_id::key_identifier;
use crate::leaf_profile::LeafProfile;
use crate::serial::Serial;
use crate::signing_key::{clear_token_failure, signing_error};
use crate::uri::check_uri;
use crate::validity::{BACKDATE, truncate_to_seconds};

/// RFC 5280 Appendix A.1: ub-common-name. A longer name stays in the SAN only.
const MAX_COMMON_NAME_LEN: usize = 64;

/// A finalize request the server has already authorised: every identifier is validated and
/// the CSR was checked against them with [`crate::check_csr`].
#[derive(Debug, Clone)]
pub struct IssueRequest<'a> {
    /// The serial, drawn (and recorded) by the caller before signing, so every serial this
    /// key ever signs is known beforehand.
    pub serial: &'a Serial,
    pub csr: &'a CheckedCsr,
    pub identifiers: &'a [Identifier],
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// Where this intermediate's CRL is served: the leaf's CRL Distribution Points
    /// (RFC 5280 §4.2.1.13), if the profile links it. `None` leaves the extension out.
    pub crl_url: Option<&'a str>,
    /// Where this intermediate's certificate is served: the leaf's Authority Information
    /// Access caIssuers (RFC 5280 §4.2.2.1). `None` leaves the extension out.
    pub ca_issuers_url: Option<&'a str>,
    /// The order's profile: EKUs, KUs, CN, CRL link (draft-ietf-acme-profiles §4).
    pub profile: &'a LeafProfile,
}

/// A signed leaf, ready to store and serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCertificate {
    pub der: Vec<u8>,
    /// RFC 8555 §7.4.2 `application/pem-certificate-chain`: the leaf, then the intermediate;
    /// CERTIFICATE blocks only.
    pub chain_pem: String,
    /// Lowercase hex of the serial's value (no sign octet), the form used for storage, logs
    /// and revocation lookups.
    pub serial: String,
    /// The validity exactly as encoded (whole seconds, UTC).
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

/// A certificate and fresh key for basalt's own HTTPS listener.
#[derive(Debug, Clone)]
pub struct ServingCertificate {
    /// The leaf, then the intermediate.
    pub chain_pem: String,
    /// The fresh P-256 key (PKCS#8 PEM), sealed under this intermediate beside `chain_pem`:
    /// safe to store where replicas share it; [`Issuer::open_serving_key`] opens it. The key
    /// never leaves this crate in the clear except into the TLS stack.
    pub sealed_key: String,
    pub serial: String,
    pub not_after: OffsetDateTime,
}

/// What differs between the two leaf kinds.
struct Leaf<'a> {
    names: &'a [Identifier],
    common_name: Option<&'a str>,
    key_usages: Vec<KeyUsagePurpose>,
    extended_key_usages: Vec<ExtendedKeyUsagePurpose>,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    crl_url: Option<&'a str>,
    ca_issuers_url: Option<&'a str>,
    profile: &'a str,
}

impl Issuer {
    /// Signs the leaf for a finalized order (RFC 8555 §7.4). Audit events are logged before
    /// signing (intent) and after (outcome), as Boulder's CA does.
    pub fn issue(&self, request: &IssueRequest<'_>) -> Result<IssuedCertificate, Error> {
        let subject_key = rcgen::SubjectPublicKeyInfo::from_der(&request.csr.spki_der)
            .map_err(|e| Error::Signing(format!("the CSR key cannot be certified: {e}")))?;
        let profile = request.profile;
        if profile.extended_key_usages.is_empty() || profile.key_usages.is_empty() {
            return Err(Error::Signing(format!(
                "profile {}: a leaf needs at least one key usage and extended key usage",
                profile.name
            )));
        }
        let leaf = Leaf {
            names: request.identifiers,
            common_name: request
                .csr
                .common_name
                .as_deref()
                .filter(|_| profile.common_name)
                .filter(|cn| self.may_carry_common_name(cn)),
            key_usages: profile.key_usages_for(request.csr.is_rsa),
            extended_key_usages: profile
                .extended_key_usages
                .iter()
                .map(|u| u.purpose())
                .collect(),
            not_before: truncate_to_seconds(request.not_before),
            not_after: truncate_to_seconds(request.not_after),
            crl_url: request.crl_url.filter(|_| profile.crl_distribution_point),
            ca_issuers_url: request.ca_issuers_url,
            profile: &profile.name,
        };
        self.sign_leaf(&leaf, &subject_key, request.serial)
    }

    /// Signs a certificate for basalt's own TLS listener with a fresh P-256 key: serverAuth only,
    /// empty subject, valid from a minute before `now` until `lifetime` after it. `now` comes
    /// from the caller's clock, so renewal decisions and validity agree.
    pub fn issue_serving_certificate(
        &self,
        names: &[Identifier],
        lifetime: std::time::Duration,
        now: OffsetDateTime,
    ) -> Result<ServingCertificate, Error> {
        let key = Zeroizing::new(
            KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
                .map_err(|e| Error::Signing(e.to_string()))?,
        );
        let now = truncate_to_seconds(now);
        let lifetime = time::Duration::try_from(lifetime)
            .map_err(|_| Error::Signing("the serving certificate lifetime is too long".into()))?;
        let leaf = Leaf {
            names,
            common_name: None,
            // RFC 5280 §4.2.1.3: a P-256 key signs (EC)DHE handshakes.
            key_usages: vec![KeyUsagePurpose::DigitalSignature],
            extended_key_usages: vec![ExtendedKeyUsagePurpose::ServerAuth],
            not_before: now - BACKDATE,
            not_after: truncate_to_seconds(now + lifetime),
            crl_url: None,
            ca_issuers_url: None,
            profile: "serving",
        };
        let issued = self.sign_leaf(&leaf, &*key, &Serial::random()?)?;
        let key_pem = Zeroizing::new(key.serialize_pem());
        let sealed_key = self.serving_key_seal.seal(&issued.chain_pem, &key_pem)?;
        Ok(ServingCertificate {
            sealed_key,
            chain_pem: issued.chain_pem,
            serial: issued.serial,
            not_after: issued.not_after,
        })
    }

    /// Opens a serving key sealed by [`Issuer::issue_serving_certificate`] (of this
    /// intermediate, beside `chain_pem`) into PKCS#8 PEM for the TLS stack. Anything else is
    /// [`Error::SealedKey`].
    pub fn open_serving_key(
        &self,
        chain_pem: &str,
        sealed_key: &str,
    ) -> Result<Zeroizing<String>, Error> {
        self.serving_key_seal.open(chain_pem, sealed_key)
    }

    /// Whether the CSR's CN may go into the subject. OpenSSL checks the CN of a leaf without
    /// a dNSName against the issuer's dNSName constraints as if it were one
    /// (`NAME_CONSTRAINTS_check_CN`), so under a permitted dNSName subtree an IP-only leaf
    /// with `CN=192.0.2.1` fails to verify although its SAN is permitted. Under name
    /// constraints an IP address stays in the SAN only (RFC 5280 §4.2.1.6: the SAN is where
    /// names belong; the CN is optional).
    fn may_carry_common_name(&self, cn: &str) -> bool {
        self.name_constraints().is_none() || cn.parse::<std::net::IpAddr>().is_err()
    }

    fn sign_leaf(
        &self,
        leaf: &Leaf<'_>,
        subject_key: &impl PublicKeyData,
        serial: &Serial,
    ) -> Result<IssuedCertificate, Error> {
        let mut params = leaf_params(leaf, serial)?;
        // RFC 5280 §4.2.1.2: the SKI, by RFC 7093 §2 method 1.
        params.key_identifier_method = key_identifier(subject_key);
        let names = leaf
            .names
            .iter()
            .map(|n| n.value())
            .collect::<Vec<_>>()
            .join(",");
        tracing::info!(
            target: "basalt::audit",
            issuer = %self.subject(),
            cert.serial = %serial.text(),
            cert.names = %names,
            cert.profile = leaf.profile,
            cert.not_before = %leaf.not_before,
            cert.not_after = %leaf.not_after,
            "signing certificate"
        );
        clear_token_failure();
        let signed = match params.signed_by(subject_key, &self.rcgen) {
            Ok(signed) => signed,
            Err(e) => {
                // Nothing was signed: a token failure is worth a retry (TokenUnavailable).
                let error = signing_error(&e);
                tracing::error!(
                    target: "basalt::audit",
                    error = %error,
                    cert.serial = %serial.text(),
                    "signing certificate failed"
                );
                return Err(error);
            }
        };
        tracing::info!(
            target: "basalt::audit",
            issuer = %self.subject(),
            cert.serial = %serial.text(),
            cert.sha256 = %crate::sha256_fingerprint(signed.der()),
            "signed certificate"
        );
        let mut chain_pem = certificate_pem(signed.der());
        let _ = write!(chain_pem, "{}", self.chain_pem());
        Ok(IssuedCertificate {
            der: signed.der().to_vec(),
            chain_pem,
            serial: serial.text(),
            not_before: leaf.not_before,
            not_after: leaf.not_after,
        })
    }
}

/// The leaf profile, for ACME leaves and serving certificates alike.
fn leaf_params(leaf: &Leaf<'_>, serial: &Serial) -> Result<CertificateParams, Error> {
    if leaf.names.is_empty() {
        return Err(Error::Signing(
            "a certificate needs at least one name".into(),
        ));
    }
    if leaf.not_after <= leaf.not_before {
        return Err(Error::Signing(format!(
            "notAfter {} is not after notBefore {}",
            leaf.not_after, leaf.not_before
        )));
    }
    let mut params = CertificateParams::default();
    params.serial_number = Some(serial.to_rcgen());
    params.not_before = leaf.not_before;
    params.not_after = leaf.not_after;

    // RFC 5280 §4.1.2.6: the subject may be empty when the names are in the SAN; rcgen then
    // marks the SAN critical, as §4.2.1.6 requires. This replaces rcgen's default CN.
    let mut subject = DistinguishedName::new();
    if let Some(cn) = leaf.common_name
        && cn.len() <= MAX_COMMON_NAME_LEN
    {
        subject.push(DnType::CommonName, cn);
    }
    params.distinguished_name = subject;

    // RFC 5280 §4.2.1.6: dNSName and iPAddress, in the order's order.
    params.subject_alt_names = leaf.names.iter().map(san).collect::<Result<Vec<_>, _>>()?;

    // RFC 5280 §4.2.1.3: digitalSignature for (EC)DHE handshakes; keyEncipherment only for
    // RSA keys, which TLS 1.2 RSA key exchange uses (`LeafProfile::key_usages_for`). rcgen
    // marks keyUsage critical.
    params.key_usages = leaf.key_usages.clone();
    // RFC 5280 §4.2.1.12.
    params.extended_key_usages = leaf.extended_key_usages.clone();
    // RFC 5280 §4.2.1.9: basicConstraints cA FALSE (critical). ExplicitNoCa also makes rcgen
    // write the SKI (§4.2.1.2), which NoCa would leave out.
    params.is_ca = IsCa::ExplicitNoCa;
    // RFC 5280 §4.2.1.1: AKI = the intermediate's SKI, taken from its certificate.
    params.use_authority_key_identifier_extension = true;
    // RFC 5280 §4.2.1.13: one distribution point, fullName = the URL (rcgen: non-critical).
    if let Some(url) = leaf.crl_url {
        check_uri(url).map_err(|e| Error::Signing(format!("the CRL URL: {e}")))?;
        params.crl_distribution_points = vec![CrlDistributionPoint {
            uris: vec![url.to_owned()],
        }];
    }
    // RFC 5280 §4.2.2.1, non-critical.
    if let Some(url) = leaf.ca_issuers_url {
        check_uri(url).map_err(|e| Error::Signing(format!("the caIssuers URL: {e}")))?;
        params.custom_extensions.push(ca_issuers_extension(url));
    }
    Ok(params)
}

fn san(identifier: &Identifier) -> Result<SanType, Error> {
    let bad = |why: String| Error::Signing(format!("identifier {identifier}: {why}"));
    match identifier.identifier_type() {
        IdentifierType::Dns => identifier
            .value()
            .try_into()
            .map(SanType::DnsName)
            .map_err(|e| bad(format!("{e}"))),
        IdentifierType::Ip => identifier
            .value()
            .parse()
            .map(SanType::IpAddress)
            .map_err(|e| bad(format!("{e}"))),
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod profile_tests;
