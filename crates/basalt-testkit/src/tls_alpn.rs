//! A tls-alpn-01 responder (RFC 8737, RFC 8738 §6) that tests and scripts configure: for each
//! name (a DNS name or an IP address), the certificate to present when a client asks for it
//! by SNI, either the correct one or one of the broken [`Variant`]s a validator must refuse.
//!
//! Every certificate is self-signed with rcgen and a fresh P-256 key. The correct one has a
//! single subjectAltName (the name) and the critical acmeIdentifier extension holding
//! SHA-256 of the key authorization. rustls' `with_single_cert` would refuse it (webpki does
//! not know the critical extension), so each [`CertifiedKey`] is built by hand and served
//! through a [`ResolvesServerCert`] that picks it by SNI; an IP address is looked up under
//! its reverse-DNS name (`1.0.0.127.in-addr.arpa`, or the `ip6.arpa` nibble form), which is
//! what a validator sends as SNI for it.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use basalt_testkit::tls_alpn::{TlsAlpnResponder, Variant};
//! let responder = TlsAlpnResponder::start().await?;
//! responder.serve_key_authorization("a.test", "token.thumbprint");
//! responder.serve_variant("127.0.0.1", "token.thumbprint", Variant::NonCriticalExtension);
//! println!("tls-alpn-01 on {}", responder.addr());
//! # Ok(())
//! # }
//! ```

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use rcgen::{CertificateParams, CustomExtension, DistinguishedName, KeyPair, SanType};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::PrivateKeyDer;
use rustls::server::{Acceptor, ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{ProtocolVersion, ServerConfig, SupportedProtocolVersion};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_rustls::LazyConfigAcceptor;

/// RFC 8737 §6.2: the ALPN protocol ID of the challenge.
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// RFC 8737 §6.1: id-pe-acmeIdentifier.
const ACME_IDENTIFIER_OID: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 1, 31];

/// How long a client may take to send its ClientHello, finish the handshake, or keep the
/// connection open afterwards.
const CONNECTION_LIMIT: Duration = Duration::from_secs(10);

/// What certificate (and ALPN behaviour) is served for a name. Each broken variant breaks
/// exactly one requirement of RFC 8737 §3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variant {
    /// One subjectAltName (the name), critical acmeIdentifier with SHA-256 of the key
    /// authorization, `acme-tls/1` negotiated.
    Correct,
    /// The acmeIdentifier holds SHA-256 of another key authorization.
    WrongDigest,
    /// The acmeIdentifier extension is present with the right digest but not critical.
    NonCriticalExtension,
    /// No acmeIdentifier extension.
    MissingExtension,
    /// Two subjectAltName entries: the name and `extra-san.invalid`.
    ExtraSan,
    /// One subjectAltName, but for another name: `wrong-san.invalid` for a DNS name,
    /// `192.0.2.1` (or `2001:db8::1`) for an IP address.
    WrongSan,
    /// The correct certificate, but the server does not negotiate `acme-tls/1` (no ALPN
    /// protocol is selected).
    NoAlpn,
    /// The subjectAltName has the wrong type: for an IP address, the address written as a
    /// dNSName; for a DNS name, an iPAddress (`127.0.0.1`) instead of the name.
    IpSanAsDns,
    /// The correct certificate, but the handshake is signed with another key than the one in
    /// the certificate (a server that does not hold the certificate's key).
    MismatchedKey,
}

/// Which TLS versions the responder speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TlsVersions {
    /// TLS 1.3 and TLS 1.2.
    #[default]
    Tls12And13,
    /// TLS 1.2 only.
    Tls12Only,
    /// TLS 1.3 only.
    Tls13Only,
}

impl TlsVersions {
    fn versions(self) -> Vec<&'static SupportedProtocolVersion> {
        match self {
            Self::Tls12And13 => vec![&rustls::version::TLS13, &rustls::version::TLS12],
            Self::Tls12Only => vec![&rustls::version::TLS12],
            Self::Tls13Only => vec![&rustls::version::TLS13],
        }
    }
}

/// What the responder saw of one connection, for tests to check what the validator sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    /// The SNI the client sent, if any.
    pub sni: Option<String>,
    /// The ALPN protocols the client offered (empty when it sent no ALPN extension).
    pub alpn_offered: Vec<Vec<u8>>,
    /// The TLS version negotiated; `None` when the handshake did not complete.
    pub version: Option<ProtocolVersion>,
    /// The ALPN protocol negotiated, if any.
    pub alpn_selected: Option<Vec<u8>>,
}

