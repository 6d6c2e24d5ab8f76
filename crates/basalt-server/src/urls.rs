//! The URLs of ACME resources, built from the request's own origin.
//!
//! basalt answers on whatever name the client used (`localhost`, `127.0.0.1`, a configured
//! name), as Boulder does: every URL it hands out starts with `https://<Host>`, so the JWS
//! `url` check (RFC 8555 §6.4) compares against the same origin the client connected to.

use axum::http::request::Parts;
use axum::http::uri::Authority;

/// The origin and directory a request was made under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Urls {
    /// `https://host[:port]`
    origin: String,
    directory: String,
}

/// Resource kinds with their path segment; one place names every path.
pub(crate) mod segment {
    pub(crate) const ACCOUNT: &str = "account";
    pub(crate) const ORDER: &str = "order";
    pub(crate) const AUTHZ: &str = "authz";
    pub(crate) const CHALLENGE: &str = "challenge";
    pub(crate) const CERTIFICATE: &str = "certificate";
}

impl Urls {
    pub fn new(origin: impl Into<String>, directory: impl Into<String>) -> Self {
        Self {
            origin: origin.into(),
            directory: directory.into(),
        }
    }

    /// The origin of a request: `:authority` for HTTP/2, `Host` for HTTP/1.1. `None` when
    /// neither is present or it is not a valid authority.
    pub fn origin_of(parts: &Parts) -> Option<String> {
        let authority = match parts.uri.authority() {
            Some(a) => a.clone(),
            None => parts
                .headers
                .get(axum::http::header::HOST)?
                .to_str()
                .ok()?
                .parse::<Authority>()
                .ok()?,
        };
        if authority.as_str().contains('@') {
            return None;
        }
        Some(format!(
            "https://{}",
            authority.as_str().to_ascii_lowercase()
        ))
    }

    /// `https://host[:port]`, as the request named it.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn directory_name(&self) -> &str {
        &self.directory
    }

    fn base(&self) -> String {
        format!("{}/acme/{}", self.origin, self.directory)
    }

    pub fn directory(&self) -> String {
        format!("{}/directory", self.base())
    }
    pub fn new_nonce(&self) -> String {
        format!("{}/new-nonce", self.base())
    }
    pub fn new_account(&self) -> String {
        format!("{}/new-account", self.base())
    }
    pub fn new_order(&self) -> String {
        format!("{}/new-order", self.base())
    }
    pub fn revoke_cert(&self) -> String {
        format!("{}/revoke-cert", self.base())
    }
    pub fn key_change(&self) -> String {
        format!("{}/key-change", self.base())
    }
    pub fn account(&self, id: i64) -> String {
        format!("{}/{}/{id}", self.base(), segment::ACCOUNT)
    }
    pub fn account_orders(&self, id: i64) -> String {
        format!("{}/{}/{id}/orders", self.base(), segment::ACCOUNT)
    }
    pub fn order(&self, id: i64) -> String {
        format!("{}/{}/{id}", self.base(), segment::ORDER)
    }
    pub fn finalize(&self, id: i64) -> String {
        format!("{}/{}/{id}/finalize", self.base(), segment::ORDER)
    }
    pub fn authorization(&self, id: i64) -> String {
        format!("{}/{}/{id}", self.base(), segment::AUTHZ)
    }
    pub fn challenge(&self, id: i64) -> String {
        format!("{}/{}/{id}", self.base(), segment::CHALLENGE)
    }
    /// The root certificate, linked from certificates with `rel="up"`.
    pub fn root(&self) -> String {
        format!("{}/root", self.base())
    }
    pub fn certificate(&self, serial: &str) -> String {
        format!("{}/{}/{serial}", self.base(), segment::CERTIFICATE)
    }

    /// The account id named by a `kid` (RFC 8555 §6.2), if the kid is this server's account
    /// URL for this directory.
    pub fn account_id_from_kid(&self, kid: &str) -> Option<i64> {
        let prefix = format!("{}/{}/", self.base(), segment::ACCOUNT);
        let id = kid.strip_prefix(&prefix)?;
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        id.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kid_must_be_this_servers_account_url() {
        let urls = Urls::new("https://127.0.0.1:8443", "default");
        assert_eq!(urls.account_id_from_kid(&urls.account(42)), Some(42));
        assert_eq!(
            urls.account_id_from_kid("https://evil.test/acme/default/account/42"),
            None
        );
        assert_eq!(
            urls.account_id_from_kid(&format!("{}x", urls.account(4))),
            None
        );
        assert_eq!(
            urls.account_id_from_kid(&Urls::new("https://127.0.0.1:8443", "other").account(4)),
            None
        );
    }
}
