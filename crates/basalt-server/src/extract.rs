//! The JWS-authenticating extractor: every POST passes through here (RFC 8555 §6.2–§6.5).
//!
//! Order of checks, cheapest first: directory and origin, `Content-Type`, body size, the JWS
//! envelope and header, the `url`, the nonce's MAC and expiry, the key (`jwk`, or `kid`
//! looked up in the account cache, else in storage), the signature, and last the nonce's
//! single use (an insert, batched with concurrent requests' in `nonces.rs`). A request with
//! a bad signature therefore never burns a nonce.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::FromRequest;
use axum::http::{Request, header};

use basalt_protocol::AccountStatus;
use basalt_protocol::{Jwk, Jws, KeyRef, Problem, ProblemType};
use basalt_storage::AccountRecord;
use time::OffsetDateTime;

use crate::account_cache::CachedAccount;
use crate::config::DirectoryConfig;
use crate::problem::AcmeError;
use crate::state::AppState;
use crate::urls::Urls;

/// The `Content-Type` every ACME POST carries (RFC 8555 §6.2).
const JOSE_JSON: &str = "application/jose+json";

/// Who signed a request.
#[derive(Debug, Clone)]
pub(crate) enum SignedBy {
    /// A `jwk` header: newAccount, and revokeCert by certificate key.
    Key(Jwk),
    /// A `kid` header naming a valid account of this directory.
    Account { account: AccountRecord, key: Jwk },
}

/// An authenticated POST request.
pub(crate) struct SignedRequest {
    pub urls: Urls,
    pub directory: Arc<DirectoryConfig>,
    pub jws: Jws,
    pub signer: SignedBy,
}

impl SignedRequest {
    /// The account that signed with `kid`, for every endpoint but newAccount (RFC 8555 §6.2).
    pub(crate) fn account(&self) -> Result<&AccountRecord, AcmeError> {
        self.account_and_key().map(|(account, _)| account)
    }

    /// The account that signed with `kid` and its key, as the signature was verified with
    /// (canonical form: what key comparisons use, RFC 7518 §6.3.1).
    pub(crate) fn account_and_key(&self) -> Result<(&AccountRecord, &Jwk), AcmeError> {
        match &self.signer {
            SignedBy::Account { account, key } => Ok((account, key)),
            SignedBy::Key(_) => Err(Problem::malformed(
                "this request must be signed by an account key and name it with \"kid\", not \"jwk\"",
            )
            .into()),
        }
    }

    /// The raw key of a `jwk`-signed request (newAccount, RFC 8555 §7.3).
    pub(crate) fn jwk(&self) -> Result<&Jwk, AcmeError> {
        match &self.signer {
            SignedBy::Key(key) => Ok(key),
            SignedBy::Account { .. } => Err(Problem::malformed(
                "this request must carry the account's public key in \"jwk\", not a \"kid\"",
            )
            .into()),
        }
    }

    /// RFC 8555 §6.3: a POST-as-GET has the empty string as payload; anything else here is a
    /// client error.
    pub(crate) fn expect_post_as_get(&self) -> Result<(), AcmeError> {
        if self.jws.is_post_as_get() {
            Ok(())
        } else {
            Err(Problem::malformed(
                "this resource is fetched with POST-as-GET: the JWS payload must be the empty string",
            )
            .into())
        }
    }

    /// The payload parsed as the JSON object `T`. Every ACME request payload is a JSON
    /// object (RFC 8555 §7); an empty payload or any other JSON value (serde would read an
    /// array into a struct's fields in order) is refused.
    pub(crate) fn payload<T: serde::de::DeserializeOwned>(&self) -> Result<T, AcmeError> {
        if self.jws.payload.is_empty() {
            return Err(
                Problem::malformed("the JWS payload must be a JSON object, not empty").into(),
            );
        }
        if self.jws.payload.trim_ascii_start().first() != Some(&b'{') {
            return Err(Problem::malformed("the JWS payload must be a JSON object").into());
        }
        serde_json::from_slice(&self.jws.payload).map_err(|e| {
            Problem::malformed(format!(
                "the JWS payload is not the expected JSON object: {e}"
            ))
            .into()
        })
    }
}

/// The directory and URL builder of a request, or the problem to send.
pub(crate) fn resolve_directory(
    state: &AppState,
    parts: &axum::http::request::Parts,
) -> Result<(Arc<DirectoryConfig>, Urls), AcmeError> {
    let name = Urls::directory_of(parts.uri.path()).unwrap_or_default();
    let directory = state.areas.directory(name).ok_or_else(|| {
        Problem::malformed(format!("there is no ACME directory named {name:?}")).with_status(404)
    })?;
    let origin = Urls::origin_of(parts)
        .ok_or_else(|| Problem::malformed("the request has no valid Host header"))?;
    Ok((directory, Urls::new(origin, name)))
}

impl FromRequest<AppState> for SignedRequest {
    type Rejection = AcmeError;

