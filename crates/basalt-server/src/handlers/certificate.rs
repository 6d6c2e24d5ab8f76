//! Certificate download (RFC 8555 §7.4.2) and the issuer certificate it links to.

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;

use basalt_protocol::Problem;

use crate::extract::{get_or_post_as_get, resolve_directory};
use crate::problem::AcmeResult;
use crate::response::AcmeResponse;
use crate::state::AppState;
use crate::urls::Urls;

/// RFC 8555 §9.1.
const PEM_CHAIN: &str = "application/pem-certificate-chain";

/// POST-as-GET by the owning account, or a plain GET (RFC 8555 §7.4.2 allows it, Boulder
/// does it): the leaf then the intermediate, `Link: rel="up"` to the issuer.
pub async fn certificate(
    State(state): State<AppState>,
    Path((_, serial)): Path<(String, String)>,
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
    .link(&issuer_url(&urls), "up"))
}

fn issuer_url(urls: &Urls) -> String {
    urls.directory().replace("/directory", "/issuer")
}

/// GET the directory's intermediate certificate (the target of `rel="up"`).
pub async fn issuer(State(state): State<AppState>, request: Request) -> AcmeResult<AcmeResponse> {
    let (parts, _) = request.into_parts();
    let (directory, _) = resolve_directory(&state, &parts)?;
    Ok(AcmeResponse::bytes(
        StatusCode::OK,
        PEM_CHAIN,
        directory.issuer.chain_pem().as_bytes().to_vec(),
    ))
}
