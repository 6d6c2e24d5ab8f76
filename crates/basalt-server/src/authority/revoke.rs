//! Certificate revocation (RFC 8555 §7.6): who may revoke, and with which reason.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::OffsetDateTime;

use basalt_protocol::objects::{RevocationReason, RevokeCertRequest};
use basalt_protocol::{Jwk, Problem, ProblemType};
use basalt_signer::certificate_serial_and_key;
use basalt_storage::{AccountRecord, RevokeOutcome, Store};

use crate::problem::AcmeResult;

/// Who signed the revocation request (RFC 8555 §7.6).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Revoker<'a> {
    /// The certificate's own key, in `jwk`.
    CertificateKey(&'a Jwk),
    /// An account, by `kid`.
    Account(&'a AccountRecord),
}

/// Revokes the certificate in `request` if it was issued by `directory` and `revoker` may
/// revoke it: the account that ordered it, an account holding valid authorizations for all
/// its names, or the holder of its key. Returns the revoked serial.
pub(crate) async fn revoke(
    store: &Store,
    directory: &str,
    revoker: Revoker<'_>,
    request: &RevokeCertRequest,
    now: OffsetDateTime,
) -> AcmeResult<String> {
    let der = URL_SAFE_NO_PAD
        .decode(request.certificate.trim_end_matches('='))
        .map_err(|_| Problem::malformed("\"certificate\" is not base64url-encoded DER"))?;
    let reason = match request.reason {
        None => RevocationReason::Unspecified,
        Some(code) => RevocationReason::from_subscriber_code(code).ok_or_else(|| {
            Problem::new(
                ProblemType::BadRevocationReason,
                format!("reason {code} is not accepted; use 0, 1, 3, 4, 5 or 9 (RFC 5280 §5.3.1)"),
            )
        })?,
    };
    let (serial, certificate_key) = certificate_serial_and_key(&der)
        .map_err(|e| Problem::malformed(format!("\"certificate\" is not a certificate: {e}")))?;
    let stored = store
        .certificate_by_serial(&serial)
        .await?
        .filter(|c| c.der == der && c.directory == directory)
        .ok_or_else(|| {
            Problem::malformed("this certificate was not issued by this ACME directory")
                .with_status(404)
        })?;

    let authorized = match revoker {
        // RFC 8555 §7.6: the certificate's own key, compared in canonical form.
        Revoker::CertificateKey(key) => key.same_key(&certificate_key),
        Revoker::Account(account) => {
            account.id == stored.account_id
                || store
                    .account_holds_valid_authorizations(account.id, &stored.names, now)
                    .await?
        }
    };
    if !authorized {
        return Err(Problem::unauthorized(
            "the signer neither ordered this certificate, holds valid authorizations for all its names, nor holds its key",
        )
        .into());
    }
    match store
        .revoke_certificate(&serial, reason.code(), now)
        .await?
    {
        RevokeOutcome::Revoked(_) => {
            tracing::info!(cert.serial = %serial, reason = reason.code(), "certificate revoked");
            Ok(serial)
        }
        RevokeOutcome::AlreadyRevoked(_) => Err(Problem::new(
            ProblemType::AlreadyRevoked,
            format!("certificate {serial} is already revoked"),
        )
        .into()),
    }
}
