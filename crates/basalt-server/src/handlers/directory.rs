//! The directory (RFC 8555 §7.1.1) and newNonce (§7.2).

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use basalt_protocol::objects::{Directory, DirectoryMeta};

use crate::config::EabMode;
use crate::extract::get_or_post_as_get;
use crate::problem::AcmeResult;
use crate::response::AcmeResponse;
use crate::state::AppState;

/// GET, or POST-as-GET (RFC 8555 §6.3 requires both).
pub(crate) async fn directory(
    State(state): State<AppState>,
    request: Request,
) -> AcmeResult<AcmeResponse> {
    let (directory, urls, _) = get_or_post_as_get(request, &state).await?;
    let body = Directory {
        new_nonce: urls.new_nonce(),
        new_account: urls.new_account(),
        new_order: urls.new_order(),
        revoke_cert: urls.revoke_cert(),
        key_change: urls.key_change(),
        // RFC 9773 §3.
        renewal_info: Some(urls.renewal_info()),
        meta: DirectoryMeta {
            terms_of_service: directory.meta.terms_of_service.clone(),
            website: directory.meta.website.clone(),
            caa_identities: directory.meta.caa_identities.clone(),
            // RFC 8555 §7.1.1: true when newAccount requires a binding (§7.3.4).
            external_account_required: directory.external_account_binding == EabMode::Required,
            // draft-ietf-acme-profiles-00 §3: name → description.
            profiles: directory
                .profiles
                .iter()
                .map(|(name, p)| (name.to_owned(), p.description.clone()))
                .collect(),
        },
    };
    Ok(AcmeResponse::json(StatusCode::OK, &body))
}

/// RFC 8555 §7.2: HEAD answers 200, GET (and POST-as-GET, §6.3) 204, all with a fresh
/// `Replay-Nonce` (added by the nonce layer) and `Cache-Control: no-store`.
pub(crate) async fn new_nonce(
    State(state): State<AppState>,
    request: Request,
) -> AcmeResult<Response> {
    let is_head = request.method() == Method::HEAD;
    get_or_post_as_get(request, &state).await?;
    let status = if is_head {
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
