//! Certificate download (RFC 8555 §7.4.2) and the root certificate it links to.
//!
//! The body is the leaf then the intermediate. `Link: rel="up"` names what lies above that
//! chain: the root. Clients that follow `up` (acmez/Caddy, x/crypto's legacy path) append what
//! they fetch to the body, so pointing `up` at the intermediate would send it twice; pointing it
//! at the root gives them a complete path to the trust anchor instead.

use axum::extract::{Request, State};
use axum::http::StatusCode;

use basalt_protocol::Problem;

use crate::extract::get_or_post_as_get;
use crate::params::ResourceId;
use crate::problem::AcmeResult;
use crate::response::AcmeResponse;
use crate::state::AppState;

/// RFC 8555 §9.1.
const PEM_CHAIN: &str = "application/pem-certificate-chain";

/// POST-as-GET by the owning account, or a plain GET (RFC 8555 §7.4.2 allows it, Boulder
/// does it): the leaf then the intermediate, `Link: rel="up"` to the root.
pub(crate) async fn certificate(
    State(state): State<AppState>,
    ResourceId(serial): ResourceId<String>,
    request: Request,
) -> AcmeResult<AcmeResponse> {
    let (_, urls, owner) = get_or_post_as_get(request, &state).await?;
    let certificate = state
        .store
        .certificate_by_serial(&serial.to_ascii_lowercase())
        .await?
        .filter(|c| {
            c.directory == urls.directory_name() && owner.is_none_or(|id| id == c.account_id)
        })
        .ok_or_else(|| {
            Problem::malformed(format!("certificate {serial} does not exist")).with_status(404)
        })?;
    Ok(AcmeResponse::bytes(
        StatusCode::OK,
        PEM_CHAIN,
        certificate.chain_pem.into_bytes(),
    )
    .link(&urls.root(), "up"))
}

/// The root certificate (the target of `rel="up"`), by GET or POST-as-GET: RFC 8555 §6.3
/// lets clients fetch any URL the server hands out with POST-as-GET, and acmez does.
pub(crate) async fn root(
    State(state): State<AppState>,
    request: Request,
) -> AcmeResult<AcmeResponse> {
    get_or_post_as_get(request, &state).await?;
    Ok(AcmeResponse::bytes(
        StatusCode::OK,
        PEM_CHAIN,
        state.config.root_pem.as_bytes().to_vec(),
    ))
}
