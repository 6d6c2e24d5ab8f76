//! What a [`crate::Validator`] needs to know: where to connect, which resolvers to ask and how
//! long to wait.
//!
//! The defaults are the production values (RFC 8555 ports, the system resolver); tests and
//! private deployments override the ports and resolvers, because a private CA often validates
//! names that only an internal DNS server knows, on hosts that do not listen on port 80.

use std::net::SocketAddr;
use std::time::Duration;

use crate::egress::EgressPolicy;

/// Settings of the challenge validators. Read once, when the [`crate::Validator`] is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationConfig {
    /// The port http-01 connects to. RFC 8555 §8.3 fixes 80; only tests and private setups
    /// change it.
    pub http01_port: u16,
    /// The port tls-alpn-01 connects to. RFC 8737 §3 fixes 443. http-01 redirects may also go
    /// to it.
    pub tlsalpn01_port: u16,
    /// The DNS resolvers to ask, each with its port. Empty means the system resolver from
    /// `/etc/resolv.conf`.
    pub resolvers: Vec<SocketAddr>,
    /// The limit for each TCP connect, including the DNS lookup that comes before it.
    pub connect_timeout: Duration,
    /// The limit for a whole validation attempt, redirects and body included.
    pub attempt_timeout: Duration,
    /// The largest http-01 response body read. A key authorization is under 200 bytes, so a
    /// bigger body is a misconfigured server, and reading more only costs the CA memory.
    pub max_body_bytes: usize,
    /// The most http-01 redirects followed before the validation fails.
    pub max_redirects: usize,
    /// The User-Agent of http-01 requests, so operators see who is fetching their files.
    pub user_agent: String,
    /// Which addresses validation may connect to, unless a [`crate::ValidationRequest`]
    /// brings its own (a directory's override). The default refuses special-purpose
    /// addresses such as loopback and link-local.
    pub egress: EgressPolicy,
}

impl Default for ValidationConfig {
    fn default() -> Self {
        Self {
            // RFC 8555 §8.3: "on port 80".
            http01_port: 80,
            // RFC 8737 §3: "on port 443".
            tlsalpn01_port: 443,
            resolvers: Vec::new(),
            connect_timeout: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(10),
            max_body_bytes: 64 * 1024,
            max_redirects: 10,
            user_agent: default_user_agent(),
            egress: EgressPolicy::default(),
        }
    }
}

/// `basalt/<version> (ACME validation; +https://github.com/basalt-ca/basalt)`: names the
/// software and where to read about it, like other CAs' validation user agents.
pub fn default_user_agent() -> String {
    format!(
        "basalt/{} (ACME validation; +https://github.com/basalt-ca/basalt)",
        env!("CARGO_PKG_VERSION")
    )
}
