//! The one HTTP client all workers share, with its TLS trust and connection pool.
//!
//! One client means one keep-alive pool: each worker's requests reuse connections instead
//! of paying a TLS handshake per request, which would make the load generator, not the CA,
//! the bottleneck. TLS is a rustls configuration built here on ring and handed to reqwest
//! preconfigured, so no process-wide crypto provider is needed.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

use crate::error::Error;
use crate::insecure_tls::AcceptAnyServerCertificate;

/// Any single request taking longer than this counts as a transport failure and is retried.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where trust in the ACME server's certificate comes from.
pub(crate) enum Trust<'a> {
    CaBundle(&'a Path),
    Insecure,
}

pub(crate) fn build_http_client(trust: Trust<'_>, http2: bool) -> Result<reqwest::Client, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()?;
    let mut tls = match trust {
        Trust::CaBundle(path) => builder
            .with_root_certificates(root_store(path)?)
            .with_no_client_auth(),
        Trust::Insecure => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyServerCertificate::new(provider)))
            .with_no_client_auth(),
    };
    // reqwest takes a preconfigured config as it is, so ALPN decides the HTTP version.
    tls.alpn_protocols = if http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };

    let mut builder = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true)
        .user_agent(concat!("basalt-load/", env!("CARGO_PKG_VERSION")));
    if !http2 {
        builder = builder.http1_only();
    }
    builder.build().map_err(Error::HttpClient)
}

fn root_store(path: &Path) -> Result<rustls::RootCertStore, Error> {
    let bundle_error = |reason: String| Error::CaBundle {
        path: path.to_owned(),
        reason,
    };
    let certificates: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| bundle_error(e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| bundle_error(e.to_string()))?;
    let mut roots = rustls::RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(certificates);
    if added == 0 {
        return Err(bundle_error("holds no usable CERTIFICATE".into()));
    }
    Ok(roots)
}
