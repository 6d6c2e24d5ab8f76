//! ACME Renewal Information (RFC 9773): the suggested window of a certificate, and the
//! notices its `explanationURL` points at.

use std::time::Duration;

use basalt_protocol::{CertId, Problem};
use basalt_storage::{RenewalCertificate, Store};
use time::OffsetDateTime;

use crate::config::DirectoryConfig;
use crate::policy::renewal::{RenewNow, Window, immediate_window, renew_now, suggested_window};
use crate::problem::AcmeResult;

/// The window to suggest, why it is early (if it is), and when to ask again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RenewalAdvice {
    pub(crate) window: Window,
    pub(crate) renew_now: Option<RenewNow>,
    pub(crate) retry_after: Duration,
}

/// RFC 9773 §4.2: the renewal advice for the certificate `cert_id` names in `directory`.
/// One indexed lookup; the rotation check compares with the area snapshot, no database.
pub(crate) async fn renewal_info(
    store: &Store,
    directory: &DirectoryConfig,
    cert_id: &str,
    now: OffsetDateTime,
) -> AcmeResult<RenewalAdvice> {
    let cert_id = parse_cert_id(cert_id)?;
    let certificate = certificate(store, &directory.name, &cert_id).await?;
    let reason = renew_now(
        certificate.revoked_at.is_some(),
        certificate.renewal_notice_id,
        certificate.intermediate_id,
        directory.intermediate_id,
    );
    let window = match reason {
        Some(_) => immediate_window(now),
        None => suggested_window(
            &directory.renewal,
            certificate.not_before,
            certificate.not_after,
        ),
    };
    Ok(RenewalAdvice {
        window,
        renew_now: reason,
        retry_after: directory.renewal.retry_after,
    })
}

/// The text behind an `explanationURL`: the fixed explanations of a revocation and a
/// rotation, or an operator's notice by id. Anything else is 404.
pub(crate) async fn notice_text(store: &Store, id: &str) -> AcmeResult<String> {
    match id {
        "revoked" => return Ok(REVOKED.to_owned()),
        "rotated" => return Ok(ROTATED.to_owned()),
        _ => {}
    }
    let not_found =
        || Problem::malformed(format!("renewal notice {id} does not exist")).with_status(404);
    // Decimal ids only (no sign, no leading zeros beyond "0"): one URL per notice.
    let parsed = id
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0 && n.to_string() == id)
        .ok_or_else(not_found)?;
    let notice = store.renewal_notice(parsed).await?.ok_or_else(not_found)?;
    Ok(format!("{}\n", notice.note))
}

const REVOKED: &str = "This certificate has been revoked. Replace it now: order a new certificate (with \"replaces\", RFC 9773 section 5) and install it.\n";
const ROTATED: &str = "The intermediate certificate that signed this certificate has been replaced by a new one in this area. Renew now so that your certificate is signed by the current intermediate before the old one is retired.\n";

/// A CertID from a URL or a `replaces` value; a malformed one is `malformed` (400).
pub(crate) fn parse_cert_id(text: &str) -> AcmeResult<CertId> {
    CertId::parse(text).map_err(|e| Problem::malformed(format!("{e} (RFC 9773 §4.1)")).into())
}

/// RFC 9773 §4.1: the certificate of `directory` that `cert_id` names. An unknown serial,
/// another area's certificate, or a keyIdentifier that is not the signing intermediate's is
/// `malformed` with 404, as Boulder answers (the CertID is well-formed, it names nothing).
pub(crate) async fn certificate(
    store: &Store,
    directory: &str,
    cert_id: &CertId,
) -> AcmeResult<RenewalCertificate> {
    let serial = cert_id.serial_hex();
    let not_found = |why: &str| {
        Problem::malformed(format!("no certificate with serial {serial} {why}")).with_status(404)
    };
    let certificate = store
        .renewal_certificate(&serial)
        .await?
        .filter(|c| c.directory == directory)
        .ok_or_else(|| not_found(&format!("was issued in area {directory}")))?;
    if certificate.intermediate_key_id.as_deref() != Some(cert_id.key_identifier_hex().as_str()) {
        return Err(not_found(&format!(
            "was issued by an intermediate with key identifier {}",
            cert_id.key_identifier_hex()
        ))
        .into());
    }
    Ok(certificate)
}
