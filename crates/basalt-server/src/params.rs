//! Path and query parameters, with their rejections answered as problem documents.
//!
//! axum's own `Path` and `Query` reject with `400 text/plain`; ACME clients (acme-tiny,
//! uacme) need `application/problem+json` for every error (RFC 8555 §6.7), so these wrap
//! them and map every rejection to an [`AcmeError`].

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use basalt_protocol::Problem;

use crate::problem::AcmeError;

/// The id in `/acme/<directory>/<resource>/<id>`. An id that does not parse names no
/// resource: `404`, like any other unknown URL.
pub(crate) struct ResourceId<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ResourceId<T> {
    type Rejection = AcmeError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AcmeError> {
        match Path::<(String, T)>::from_request_parts(parts, state).await {
            Ok(Path((_, id))) => Ok(Self(id)),
            Err(_) => Err(
                Problem::malformed(format!("no ACME resource at {}", parts.uri.path()))
                    .with_status(404)
                    .into(),
            ),
        }
    }
}

/// A query string of type `T` (the orders list's `cursor`); a malformed one is `400
/// malformed`.
pub(crate) struct QueryParams<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for QueryParams<T> {
    type Rejection = AcmeError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AcmeError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(Problem::malformed(format!(
                "the query string is not valid here: {}",
                rejection.body_text()
            ))
            .into()),
        }
    }
}
