//! The directory (RFC 8555 §7.1.1) and newNonce (§7.2).

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use basalt_protocol::objects::{Directory, DirectoryMeta};

use crate::extract::resolve_directory;
use crate::problem::AcmeResult;
use crate::response::AcmeResponse;
use crate::state::AppState;

pub async fn directory(
    State(state): State<AppState>,
    request: Request,
) -> AcmeResult<AcmeResponse> {
    let (parts, _) = request.into_parts();
    let (directory, urls) = resolve_directory(&state, &parts)?;
    let body = Directory {
        new_nonce: urls.new_nonce(),
        new_account: urls.new_account(),
        new_order: urls.new_order(),
        revoke_cert: urls.revoke_cert(),
        key_change: urls.key_change(),
        meta: DirectoryMeta {
            terms_of_service: directory.meta.terms_of_service.clone(),
            website: directory.meta.website.clone(),
            caa_identities: directory.meta.caa_identities.clone(),
            external_account_required: false,
        },
    };
    Ok(AcmeResponse::json(StatusCode::OK, &body))
}

/// RFC 8555 §7.2: HEAD answers 200, GET 204, both with a fresh `Replay-Nonce` (added by the
/// nonce layer) and `Cache-Control: no-store`.
pub async fn new_nonce(State(state): State<AppState>, request: Request) -> AcmeResult<Response> {
    let (parts, _) = request.into_parts();
    resolve_directory(&state, &parts)?;
    let status = if parts.method == Method::HEAD {
        StatusCode::OK
    } else {
        StatusCode::NO_CONTENT
    };
    let mut response = status.into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
