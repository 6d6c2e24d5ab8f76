//! The plain-HTTP PKI listener (`server.pki_listen`): CRLs, the root and each intermediate.
//!
//! Plain HTTP on purpose: a relying party must be able to fetch a CRL without trusting the
//! TLS whose certificates the CRL may revoke, and RFC 5280 §4.2.1.13 / RFC 5280 §4.2.2.1
//! URLs are `http` by convention. Only public files are served here, never the ACME API.

pub(crate) mod urls;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use basalt_signer::pem_to_der;

use crate::state::AppState;

pub(crate) use urls::PkiUrls;

/// The listener's routes.
pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route(urls::ROOT_DER_ROUTE, get(root_der))
        .route(urls::ROOT_PEM_ROUTE, get(root_pem))
        .route(urls::INTERMEDIATE_ROUTE, get(intermediate))
        .route(urls::CRL_ROUTE, get(crl))
        .with_state(state)
}

/// RFC 2585 §4.1 / RFC 5280 §4.2.1.13: a DER certificate is `application/pkix-cert`.
const PKIX_CERT: &str = "application/pkix-cert";
/// RFC 2585 §4.2: a DER CRL is `application/pkix-crl`.
const PKIX_CRL: &str = "application/pkix-crl";
const PEM: &str = "application/x-pem-file";

async fn root_der(State(state): State<AppState>) -> Response {
    match pem_to_der(&state.config.root_pem)
        .ok()
        .and_then(|ders| ders.into_iter().next())
    {
        Some(der) => file(PKIX_CERT, der),
        None => not_found(),
    }
}

async fn root_pem(State(state): State<AppState>) -> Response {
    file(PEM, state.config.root_pem.clone().into_bytes())
}

/// `<KEYID>.crt` (DER) or `<KEYID>.pem` of any intermediate the database knows, retired
/// ones too (their certificates may still be checked against an old chain).
async fn intermediate(State(state): State<AppState>, Path(file_name): Path<String>) -> Response {
    let (key_id, pem) = match split_name(&file_name, &["crt", "pem"]) {
        Some((key_id, extension)) => (key_id, extension == "pem"),
        None => return not_found(),
    };
    let certificate_pem = match state.store.intermediate_by_key_id(key_id).await {
        Ok(Some(record)) => record.certificate_pem,
        Ok(None) => return not_found(),
        Err(e) => return unavailable(&e),
    };
    if pem {
        return file(PEM, certificate_pem.into_bytes());
    }
    match pem_to_der(&certificate_pem)
        .ok()
        .and_then(|ders| ders.into_iter().next())
    {
        Some(der) => file(PKIX_CERT, der),
        None => not_found(),
    }
}

/// `<KEYID>.crl`: the intermediate's newest CRL.
async fn crl(State(state): State<AppState>, Path(file_name): Path<String>) -> Response {
    let Some((key_id, _)) = split_name(&file_name, &["crl"]) else {
        return not_found();
    };
    match state.store.crl(key_id).await {
        Ok(Some(crl)) => file(PKIX_CRL, crl.der),
        Ok(None) => not_found(),
        Err(e) => unavailable(&e),
    }
}

/// Splits `<hex key id>.<extension>`, refusing anything else (no path tricks reach storage).
fn split_name<'a>(name: &'a str, extensions: &[&str]) -> Option<(&'a str, &'a str)> {
    let (stem, extension) = name.rsplit_once('.')?;
    let hex = !stem.is_empty()
        && stem.len() <= 128
        && stem
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    (hex && extensions.contains(&extension)).then_some((stem, extension))
}

fn file(content_type: &'static str, body: Vec<u8>) -> Response {
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

fn unavailable(error: &basalt_storage::Error) -> Response {
    tracing::warn!(error = %error, "PKI listener: database unavailable");
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, "try again later\n").into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    response
}
