//! HTTPS only (RFC 8555 §6.1): rustls with a certificate that can be swapped while running,
//! and the accept loop serving the router over HTTP/1.1 and HTTP/2, with the timeouts and
//! connection caps that keep slow or numerous clients from locking others out.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use axum::Router;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio_rustls::TlsAcceptor;
use tower::Service;

use crate::accept_backoff::{AcceptBackoff, LogLimiter, is_connection_error};
use crate::config::ConnectionSettings;
use crate::conn_limit::{ConnectionGuard, ConnectionLimits, Refused};
use crate::drain::{Drain, DrainWatch};

/// Hands rustls the current serving certificate; `set` replaces it for new handshakes
/// without a restart.
#[derive(Debug)]
pub struct ServingCertResolver {
    current: ArcSwap<CertifiedKey>,
}

impl ServingCertResolver {
    pub fn new(key: CertifiedKey) -> Self {
        Self {
            current: ArcSwap::from_pointee(key),
        }
    }

    pub fn set(&self, key: CertifiedKey) {
        self.current.store(Arc::new(key));
    }

    /// The leaf currently served.
    pub fn current_leaf(&self) -> Option<CertificateDer<'static>> {
        self.current.load().cert.first().cloned()
    }
}

impl ResolvesServerCert for ServingCertResolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

/// Builds a rustls `CertifiedKey` from a PEM chain and a PKCS#8 PEM key.
pub fn certified_key(chain_pem: &str, key_pem: &str) -> Result<CertifiedKey, String> {
    let chain = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("serving certificate chain: {e}"))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|e| format!("serving key: {e}"))?;
    let provider = rustls::crypto::ring::default_provider();
    CertifiedKey::from_der(chain, key, &provider).map_err(|e| format!("serving certificate: {e}"))
}

/// The TLS configuration, built once: TLS 1.2 and 1.3, ALPN h2 and http/1.1.
pub fn server_config(
    resolver: Arc<ServingCertResolver>,
) -> Result<Arc<rustls::ServerConfig>, String> {
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_no_client_auth()
    .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Accepts connections until `shutdown` completes, each served on its own task; then stops
/// accepting and gives open connections up to `settings.shutdown_timeout` to finish the
/// requests they are serving (graceful shutdown, `drain.rs`).
///
/// Every limit of `settings` applies here (issue 12): connections over the caps are closed
/// unread, accept failures pause the loop instead of spinning (see `accept_backoff`), a
/// TLS handshake and the first request head each have a deadline, and hyper gets a timer so
/// its HTTP/1 header timeout and HTTP/2 keep-alive actually run (without one it drops them
/// silently).
pub async fn serve(
    listener: TcpListener,
    config: Arc<rustls::ServerConfig>,
    router: Router,
    settings: &ConnectionSettings,
    shutdown: impl Future<Output = ()>,
) {
    let acceptor = TlsAcceptor::from(config);
    let limits = ConnectionLimits::new(settings.max_connections, settings.max_connections_per_ip);
    let http = http_builder(settings);
    let mut backoff = AcceptBackoff::default();
    let mut accept_log = LogLimiter::new(LOG_INTERVAL);
    let mut refusal_log = LogLimiter::new(LOG_INTERVAL);
    let drain = Drain::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(conn) => {
                backoff.on_success();
                conn
            }
            Err(e) => {
                let pause = (!is_connection_error(&e)).then(|| backoff.on_error());
                if let Some(suppressed) = accept_log.admit(Instant::now()) {
                    tracing::warn!(
                        error = %e,
                        pause_ms = pause.map_or(0, |p| p.as_millis() as u64),
                        suppressed,
                        "accept failed"
                    );
                }
                if let Some(pause) = pause {
                    tokio::select! {
                        () = tokio::time::sleep(pause) => {}
                        () = &mut shutdown => break,
                    }
                }
                continue;
            }
        };
        let guard = match limits.try_admit(peer.ip()) {
            Ok(guard) => guard,
            Err(refused) => {
                if let Some(suppressed) = refusal_log.admit(Instant::now()) {
                    let cap = match refused {
                        Refused::Total => "server.max_connections",
                        Refused::PerSource => "server.max_connections_per_ip",
                    };
                    tracing::warn!(peer = %peer, cap, suppressed, "connection refused: limit reached");
                }
                // Closed unread: an attacker over the cap costs one accept and one close.
                drop(stream);
                continue;
            }
        };
        tokio::spawn(serve_connection(
            Connection {
                stream,
                peer,
                guard,
            },
            acceptor.clone(),
            http.clone(),
            router.clone(),
            settings.tls_handshake_timeout,
            settings.header_read_timeout,
            drain.watch(),
        ));
    }
    // Closing the listening socket first: a new connection is refused at once (a load
    // balancer tries another replica) instead of waiting in the backlog for an accept that
    // never comes.
    drop(listener);
    tracing::info!(
        timeout_ms = settings.shutdown_timeout.as_millis() as u64,
        "shutting down: finishing open connections"
    );
    if !drain.finish(settings.shutdown_timeout).await {
        tracing::warn!("connections still open at the shutdown timeout were cut");
    }
}

