//! The URLs of ACME resources, built from the request's own origin.
//!
//! basalt answers on whatever name the client used (`localhost`, `127.0.0.1`, a configured
//! name), as Boulder does: every URL it hands out starts with `https://<Host>`, so the JWS
//! `url` check (RFC 8555 §6.4) compares against the same origin the client connected to.

use axum::http::request::Parts;
use axum::http::uri::Authority;

/// The origin and directory a request was made under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Urls {
    /// `https://host[:port]`
    origin: String,
    directory: String,
}

/// Every directory's resources live under `/acme/<directory>/`.
const ROUTE_PREFIX: &str = "/acme";

/// The ACME resources basalt serves. Their paths are named here once: the route table
/// registers [`Resource::template`], and the link builders of [`Urls`] fill in the same path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resource {
    Directory,
    NewNonce,
    NewAccount,
    NewOrder,
    RevokeCert,
    KeyChange,
    Account,
    AccountOrders,
    Order,
    Finalize,
    Authorization,
    Challenge,
    Certificate,
    Root,
    /// RFC 9773 §4.1: renewal information, `renewal-info/<CertID>`.
    RenewalInfo,
    /// The text behind a renewalInfo `explanationURL` (RFC 9773 §4.2).
    RenewalNotice,
}

impl Resource {
    /// The path below `/acme/<directory>/`, with `id` where the resource's id goes.
    fn path(self, id: &str) -> String {
        match self {
            Self::Directory => "directory".to_owned(),
            Self::NewNonce => "new-nonce".to_owned(),
            Self::NewAccount => "new-account".to_owned(),
            Self::NewOrder => "new-order".to_owned(),
            Self::RevokeCert => "revoke-cert".to_owned(),
            Self::KeyChange => "key-change".to_owned(),
            Self::Account => format!("account/{id}"),
            Self::AccountOrders => format!("account/{id}/orders"),
            Self::Order => format!("order/{id}"),
            Self::Finalize => format!("order/{id}/finalize"),
            Self::Authorization => format!("authz/{id}"),
            Self::Challenge => format!("challenge/{id}"),
            Self::Certificate => format!("certificate/{id}"),
            Self::Root => "root".to_owned(),
            Self::RenewalInfo => format!("renewal-info/{id}"),
            Self::RenewalNotice => format!("renewal-notice/{id}"),
        }
    }

    /// The route template (axum syntax) the route table registers for this resource.
    pub(crate) fn template(self) -> String {
        let id = match self {
            Self::Certificate => "{serial}",
            _ => "{id}",
        };
        format!("{ROUTE_PREFIX}/{{directory}}/{}", self.path(id))
    }
}

impl Urls {
    pub(crate) fn new(origin: impl Into<String>, directory: impl Into<String>) -> Self {
        Self {
            origin: origin.into(),
            directory: directory.into(),
        }
    }

