//! Internal faults of the validators.
//!
//! A validation that fails (wrong body, NXDOMAIN, refused connection) is not an error here: it
//! is a [`crate::ValidationOutcome`] carrying a problem, which the caller records on the
//! challenge. [`Error`] is only for the server itself being unable to validate at all.

/// Why a [`crate::Validator`] could not be built (or its configuration read).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The system DNS configuration could not be read (only when no resolver is configured).
    #[error("cannot read the system DNS configuration (/etc/resolv.conf): {0}")]
    SystemResolverConfig(#[source] hickory_resolver::net::NetError),
    /// The DNS resolver could not be built from the configuration.
    #[error("cannot build the DNS resolver: {0}")]
    Resolver(#[source] hickory_resolver::net::NetError),
    /// The TLS client configuration for HTTPS redirect targets could not be built.
    #[error("cannot build the TLS client configuration for http-01 redirects: {0}")]
    Tls(#[source] rustls::Error),
    /// The HTTP client for http-01 could not be built.
    #[error("cannot build the http-01 HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
    /// The TLS client configuration for tls-alpn-01 could not be built.
    #[error("cannot build the TLS client configuration for tls-alpn-01: {0}")]
    TlsAlpn01Client(#[source] rustls::Error),
    /// An egress policy range ([`crate::Cidr`]) could not be read.
    #[error("{0:?} is not an address range (expected e.g. 10.0.0.0/8, fd00::/8 or 127.0.0.1)")]
    Cidr(String),
}