/// A running tls-alpn-01 responder; dropping it (or [`TlsAlpnResponder::shutdown`]) stops it.
/// Names not configured get no certificate, so their handshake fails.
#[derive(Debug)]
pub struct TlsAlpnResponder {
    addr: SocketAddr,
    state: Arc<State>,
    task: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct State {
    certs: Arc<CertStore>,
    /// Negotiates `acme-tls/1`.
    acme: Arc<ServerConfig>,
    /// Negotiates no protocol ([`Variant::NoAlpn`]).
    no_alpn: Arc<ServerConfig>,
    /// One slot per ClientHello received, in order; `true` once its handshake ended.
    handshakes: Mutex<Vec<(Handshake, bool)>>,
    /// Woken each time a handshake ends.
    handshake_ended: Notify,
}

/// The certificates served, by lookup key (see [`lookup_key`]).
#[derive(Debug, Default)]
struct CertStore {
    entries: RwLock<HashMap<String, Entry>>,
}

#[derive(Debug, Clone)]
struct Entry {
    key: Arc<CertifiedKey>,
    alpn: bool,
}

impl TlsAlpnResponder {
    /// Serves on a free loopback port (`127.0.0.1:0`), TLS 1.2 and 1.3.
    pub async fn start() -> io::Result<Self> {
        Self::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await
    }

    /// Serves on `addr` (for example `127.0.0.1:5001` for scripts), TLS 1.2 and 1.3.
    pub async fn bind(addr: SocketAddr) -> io::Result<Self> {
        Self::bind_with_versions(addr, TlsVersions::default()).await
    }

    /// Serves on `addr`, speaking only `versions`.
    ///
    /// Must be called inside a tokio runtime, which runs the listener task.
    pub async fn bind_with_versions(addr: SocketAddr, versions: TlsVersions) -> io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let certs = Arc::new(CertStore::default());
        let state = Arc::new(State {
            acme: Arc::new(server_config(
                versions,
                Arc::clone(&certs),
                vec![ACME_TLS_ALPN.to_vec()],
            )?),
            no_alpn: Arc::new(server_config(versions, Arc::clone(&certs), Vec::new())?),
            certs,
            handshakes: Mutex::new(Vec::new()),
            handshake_ended: Notify::new(),
        });
        let task = tokio::spawn(serve(listener, Arc::clone(&state)));
        tracing::debug!(%addr, ?versions, "tls-alpn-01 responder listening");
        Ok(Self {
            addr,
            state,
            task: Some(task),
        })
    }

    /// The address the responder listens on (with the real port when 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves the correct certificate for `name` (a DNS name or an IP address as text):
    /// replaces whatever was served for it.
    pub fn serve_key_authorization(&self, name: &str, key_authorization: &str) {
        self.serve_variant(name, key_authorization, Variant::Correct);
    }

    /// Serves `variant` for `name` (a DNS name or an IP address as text), replacing whatever
    /// was served for it.
    ///
    /// # Panics
    ///
    /// If the certificate cannot be made (a name rcgen refuses).
    pub fn serve_variant(&self, name: &str, key_authorization: &str, variant: Variant) {
        let key = certified_key(name, key_authorization, variant).unwrap_or_else(|error| {
            panic!("cannot make a {variant:?} certificate for {name}: {error}")
        });
        let entry = Entry {
            key: Arc::new(key),
            alpn: variant != Variant::NoAlpn,
        };
        self.state.certs.write().insert(lookup_key(name), entry);
    }

    /// Stops serving `name`: its handshakes fail again.
    pub fn remove(&self, name: &str) {
        self.state.certs.write().remove(&lookup_key(name));
    }

    /// Stops serving every name.
    pub fn clear(&self) {
        self.state.certs.write().clear();
    }

    /// Every connection whose ClientHello was received so far, in order. Waits (up to 10 s)
    /// for the handshakes still in progress to end: a client can be done before the server
    /// has processed its last message.
    pub async fn handshakes(&self) -> Vec<Handshake> {
        let deadline = tokio::time::Instant::now() + CONNECTION_LIMIT;
        loop {
            // Registered before the check, so an end signalled in between is not missed.
            let ended = self.state.handshake_ended.notified();
            {
                let slots = self.state.slots();
                if slots.iter().all(|(_, done)| *done) || tokio::time::Instant::now() >= deadline {
                    return slots
                        .iter()
                        .map(|(handshake, _)| handshake.clone())
                        .collect();
                }
            }
            let _ = tokio::time::timeout_at(deadline, ended).await;
        }
    }