    /// The origin of a request: `:authority` for HTTP/2, `Host` for HTTP/1.1. `None` when
    /// neither is present or it is not a valid authority.
    pub(crate) fn origin_of(parts: &Parts) -> Option<String> {
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

    /// Which ACME directory a request path is under: `/acme/<name>/...`.
    pub(crate) fn directory_of(path: &str) -> Option<&str> {
        let rest = path.strip_prefix(ROUTE_PREFIX)?.strip_prefix('/')?;
        let name = rest.split('/').next()?;
        (!name.is_empty()).then_some(name)
    }

    /// `https://host[:port]`, as the request named it.
    pub(crate) fn origin(&self) -> &str {
        &self.origin
    }

    pub(crate) fn directory_name(&self) -> &str {
        &self.directory
    }

    /// The URL of `resource` (`id` where it has one) in this origin and directory.
    fn url(&self, resource: Resource, id: impl std::fmt::Display) -> String {
        format!(
            "{}{ROUTE_PREFIX}/{}/{}",
            self.origin,
            self.directory,
            resource.path(&id.to_string())
        )
    }

    pub(crate) fn directory(&self) -> String {
        self.url(Resource::Directory, "")
    }
    pub(crate) fn new_nonce(&self) -> String {
        self.url(Resource::NewNonce, "")
    }
    pub(crate) fn new_account(&self) -> String {
        self.url(Resource::NewAccount, "")
    }
    pub(crate) fn new_order(&self) -> String {
        self.url(Resource::NewOrder, "")
    }
    pub(crate) fn revoke_cert(&self) -> String {
        self.url(Resource::RevokeCert, "")
    }
    pub(crate) fn key_change(&self) -> String {
        self.url(Resource::KeyChange, "")
    }
    pub(crate) fn account(&self, id: i64) -> String {
        self.url(Resource::Account, id)
    }
    pub(crate) fn account_orders(&self, id: i64) -> String {
        self.url(Resource::AccountOrders, id)
    }
    /// The page of an account's orders list that follows order `after` (RFC 8555 §7.1.2.1).
    pub(crate) fn account_orders_page(&self, id: i64, after: i64) -> String {
        format!("{}?cursor={after}", self.account_orders(id))
    }
    pub(crate) fn order(&self, id: i64) -> String {
        self.url(Resource::Order, id)
    }
    pub(crate) fn finalize(&self, id: i64) -> String {
        self.url(Resource::Finalize, id)
    }
    pub(crate) fn authorization(&self, id: i64) -> String {
        self.url(Resource::Authorization, id)
    }
    pub(crate) fn challenge(&self, id: i64) -> String {
        self.url(Resource::Challenge, id)
    }
    /// The root certificate, linked from certificates with `rel="up"`.
    pub(crate) fn root(&self) -> String {
        self.url(Resource::Root, "")
    }
    pub(crate) fn certificate(&self, serial: &str) -> String {
        self.url(Resource::Certificate, serial)
    }
    /// RFC 9773 §4.1: the directory's `renewalInfo`, to which clients append `/<CertID>`.
    pub(crate) fn renewal_info(&self) -> String {
        let mut url = self.url(Resource::RenewalInfo, "");
        url.pop();
        url
    }
    /// An `explanationURL` (RFC 9773 §4.2): a notice id, `revoked` or `rotated`.
    pub(crate) fn renewal_notice(&self, id: impl std::fmt::Display) -> String {
        self.url(Resource::RenewalNotice, id)
    }

    /// What every account URL of this directory starts with (the account id follows).
    pub(crate) fn account_prefix(&self) -> String {
        self.url(Resource::Account, "")
    }

    /// The account id named by a `kid` (RFC 8555 §6.2), if the kid is this server's account
    /// URL for this directory.
    pub(crate) fn account_id_from_kid(&self, kid: &str) -> Option<i64> {
        let prefix = self.account_prefix();
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
    fn links_match_their_route_templates() {
        let urls = Urls::new("https://ca.test", "prod");
        let fill = |r: Resource, id: &str| {
            r.template()
                .replace("{directory}", "prod")
                .replace("{id}", id)
                .replace("{serial}", id)
        };
        assert_eq!(
            urls.order(7),
            format!("https://ca.test{}", fill(Resource::Order, "7"))
        );
        assert_eq!(
            urls.certificate("0a"),
            format!("https://ca.test{}", fill(Resource::Certificate, "0a"))
        );
        assert_eq!(
            urls.directory(),
            format!("https://ca.test{}", fill(Resource::Directory, ""))
        );
        assert_eq!(Urls::directory_of(&fill(Resource::Root, "")), Some("prod"));
        assert_eq!(
            format!("{}/abc.def", urls.renewal_info()),
            format!("https://ca.test{}", fill(Resource::RenewalInfo, "abc.def"))
        );
        assert_eq!(Urls::directory_of("/acme//root"), None);
        assert_eq!(Urls::directory_of("/other/prod/root"), None);
    }

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
