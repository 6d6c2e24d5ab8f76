//! The http-01 test responders: what the token's first word asks for, on plain HTTP, and a
//! TLS server with a self-signed certificate for HTTPS redirect targets.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

use super::THUMBPRINT;

/// Bodies over this many bytes are too large for the validators the tests build.
pub(crate) const BODY_CAP: usize = 1024;

/// Where redirects may point to.
#[derive(Clone, Debug, Default)]
pub(crate) struct Targets {
    /// The port of the HTTPS responder, when one runs.
    pub(crate) https_port: u16,
    /// The host (name or literal, as written in a URL) `hop_` tokens redirect to, on the
    /// same port.
    pub(crate) hop: Option<String>,
}

/// Starts the responder on `bind` (port 0 for a free one) and returns its address.
pub(crate) async fn serve_http(bind: SocketAddr, targets: Targets) -> io::Result<SocketAddr> {
    let listener = TcpListener::bind(bind).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, router(targets)).await;
    });
    Ok(addr)
}

/// Starts an HTTPS responder (self-signed certificate for `a.test`) on a free loopback port.
pub(crate) async fn serve_https() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let listener = TlsListener {
        tcp: listener,
        acceptor: TlsAcceptor::from(Arc::new(server_config())),
    };
    tokio::spawn(async move {
        let _ = axum::serve(listener, router(Targets::default())).await;
    });
    addr
}

fn router(targets: Targets) -> Router {
    Router::new()
        .route("/.well-known/acme-challenge/{token}", get(challenge))
        .route("/elsewhere/{token}", get(elsewhere))
        .route("/secret/{token}", get(secret))
        .with_state(targets)
}

fn key_authorization(token: &str) -> String {
    format!("{token}.{THUMBPRINT}")
}

/// The behaviour is chosen by the token's first word, so one responder serves every test.
async fn challenge(
    State(targets): State<Targets>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let ka = key_authorization(&token);
    match token.split('_').next().unwrap_or_default() {
        "good" => ka.into_response(),
        "newline" => format!("  {ka}\r\n\n").into_response(),
        "wrong" => "this is not the key authorization\n\"quoted\"".into_response(),
        "missing" => StatusCode::NOT_FOUND.into_response(),
        "big" => format!("{ka}{}", " ".repeat(4 * BODY_CAP)).into_response(),
        "bigstream" => {
            // No Content-Length: the cap must hold while streaming.
            let chunks = (0..16).map(|_| Ok::<_, Infallible>(Bytes::from(vec![b'x'; 512])));
            Body::from_stream(futures_util::stream::iter(chunks)).into_response()
        }
        "slow" => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            ka.into_response()
        }
        "badport" => {
            Redirect::temporary("http://a.test:1/.well-known/acme-challenge/x").into_response()
        }
        "ftp" => Redirect::temporary("ftp://a.test/file").into_response(),
        "loop" => {
            Redirect::temporary(&format!("/.well-known/acme-challenge/{token}")).into_response()
        }
        "moved" => Redirect::temporary(&format!("/elsewhere/{token}")).into_response(),
        "tls" => Redirect::temporary(&format!(
            "https://a.test:{}/elsewhere/{token}",
            targets.https_port
        ))
        .into_response(),
        "othername" => {
            // Same port, another name: only the validator's resolver knows `b.test`.
            let port = port_of(&headers);
            Redirect::temporary(&format!("http://b.test:{port}/elsewhere/{token}")).into_response()
        }
        "othersecret" => {
            // Another host answers with something that is not the key authorization.
            let port = port_of(&headers);
            Redirect::temporary(&format!("http://b.test:{port}/secret/{token}")).into_response()
        }
        "hop" => match &targets.hop {
            Some(hop) => {
                let port = port_of(&headers);
                Redirect::temporary(&format!("http://{hop}:{port}/elsewhere/{token}"))
                    .into_response()
            }
            None => StatusCode::NOT_FOUND.into_response(),
        },
        "ua" => {
            let agent = headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if agent.starts_with("basalt/") && agent.contains("ACME validation") {
                ka.into_response()
            } else {
                (
                    StatusCode::FORBIDDEN,
                    format!("unexpected user agent {agent:?}"),
                )
                    .into_response()
            }
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn elsewhere(Path(token): Path<String>) -> String {
    key_authorization(&token)
}

/// What a service behind the CA might answer; must never reach a challenge's error.
pub(crate) const SECRET: &str = "SECRET-instance-credentials";

async fn secret() -> String {
    format!("{SECRET}\nmore secrets")
}

/// The port of the Host header, so redirects stay on the port the validator used.
fn port_of(headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .and_then(|host| host.rsplit_once(':'))
        .map(|(_, port)| port.to_owned())
        .unwrap_or_default()
}

/// A self-signed certificate for `a.test`, ring provider, no client auth.
fn server_config() -> rustls::ServerConfig {
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["a.test".to_owned()]).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(signing_key.serialize_der().into());
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key)
        .unwrap()
}

/// axum's listener over TLS: the handshake happens in `accept` (fine for a test server).
struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(tcp).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}