    async fn from_request(request: Request<Body>, state: &AppState) -> Result<Self, AcmeError> {
        let (parts, body) = request.into_parts();
        let (directory, urls) = resolve_directory(state, &parts)?;

        // RFC 8555 §6.2; Boulder answers 415 with a malformed problem.
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if content_type.split(';').next().map(str::trim) != Some(JOSE_JSON) {
            return Err(Problem::malformed(format!(
                "the Content-Type of an ACME POST must be {JOSE_JSON}, not {content_type:?}"
            ))
            .with_status(415)
            .into());
        }

        let limit = state.config.max_request_bytes;
        let body = axum::body::to_bytes(body, limit).await.map_err(|_| {
            AcmeError::from(
                Problem::malformed(format!("the request body is larger than {limit} bytes"))
                    .with_status(413),
            )
        })?;
        let jws = Jws::parse(&body)?;

        // RFC 8555 §6.4: the signed url must be exactly the URL requested (with its query,
        // which the orders list's pages use).
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let requested = format!("{}{path}", urls.origin());
        if jws.header.url != requested {
            return Err(Problem::unauthorized(format!(
                "the JWS \"url\" {:?} does not match the request URL {requested:?}",
                jws.header.url
            ))
            .into());
        }

        // RFC 8555 §6.5: every outer JWS carries a nonce. Cheap checks now, single use last.
        let now = state.now();
        let nonce = jws
            .header
            .nonce
            .clone()
            .ok_or(basalt_protocol::JwsError::MissingNonce)?;
        state.nonces.check(&nonce, now).map_err(|e| {
            state.config.metrics.nonce_rejected();
            AcmeError::Nonce(e)
        })?;

        let signer = match &jws.header.key {
            KeyRef::Jwk(key) => SignedBy::Key(key.clone()),
            KeyRef::Kid(kid) => {
                let CachedAccount { account, key } = load_account(state, &urls, kid, now).await?;
                if let Some(slot) = parts.extensions.get::<Arc<crate::layers::RequestAccount>>() {
                    slot.set(account.id);
                }
                SignedBy::Account { account, key }
            }
        };
        let key = match &signer {
            SignedBy::Key(key) | SignedBy::Account { key, .. } => key,
        };
        jws.verify(key)?;

        state.nonces.redeem(&nonce, now).await?.map_err(|e| {
            state.config.metrics.nonce_rejected();
            AcmeError::Nonce(e)
        })?;

        Ok(Self {
            urls,
            directory,
            jws,
            signer,
        })
    }
}

/// A resource that may be read with GET (or HEAD) as well as POST-as-GET (RFC 8555 §6.3,
/// §7.4.2): a GET needs no authentication; a POST must be a valid POST-as-GET by an account,
/// whose id is returned.
pub(crate) async fn get_or_post_as_get(
    request: Request<Body>,
    state: &AppState,
) -> Result<(Arc<DirectoryConfig>, Urls, Option<i64>), AcmeError> {
    if request.method() == axum::http::Method::POST {
        let req = SignedRequest::from_request(request, state).await?;
        req.expect_post_as_get()?;
        let account_id = req.account()?.id;
        return Ok((req.directory, req.urls, Some(account_id)));
    }
    let (parts, _) = request.into_parts();
    let (directory, urls) = resolve_directory(state, &parts)?;
    Ok((directory, urls, None))
}

/// RFC 8555 §6.2: `kid` must be this server's URL of an existing account; RFC 8555 §7.3.6:
/// a deactivated account's requests are unauthorized (401).
///
/// The account and its parsed key come from the account cache when it has them (no
/// statement, no parse), else from storage, and are cached then. The checks below apply to
/// a cached account as to a fresh one; the cache only decides how old the row may be.
async fn load_account(
    state: &AppState,
    urls: &Urls,
    kid: &str,
    now: OffsetDateTime,
) -> Result<CachedAccount, AcmeError> {
    let id = urls.account_id_from_kid(kid).ok_or_else(|| {
        Problem::malformed(format!(
            "\"kid\" {kid:?} is not an account URL of this directory ({})",
            urls.account_prefix()
        ))
    })?;
    if let Some(cached) = state.accounts.get(id, now) {
        check_account(&cached.account, urls, kid)?;
        return Ok(cached);
    }
    let since = state.accounts.generation();
    let account = state.store.account(id).await?.ok_or_else(|| {
        Problem::new(
            ProblemType::AccountDoesNotExist,
            format!("account {kid} does not exist"),
        )
    })?;
    check_account(&account, urls, kid)?;
    let key = account_key(&account)?;
    state.accounts.insert(since, &account, &key, now);
    Ok(CachedAccount { account, key })
}

/// The account must belong to the request's directory and be valid (RFC 8555 §7.3.6:
/// deactivated and revoked accounts get 401).
fn check_account(account: &AccountRecord, urls: &Urls, kid: &str) -> Result<(), AcmeError> {
    if account.directory != urls.directory_name() {
        return Err(Problem::new(
            ProblemType::AccountDoesNotExist,
            format!("account {kid} does not exist"),
        )
        .into());
    }
    match account.status {
        AccountStatus::Valid => Ok(()),
        AccountStatus::Deactivated => Err(Problem::unauthorized(format!(
            "account {kid} is deactivated; create a new account"
        ))
        .with_status(401)
        .into()),
        AccountStatus::Revoked => Err(Problem::unauthorized(format!("account {kid} is revoked"))
            .with_status(401)
            .into()),
    }
}

/// The stored key of an account, in canonical form; a stored key that no longer parses is an
/// internal fault. Stored keys passed the key policy of their day and are not re-judged.
fn account_key(account: &AccountRecord) -> Result<Jwk, AcmeError> {
    serde_json::from_str(&account.jwk)
        .ok()
        .and_then(|v: serde_json::Value| Jwk::from_stored_json(&v).ok())
        .ok_or_else(|| {
            AcmeError::Internal(format!(
                "account {} has an unreadable stored key",
                account.id
            ))
        })
}