    /// Stops the responder and waits until its socket is closed, so the port can be reused.
    pub async fn shutdown(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            // The only possible error is the cancellation just requested.
            let _ = task.await;
        }
    }
}

impl Drop for TlsAlpnResponder {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

impl State {
    fn slots(&self) -> std::sync::MutexGuard<'_, Vec<(Handshake, bool)>> {
        self.handshakes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl CertStore {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Entry>> {
        self.entries.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Entry>> {
        self.entries.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The entry for the SNI a client sent.
    fn find(&self, sni: &str) -> Option<Entry> {
        let key = match ip_from_reverse_name(sni) {
            Some(ip) => ip.to_string(),
            None => lookup_key(sni),
        };
        self.read().get(&key).cloned()
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.find(client_hello.server_name()?)
            .map(|entry| entry.key)
    }
}

fn server_config(
    versions: TlsVersions,
    certs: Arc<CertStore>,
    alpn: Vec<Vec<u8>>,
) -> io::Result<ServerConfig> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&versions.versions())
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_cert_resolver(certs);
    config.alpn_protocols = alpn;
    Ok(config)
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

async fn serve(listener: TcpListener, state: Arc<State>) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(handle(tcp, Arc::clone(&state)));
    }
}

/// One connection: read the ClientHello, pick the configuration by the SNI's entry, finish
/// the handshake, then wait for the client to close (RFC 8737 §3: no data follows).
async fn handle(tcp: TcpStream, state: Arc<State>) {
    let accepted = tokio::time::timeout(
        CONNECTION_LIMIT,
        LazyConfigAcceptor::new(Acceptor::default(), tcp),
    )
    .await;
    let Ok(Ok(start)) = accepted else {
        return;
    };
    let hello = start.client_hello();
    let sni = hello.server_name().map(str::to_owned);
    let alpn_offered: Vec<Vec<u8>> = hello
        .alpn()
        .map(|protocols| protocols.map(<[u8]>::to_vec).collect())
        .unwrap_or_default();
    let entry = sni.as_deref().and_then(|sni| state.certs.find(sni));
    // An unknown name is answered with the ALPN configuration; the resolver finds no
    // certificate for it, so the handshake fails.
    let config = match entry {
        Some(Entry { alpn: false, .. }) => Arc::clone(&state.no_alpn),
        _ => Arc::clone(&state.acme),
    };
    // Recorded before anything is sent back, so the client cannot be done before its slot
    // exists.
    let slot = {
        let mut slots = state.slots();
        slots.push((
            Handshake {
                sni,
                alpn_offered,
                version: None,
                alpn_selected: None,
            },
            false,
        ));
        slots.len() - 1
    };
    let handshake = tokio::time::timeout(CONNECTION_LIMIT, start.into_stream(config)).await;
    let mut stream = handshake.ok().and_then(Result::ok);
    {
        let mut slots = state.slots();
        let (record, done) = &mut slots[slot];
        if let Some(stream) = &stream {
            let (_, connection) = stream.get_ref();
            record.version = connection.protocol_version();
            record.alpn_selected = connection.alpn_protocol().map(<[u8]>::to_vec);
        }
        *done = true;
    }
    state.handshake_ended.notify_waiters();
    if let Some(stream) = &mut stream {
        let mut buf = [0u8; 512];
        let _ = tokio::time::timeout(CONNECTION_LIMIT, async {
            while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
        })
        .await;
    }
}

/// The key under which a name is stored: an IP address in canonical text, a DNS name in
/// lower case without a trailing dot.
fn lookup_key(name: &str) -> String {
    match name.parse::<IpAddr>() {
        Ok(ip) => ip.to_string(),
        Err(_) => name.trim_end_matches('.').to_ascii_lowercase(),
    }
}

/// The address of a reverse-DNS name (RFC 1035 §3.5, RFC 3596 §2.5), the SNI RFC 8738 §6
/// sends for an IP identifier.
fn ip_from_reverse_name(name: &str) -> Option<IpAddr> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if let Some(labels) = name.strip_suffix(".in-addr.arpa") {
        let octets: Vec<u8> = labels
            .split('.')
            .rev()
            .map(|label| label.parse().ok())
            .collect::<Option<_>>()?;
        let octets: [u8; 4] = octets.try_into().ok()?;
        return Some(IpAddr::V4(Ipv4Addr::from(octets)));
    }
    let labels = name.strip_suffix(".ip6.arpa")?;
    let nibbles: Vec<u8> = labels
        .split('.')
        .rev()
        .map(|label| match label.as_bytes() {
            [digit] => (*digit as char)
                .to_digit(16)
                .and_then(|n| u8::try_from(n).ok()),
            _ => None,
        })
        .collect::<Option<_>>()?;
    if nibbles.len() != 32 {
        return None;
    }
    let mut octets = [0u8; 16];
    for (octet, pair) in octets.iter_mut().zip(nibbles.chunks(2)) {
        *octet = (pair[0] << 4) | pair[1];
    }
    Some(IpAddr::V6(Ipv6Addr::from(octets)))
}

