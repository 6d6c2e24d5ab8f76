//! ACME Renewal Information (RFC 9773 §4): the renewalInfo resource, and the notices its
//! `explanationURL`s point at. Both are unauthenticated GETs.

use axum::extract::{Request, State};
use axum::http::StatusCode;

use basalt_protocol::objects::{RenewalInfo, SuggestedWindow, format_timestamp};

use crate::authority::renewal_info::{notice_text, renewal_info as advice};
use crate::extract::resolve_directory;
use crate::params::ResourceId;
use crate::policy::renewal::RenewNow;
use crate::problem::AcmeResult;
use crate::response::AcmeResponse;
use crate::state::AppState;

/// RFC 9773 §4.1: `GET renewal-info/<CertID>`: the suggested window (§4.2) and
/// `Retry-After`, how long the client should wait before asking again.
pub(crate) async fn renewal_info(
    State(state): State<AppState>,
    ResourceId(cert_id): ResourceId<String>,
    request: Request,
) -> AcmeResult<AcmeResponse> {
    let (parts, _) = request.into_parts();
    let (directory, urls) = resolve_directory(&state, &parts)?;
    let advice = advice(&state.store, &directory, &cert_id, state.now()).await?;
    let explanation_url = advice.renew_now.map(|reason| match reason {
        RenewNow::Revoked => urls.renewal_notice("revoked"),
        RenewNow::Rotated => urls.renewal_notice("rotated"),
        RenewNow::Notice(id) => urls.renewal_notice(id),
    });
    let body = RenewalInfo {
        suggested_window: SuggestedWindow {
            start: format_timestamp(advice.window.start),
            end: format_timestamp(advice.window.end),
        },
        explanation_url,
    };
    Ok(AcmeResponse::json(StatusCode::OK, &body).retry_after(advice.retry_after.as_secs()))
}

/// The text of an `explanationURL` (RFC 9773 §4.2): `revoked`, `rotated`, or an
/// operator's renew-early notice by id, as `text/plain`.
pub(crate) async fn renewal_notice(
    State(state): State<AppState>,
    ResourceId(id): ResourceId<String>,
    request: Request,
) -> AcmeResult<AcmeResponse> {
    let (parts, _) = request.into_parts();
    resolve_directory(&state, &parts)?;
    let text = notice_text(&state.store, &id).await?;
    Ok(AcmeResponse::bytes(
        StatusCode::OK,
        "text/plain; charset=utf-8",
        text.into_bytes(),
    ))
}
