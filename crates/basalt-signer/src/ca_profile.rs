//! The certificate profiles of basalt's own CAs: the root and each directory's intermediate.
//!
//! Kept apart from `init` so the profile can be read (and reviewed against RFC 5280) in one
//! place, and reused when intermediates are rotated.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyUsagePurpose, PublicKeyData,
};

use crate::key_id::key_identifier;
use crate::serial::Serial;
use crate::validity::{BACKDATE, add_years, now_seconds};
use crate::{Error, NameConstraints};

/// Root validity: ten years. It signs only intermediates, offline.
const ROOT_YEARS: i32 = 10;
/// Intermediate validity: five years, well inside the root's.
const INTERMEDIATE_YEARS: i32 = 5;

/// Subject of the root: `CN=basalt Root CA <suffix>, O=<organization>`. The random suffix keeps
/// two installations from ever sharing a DN, so a client trusting both never confuses them.
pub(crate) fn root_params(
    organization: &str,
    suffix: &str,
    key: &impl PublicKeyData,
) -> Result<CertificateParams, Error> {
    let mut params = ca_params(
        organization,
        &format!("basalt Root CA {suffix}"),
        ROOT_YEARS,
        key,
    )?;
    // RFC 5280 §4.2.1.9: cA TRUE, critical; no pathLenConstraint, so the root can certify
    // intermediates that certify leaves.
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    // RFC 5280 §4.2.1.3: keyCertSign and cRLSign for a CA, critical (rcgen marks KU critical).
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    // RFC 5280 §4.2.1.1 lets a self-signed certificate omit the AKI, but pkilint's chain
    // linter reports its absence as an error and the CA/B Forum BRs recommend it for roots;
    // it repeats the SKI (rcgen uses the pre-specified identifier for both).
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}

/// Subject of an intermediate: `CN=basalt <directory> Intermediate CA <suffix>, O=<organization>`.
/// `name_constraints`, when given and not empty, become its nameConstraints extension.
pub(crate) fn intermediate_params(
    organization: &str,
    directory: &str,
    suffix: &str,
    key: &impl PublicKeyData,
    name_constraints: Option<&NameConstraints>,
) -> Result<CertificateParams, Error> {
    let mut params = ca_params(
        organization,
        &format!("basalt {directory} Intermediate CA {suffix}"),
        INTERMEDIATE_YEARS,
        key,
    )?;
    // RFC 5280 §4.2.1.9: pathLenConstraint 0, so it can sign only end-entity certificates.
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    // digitalSignature as well as the CA bits, for OCSP responses signed directly by it.
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ];
    // An EKU on the intermediate limits what it can vouch for to TLS, as the CA/B Forum
    // Baseline Requirements ask of TLS subordinate CAs.
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    // RFC 5280 §4.2.1.1: AKI = the root's SKI (rcgen copies the issuer's pre-specified one).
    params.use_authority_key_identifier_extension = true;
    // RFC 5280 §4.2.1.10: critical (rcgen always marks it so); an empty set is left out,
    // since the extension may not be empty.
    if let Some(constraints) = name_constraints {
        constraints.check().map_err(Error::Signing)?;
        params.name_constraints = constraints.to_rcgen();
    }
    Ok(params)
}

/// What both CA profiles share: subject, random serial, validity, key identifier method.
/// `is_ca = Ca(..)` is set by the callers; with it rcgen writes the SKI (RFC 5280 §4.2.1.2,
/// required for CAs).
fn ca_params(
    organization: &str,
    common_name: &str,
    years: i32,
    key: &impl PublicKeyData,
) -> Result<CertificateParams, Error> {
    let mut params = CertificateParams::default();
    // RFC 5280 §4.1.2.4: an ordered sequence, most significant first (O, then CN); it replaces
    // rcgen's default CN "rcgen self signed cert".
    let mut subject = DistinguishedName::new();
    subject.push(DnType::OrganizationName, organization);
    subject.push(DnType::CommonName, common_name);
    params.distinguished_name = subject;
    params.serial_number = Some(Serial::random()?.to_rcgen());
    params.key_identifier_method = key_identifier(key);
    let not_before = now_seconds() - BACKDATE;
    params.not_before = not_before;
    params.not_after = add_years(not_before, years);
    Ok(params)
}