/// At most one log line per second about failed accepts, and one about refused connections.
const LOG_INTERVAL: Duration = Duration::from_secs(1);

/// An accepted connection and its place under the caps, given back when it is dropped.
struct Connection {
    stream: TcpStream,
    peer: SocketAddr,
    guard: ConnectionGuard,
}

/// hyper's connection builder with a timer, so HTTP/1's header timeout (which also ends
/// idle keep-alive connections) and HTTP/2's keep-alive PINGs run.
fn http_builder(settings: &ConnectionSettings) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(settings.http2_keep_alive_interval)
        .keep_alive_timeout(settings.http2_keep_alive_timeout)
        .max_concurrent_streams(settings.http2_max_concurrent_streams);
    builder
}

/// The TLS handshake within `handshake_timeout`, the first request head within
/// `header_read_timeout` after it, then HTTP until either side closes. hyper-util reads the
/// first bytes to tell HTTP/1 from HTTP/2 without any deadline, and HTTP/2 has no header
/// timeout, so the deadline for the first request is kept here for both.
async fn serve_connection(
    conn: Connection,
    acceptor: TlsAcceptor,
    http: Builder<TokioExecutor>,
    router: Router,
    handshake_timeout: Duration,
    header_read_timeout: Duration,
    mut drain: DrainWatch,
) {
    let Connection {
        stream,
        peer,
        guard: _guard,
    } = conn;
    let _ = stream.set_nodelay(true);
    let handshake = tokio::select! {
        handshake = tokio::time::timeout(handshake_timeout, acceptor.accept(stream)) => handshake,
        // No request was started on it yet: nothing to finish.
        () = drain.started() => return,
    };
    let tls = match handshake {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            tracing::debug!(peer = %peer, error = %e, "TLS handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!(peer = %peer, "TLS handshake timed out");
            return;
        }
    };
    let first_request = Arc::new(Notify::new());
    let seen = first_request.clone();
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        seen.notify_one();
        router.clone().call(request)
    });
    let connection = http.serve_connection(TokioIo::new(tls), service);
    tokio::pin!(connection);
    tokio::select! {
        ended = connection.as_mut() => {
            if let Err(e) = ended {
                tracing::debug!(peer = %peer, error = %e, "connection ended with an error");
            }
            return;
        }
        arrived = tokio::time::timeout(header_read_timeout, first_request.notified()) => {
            if arrived.is_err() {
                tracing::debug!(peer = %peer, "no request within the header read timeout");
                return;
            }
        }
        () = drain.started() => connection.as_mut().graceful_shutdown(),
    }
    let ended = tokio::select! {
        ended = connection.as_mut() => ended,
        () = drain.started() => {
            // HTTP/1: close after the response in flight (at once when idle); HTTP/2: GOAWAY,
            // streams in flight finish.
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = ended {
        tracing::debug!(peer = %peer, error = %e, "connection ended with an error");
    }
}
