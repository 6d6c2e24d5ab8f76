//! The http-01 responder (RFC 8555 §8.3): serves each pending challenge's key authorization
//! at `/.well-known/acme-challenge/<token>`.
//!
//! It listens on 127.0.0.1 and on [::1], because the test DNS server answers both A and AAAA
//! with loopback and basalt's validator tries IPv6 first. IPv4 is required; a machine without
//! IPv6 loopback still works, with a warning.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;

use crate::error::Error;

/// Token → key authorization, for the challenges currently being validated.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeyAuthorizations(Arc<RwLock<HashMap<String, String>>>);

impl KeyAuthorizations {
    /// Publishes `key_authorization` under `token` until the returned guard is dropped, so
    /// a failed or cancelled order never leaves entries behind.
    pub(crate) fn publish(&self, token: &str, key_authorization: String) -> Published {
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(token.to_owned(), key_authorization);
        Published {
            store: self.clone(),
            token: token.to_owned(),
        }
    }

    fn lookup(&self, token: &str) -> Option<String> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(token)
            .cloned()
    }
}

/// One published token; removes it when dropped.
pub(crate) struct Published {
    store: KeyAuthorizations,
    token: String,
}

impl Drop for Published {
    fn drop(&mut self) {
        self.store
            .0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.token);
    }
}

#[derive(Clone)]
struct ResponderState {
    key_authorizations: KeyAuthorizations,
    delay: Duration,
}

/// Starts serving on 127.0.0.1:`port` and [::1]:`port` (tasks run until the process ends).
pub(crate) async fn start_responder(
    port: u16,
    delay: Duration,
) -> Result<KeyAuthorizations, Error> {
    let key_authorizations = KeyAuthorizations::default();
    let router = Router::new()
        .route("/.well-known/acme-challenge/{token}", get(answer))
        .with_state(ResponderState {
            key_authorizations: key_authorizations.clone(),
            delay,
        });

    let v4 = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listener = TcpListener::bind(v4)
        .await
        .map_err(|source| Error::Responder { addr: v4, source })?;
    tokio::spawn(serve(listener, router.clone()));

    let v6 = SocketAddr::from((Ipv6Addr::LOCALHOST, port));
    match TcpListener::bind(v6).await {
        Ok(listener) => {
            tokio::spawn(serve(listener, router));
        }
        Err(error) => eprintln!(
            "basalt-load: warning: http-01 responder cannot listen on {v6} ({error}); \
             serving on {v4} only, so validations that try IPv6 first may fail"
        ),
    }
    Ok(key_authorizations)
}

async fn serve(listener: TcpListener, router: Router) {
    if let Err(error) = axum::serve(listener, router).await {
        eprintln!("basalt-load: http-01 responder stopped: {error}");
    }
}

/// RFC 8555 §8.3: the body is the key authorization, nothing else.
async fn answer(State(state): State<ResponderState>, Path(token): Path<String>) -> Response {
    if !state.delay.is_zero() {
        tokio::time::sleep(state.delay).await;
    }
    match state.key_authorizations.lookup(&token) {
        Some(key_authorization) => (
            [(header::CONTENT_TYPE, "application/octet-stream")],
            key_authorization,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_tokens_disappear_with_their_guard() {
        let store = KeyAuthorizations::default();
        let guard = store.publish("tok", "tok.thumb".into());
        assert_eq!(store.lookup("tok").as_deref(), Some("tok.thumb"));
        drop(guard);
        assert_eq!(store.lookup("tok"), None);
    }
}
