//! Building ACME responses: JSON bodies with the headers RFC 8555 §7 asks for.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A JSON response under construction.
pub(crate) struct AcmeResponse {
    status: StatusCode,
    body: Vec<u8>,
    content_type: &'static str,
    headers: HeaderMap,
}

impl AcmeResponse {
    /// A JSON body; serialising our own wire structs cannot fail, but if it ever did the
    /// client gets `null` rather than a panic.
    pub(crate) fn json(status: StatusCode, body: &impl Serialize) -> Self {
        Self {
            status,
            body: serde_json::to_vec(body).unwrap_or_else(|_| b"null".to_vec()),
            content_type: "application/json",
            headers: HeaderMap::new(),
        }
    }

    /// A body of another content type (the PEM chain, RFC 8555 §7.4.2).
    pub(crate) fn bytes(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Self {
        Self {
            status,
            body,
            content_type,
            headers: HeaderMap::new(),
        }
    }

    /// An empty body (revocation success, RFC 8555 §7.6).
    pub(crate) fn empty(status: StatusCode) -> Self {
        Self {
            status,
            body: Vec::new(),
            content_type: "",
            headers: HeaderMap::new(),
        }
    }

    /// `Location` (RFC 8555 §7.3, §7.4).
    pub(crate) fn location(self, url: &str) -> Self {
        self.header(header::LOCATION, url)
    }

    /// `Link: <url>;rel="<rel>"` (RFC 8288); several may be added.
    pub(crate) fn link(self, url: &str, rel: &str) -> Self {
        self.header(header::LINK, &format!("<{url}>;rel=\"{rel}\""))
    }

    /// `Retry-After` in seconds (RFC 8555 §7.4, §8.2).
    pub(crate) fn retry_after(self, seconds: u64) -> Self {
        self.header(header::RETRY_AFTER, &seconds.to_string())
    }

    fn header(mut self, name: HeaderName, value: &str) -> Self {
        // Values are URLs we built and numbers; a value with control characters is dropped
        // rather than sent half-formed.
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.append(name, v);
        }
        self
    }
}

impl IntoResponse for AcmeResponse {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body).into_response();
        let headers = response.headers_mut();
        if self.content_type.is_empty() {
            headers.remove(header::CONTENT_TYPE);
        } else {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(self.content_type),
            );
        }
        for (name, value) in &self.headers {
            headers.append(name, value.clone());
        }
        response
    }
}
