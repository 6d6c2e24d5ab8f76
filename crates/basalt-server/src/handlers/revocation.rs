//! Certificate revocation (RFC 8555 §7.6).

use axum::extract::State;
use axum::http::StatusCode;

use basalt_protocol::objects::RevokeCertRequest;

use crate::authority::revoke::{Revoker, revoke};
use crate::extract::{SignedBy, SignedRequest};
use crate::problem::AcmeResult;
use crate::response::AcmeResponse;
use crate::state::AppState;

/// `200` with an empty body once the certificate is revoked.
pub(crate) async fn revoke_cert(
    State(state): State<AppState>,
    req: SignedRequest,
) -> AcmeResult<AcmeResponse> {
    let request: RevokeCertRequest = req.payload()?;
    let revoker = match &req.signer {
        SignedBy::Key(key) => Revoker::CertificateKey(key),
        SignedBy::Account { account, .. } => Revoker::Account(account),
    };
    revoke(
        &state.store,
        req.urls.directory_name(),
        revoker,
        &request,
        state.now(),
    )
    .await?;
    // The revocation bumped its intermediate's counter; make the new CRL now.
    state.crl_wake.wake();
    state.config.metrics.revoked(req.urls.directory_name());
    Ok(AcmeResponse::empty(StatusCode::OK))
}
