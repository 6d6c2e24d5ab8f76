//! Certificate revocation (RFC 8555 §7.6).

use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use basalt_protocol::objects::{RevocationReason, RevokeCertRequest};
use basalt_protocol::{Problem, ProblemType};
use basalt_signer::certificate_serial_and_key;
use basalt_storage::RevokeOutcome;

use crate::extract::{SignedRequest, Signer};
use crate::problem::AcmeResult;
use crate::response::AcmeResponse;
use crate::state::AppState;

/// Accepted when signed by the account that ordered the certificate, by an account holding
/// valid authorizations for all its names, or by the certificate's own key (`jwk`).
pub async fn revoke_cert(
    State(state): State<AppState>,
    req: SignedRequest,
) -> AcmeResult<AcmeResponse> {
    let request: RevokeCertRequest = req.payload()?;
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
    let stored = state
        .store
        .certificate_by_serial(&serial)
        .await?
        .filter(|c| c.der == der && c.directory == req.urls.directory_name())
        .ok_or_else(|| {
            Problem::malformed("this certificate was not issued by this ACME directory")
                .with_status(404)
        })?;

    let now = state.now();
    let authorized = match &req.signer {
        // RFC 8555 §7.6: the certificate's own key, compared in canonical form.
        Signer::Key(key) => key.same_key(&certificate_key),
        Signer::Account { account, .. } => {
            account.id == stored.account_id
                || state
                    .store
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
    match state
        .store
        .revoke_certificate(&serial, reason.code(), now)
        .await?
    {
        RevokeOutcome::Revoked(_) => {
            tracing::info!(cert.serial = %serial, reason = reason.code(), "certificate revoked");
            Ok(AcmeResponse::empty(StatusCode::OK))
        }
        RevokeOutcome::AlreadyRevoked(_) => Err(Problem::new(
            ProblemType::AlreadyRevoked,
            format!("certificate {serial} is already revoked"),
        )
        .into()),
    }
}