/// The certificate and key to serve for `name` in `variant`.
fn certified_key(
    name: &str,
    key_authorization: &str,
    variant: Variant,
) -> anyhow::Result<CertifiedKey> {
    let ip = name.parse::<IpAddr>().ok();
    let own_san = || -> Result<SanType, rcgen::Error> {
        Ok(match ip {
            Some(ip) => SanType::IpAddress(ip),
            None => SanType::DnsName(name.try_into()?),
        })
    };
    let sans = match variant {
        Variant::ExtraSan => vec![
            own_san()?,
            SanType::DnsName("extra-san.invalid".try_into()?),
        ],
        Variant::WrongSan => vec![match ip {
            Some(IpAddr::V4(_)) => SanType::IpAddress(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))),
            Some(IpAddr::V6(_)) => {
                SanType::IpAddress(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)))
            }
            None => SanType::DnsName("wrong-san.invalid".try_into()?),
        }],
        Variant::IpSanAsDns => vec![match ip {
            Some(ip) => SanType::DnsName(ip.to_string().try_into()?),
            None => SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        }],
        _ => vec![own_san()?],
    };
    let digest = sha256(key_authorization);
    let extension = match variant {
        Variant::MissingExtension => None,
        Variant::WrongDigest => Some(CustomExtension::new_acme_identifier(&sha256(&format!(
            "{key_authorization}-wrong"
        )))),
        Variant::NonCriticalExtension => {
            // The same DER OCTET STRING as the correct extension, not marked critical.
            let mut content = vec![0x04, 0x20];
            content.extend_from_slice(&digest);
            let mut extension = CustomExtension::from_oid_content(ACME_IDENTIFIER_OID, content);
            extension.set_criticality(false);
            Some(extension)
        }
        _ => Some(CustomExtension::new_acme_identifier(&digest)),
    };

    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params.subject_alt_names = sans;
    params.custom_extensions = extension.into_iter().collect();
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let cert = params.self_signed(&key)?;

    let signing = match variant {
        Variant::MismatchedKey => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?,
        _ => key,
    };
    let private = PrivateKeyDer::Pkcs8(signing.serialize_der().into());
    let signing_key = provider().key_provider.load_private_key(private)?;
    // Not `CertifiedKey::from_der`: its key check parses the certificate with webpki, which
    // refuses the critical acmeIdentifier extension.
    Ok(CertifiedKey::new(vec![cert.der().clone()], signing_key))
}

fn sha256(text: &str) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverse_names_map_back_to_addresses() {
        assert_eq!(
            ip_from_reverse_name("1.0.0.127.in-addr.arpa"),
            Some(IpAddr::V4(Ipv4Addr::LOCALHOST))
        );
        assert_eq!(
            ip_from_reverse_name(
                "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.IP6.ARPA."
            ),
            Some("4321:0:1:2:3:4:567:89ab".parse().unwrap())
        );
        assert_eq!(ip_from_reverse_name("a.test"), None);
        assert_eq!(ip_from_reverse_name("1.0.127.in-addr.arpa"), None);
        assert_eq!(ip_from_reverse_name("300.0.0.127.in-addr.arpa"), None);
        assert_eq!(ip_from_reverse_name("1.0.ip6.arpa"), None);
    }

    #[test]
    fn names_are_stored_canonically() {
        assert_eq!(lookup_key("A.Test."), "a.test");
        assert_eq!(lookup_key("::0001"), "::1");
    }
}
