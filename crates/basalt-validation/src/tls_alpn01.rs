//! tls-alpn-01 (RFC 8737; RFC 8738 §6 for IP identifiers): the identifier's server must
//! answer a TLS handshake that offers only the `acme-tls/1` protocol with a self-signed
//! certificate naming the identifier and carrying the key authorization digest.
//!
//! The validator connects to the configured port (443 in production) of each address the
//! resolver gives that the egress policy allows (checked immediately before each dial, so
//! nothing is sent to a refused address), IPv6 first, until one accepts; sends the DNS name (for an IP identifier,
//! its reverse-DNS name) as SNI; requires the server to negotiate `acme-tls/1`; then checks the
//! leaf certificate (RFC 8737 §3):
//!
//! * exactly one subjectAltName entry, the identifier (a dNSName, compared without regard to
//!   case, or an iPAddress);
//! * the acmeIdentifier extension (1.3.6.1.5.5.7.1.31), critical, holding the DER OCTET
//!   STRING of SHA-256(key authorization).
//!
//! The certificate is self-signed and carries a critical extension webpki does not know, so
//! it is never chain-verified; rustls' own handshake-signature helpers refuse it for the same
//! reason (they parse it with webpki). The verifier here therefore takes the certificate's key
//! with x509-parser and checks the handshake signature against that raw key, so the server
//! does hold the key of the certificate it presented.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use basalt_protocol::{Identifier, IdentifierType, KeyAuthorization, Problem, ProblemType};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use x509_parser::certificate::X509Certificate;
use x509_parser::der_parser::Oid;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;

use crate::config::ValidationConfig;
use crate::egress::EgressPolicy;
use crate::error::Error;
use crate::outcome::{ValidationOutcome, ValidationRecord};
use crate::resolver::DnsResolver;
use crate::tls::AcceptAnyCertificate;

/// RFC 8737 §6.2: the ALPN protocol ID of the challenge.
const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// RFC 8737 §6.1: id-pe-acmeIdentifier, 1.3.6.1.5.5.7.1.31, as DER OID content.
const ACME_IDENTIFIER_OID: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x1f];

/// How many bytes of a wrong acmeIdentifier value are quoted in a failure detail.
const QUOTED_EXTENSION_BYTES: usize = 48;

/// The tls-alpn-01 validator: the TLS client configuration, built once, and the settings it
/// needs per validation.
#[derive(Debug)]
pub(crate) struct TlsAlpn01 {
    client: Arc<rustls::ClientConfig>,
    resolver: DnsResolver,
    port: u16,
    connect_timeout: Duration,
}

impl TlsAlpn01 {
    /// Builds the one TLS client configuration all tls-alpn-01 validations share.
    pub(crate) fn new(config: &ValidationConfig, resolver: DnsResolver) -> Result<Self, Error> {
        let client = client_config().map_err(Error::TlsAlpn01Client)?;
        Ok(Self {
            client: Arc::new(client),
            resolver,
            port: config.tlsalpn01_port,
            connect_timeout: config.connect_timeout,
        })
    }

    /// Connects, handshakes and checks the certificate (RFC 8737 §3).
    pub(crate) async fn validate(
        &self,
        identifier: &Identifier,
        key_authorization: &KeyAuthorization,
        policy: &EgressPolicy,
    ) -> ValidationOutcome {
        if identifier.is_wildcard() {
            // RFC 8737 §3 has the name itself in the certificate; a wildcard is no host to
            // connect to. RFC 8555 §7.1.3: wildcards are proved with dns-01.
            return ValidationOutcome::invalid(
                Vec::new(),
                Problem::malformed(format!(
                    "tls-alpn-01 cannot validate the wildcard name {}; use dns-01",
                    identifier.value()
                )),
            );
        }
        let mut record = ValidationRecord {
            hostname: identifier.value().to_owned(),
            port: Some(self.port),
            ..ValidationRecord::default()
        };
        // RFC 8737 §3: SNI is the domain name; RFC 8738 §6: for an IP address, its reverse-DNS
        // name, and the connection goes to the address itself.
        let (sni, addresses) = match identifier.identifier_type() {
            IdentifierType::Dns => match self.resolver.lookup_addresses(identifier.value()).await {
                Ok(found) => {
                    record.resolver_answers = found.answers;
                    (identifier.value().to_owned(), found.addresses)
                }
                Err(failure) => {
                    return ValidationOutcome::invalid(
                        vec![record],
                        Problem::new(
                            ProblemType::Dns,
                            format!("DNS problem: {} (tls-alpn-01)", failure.detail),
                        ),
                    );
                }
            },
            IdentifierType::Ip => match identifier.value().parse::<IpAddr>() {
                Ok(ip) => (reverse_dns_name(ip), vec![ip]),
                Err(_) => {
                    return ValidationOutcome::invalid(
                        vec![record],
                        Problem::malformed(format!(
                            "the IP identifier {:?} is not an IP address",
                            identifier.value()
                        )),
                    );
                }
            },
        };
        record.addresses_resolved.clone_from(&addresses);
        let Ok(server_name) = ServerName::try_from(sni.clone()) else {
            return ValidationOutcome::invalid(
                vec![record],
                Problem::malformed(format!(
                    "{sni:?} cannot be sent as a TLS server name (SNI); tls-alpn-01 cannot validate it"
                )),
            );
        };

        let (tcp, remote) = match self.connect(identifier.value(), &addresses, policy).await {
            Ok(connected) => connected,
            Err(problem) => return ValidationOutcome::invalid(vec![record], problem),
        };
        record.address_used = Some(remote.ip());
        match self
            .handshake(
                tcp,
                remote,
                server_name,
                &sni,
                identifier,
                key_authorization,
            )
            .await
        {
            None => ValidationOutcome::valid(vec![record]),
            Some(problem) => ValidationOutcome::invalid(vec![record], problem),
        }
    }

    /// The first address (in the resolver's order, IPv6 first) that `policy` allows and that
    /// accepts a TCP connection within the connect timeout; when none does, the problem lists
    /// every attempt, refusals included.
    async fn connect(
        &self,
        host: &str,
        addresses: &[IpAddr],
        policy: &EgressPolicy,
    ) -> Result<(TcpStream, SocketAddr), Problem> {
        let mut failures = Vec::new();
        for ip in addresses {
            // The one dial of this validator: checked right here, on the address dialled.
            if let Err(refused) = policy.check(*ip) {
                failures.push(refused.to_string());
                continue;
            }
            let remote = SocketAddr::new(*ip, self.port);
            match tokio::time::timeout(self.connect_timeout, TcpStream::connect(remote)).await {
                Ok(Ok(tcp)) => return Ok((tcp, remote)),
                Ok(Err(error)) => failures.push(connect_failure(&error, remote)),
                Err(_) => failures.push(format!(
                    "connect timeout: no connection to {remote} within {}",
                    humantime::format_duration(self.connect_timeout)
                )),
            }
        }
        Err(Problem::new(
            ProblemType::Connection,
            format!(
                "tls-alpn-01 could not connect to {host} on port {}: {}",
                self.port,
                failures.join("; ")
            ),
        ))
    }

    /// The TLS handshake and the checks of what it produced; `None` when the challenge is
    /// satisfied. The connection is closed when this returns: RFC 8737 §3 exchanges no data
    /// after the handshake.
    async fn handshake(
        &self,
        tcp: TcpStream,
        remote: SocketAddr,
        server_name: ServerName<'static>,
        sni: &str,
        identifier: &Identifier,
        key_authorization: &KeyAuthorization,
    ) -> Option<Problem> {
        let connector = TlsConnector::from(Arc::clone(&self.client));
        let tls = match tokio::time::timeout(
            self.connect_timeout,
            connector.connect(server_name, tcp),
        )
        .await
        {
            Ok(Ok(tls)) => tls,
            Ok(Err(error)) => {
                return Some(Problem::new(
                    ProblemType::Tls,
                    format!(
                        "TLS handshake with {remote} (SNI {sni}, ALPN acme-tls/1) failed: {}",
                        handshake_failure(&error)
                    ),
                ));
            }
            Err(_) => {
                return Some(Problem::new(
                    ProblemType::Connection,
                    format!(
                        "timed out during the TLS handshake with {remote} (SNI {sni}): not finished within {}",
                        humantime::format_duration(self.connect_timeout)
                    ),
                ));
            }
        };
        let (_, connection) = tls.get_ref();
        tracing::debug!(
            %remote,
            sni,
            version = ?connection.protocol_version(),
            "tls-alpn-01 handshake finished"
        );

        // RFC 8737 §3: the server MUST negotiate acme-tls/1. rustls itself refuses a protocol
        // that was not offered, so the only other outcome is none at all.
        match connection.alpn_protocol() {
            Some(ACME_TLS_ALPN) => {}
            Some(other) => {
                return Some(Problem::new(
                    ProblemType::Tls,
                    format!(
                        "{remote} (SNI {sni}) negotiated the application protocol {:?} instead of \"acme-tls/1\"",
                        String::from_utf8_lossy(other)
                    ),
                ));
            }
            None => {
                return Some(Problem::new(
                    ProblemType::Tls,
                    format!(
                        "{remote} (SNI {sni}) did not negotiate the \"acme-tls/1\" protocol (ALPN); a tls-alpn-01 responder must select it (RFC 8737 §3)"
                    ),
                ));
            }
        }
        let Some(leaf) = connection.peer_certificates().and_then(<[_]>::first) else {
            return Some(Problem::new(
                ProblemType::Tls,
                format!("{remote} (SNI {sni}) presented no certificate"),
            ));
        };
        check_certificate(leaf, identifier, key_authorization)
            .err()
            .map(|why| {
                Problem::new(
                    ProblemType::IncorrectResponse,
                    format!(
                        "the tls-alpn-01 certificate presented by {remote} (SNI {sni}) is not acceptable: {why}"
                    ),
                )
            })
    }
}

/// The client configuration: ring, TLS 1.3 and 1.2, ALPN `acme-tls/1` only, any certificate
/// accepted (its contents are checked after the handshake), handshake signatures verified
/// against the certificate's key, and no session resumption (every validation must see the
/// certificate the server presents now).
fn client_config() -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate::new(provider)))
        .with_no_client_auth();
    // RFC 8737 §3: "the ACME server MUST provide an ALPN extension with the single protocol
    // name acme-tls/1".
    config.alpn_protocols = vec![ACME_TLS_ALPN.to_vec()];
    config.resumption = rustls::client::Resumption::disabled();
    Ok(config)
}

/// Checks the leaf certificate against RFC 8737 §3; the error says which check failed.
fn check_certificate(
    der: &CertificateDer<'_>,
    identifier: &Identifier,
    key_authorization: &KeyAuthorization,
) -> Result<(), String> {
    let (_, cert) = X509Certificate::from_der(der.as_ref())
        .map_err(|error| format!("the certificate could not be parsed ({error})"))?;

    let wanted = match identifier.identifier_type() {
        IdentifierType::Dns => format!("the dNSName {:?}", identifier.value()),
        IdentifierType::Ip => format!("the iPAddress {}", identifier.value()),
    };
    let san = match cert.subject_alternative_name() {
        Ok(Some(san)) => san.value,
        Ok(None) => {
            return Err(format!(
                "the certificate has no subjectAltName extension; it must have exactly one subjectAltName entry, {wanted}"
            ));
        }
        Err(error) => {
            return Err(format!(
                "the certificate's subjectAltName extension could not be read ({error})"
            ));
        }
    };
    let [name] = san.general_names.as_slice() else {
        let names: Vec<String> = san.general_names.iter().map(describe_name).collect();
        return Err(format!(
            "the certificate has {} subjectAltName entries ({}); it must have exactly one, {wanted}",
            names.len(),
            names.join(", ")
        ));
    };
    match (identifier.identifier_type(), name) {
        (IdentifierType::Dns, GeneralName::DNSName(dns))
            if dns.eq_ignore_ascii_case(identifier.value()) => {}
        (IdentifierType::Ip, GeneralName::IPAddress(bytes))
            if identifier
                .value()
                .parse::<IpAddr>()
                .is_ok_and(|ip| ip_bytes(ip) == *bytes) => {}
        (IdentifierType::Dns, GeneralName::DNSName(_))
        | (IdentifierType::Ip, GeneralName::IPAddress(_)) => {
            return Err(format!(
                "the certificate's subjectAltName is {}, not {wanted}",
                describe_name(name)
            ));
        }
        _ => {
            return Err(format!(
                "the certificate's subjectAltName is {}, of the wrong type: it must be {wanted}",
                describe_name(name)
            ));
        }
    }

    let oid = Oid::new(Cow::Borrowed(ACME_IDENTIFIER_OID));
    let extension = match cert.get_extension_unique(&oid) {
        Ok(Some(extension)) => extension,
        Ok(None) => {
            return Err(
                "the certificate has no acmeIdentifier extension (1.3.6.1.5.5.7.1.31)".to_owned(),
            );
        }
        Err(_) => {
            return Err(
                "the certificate has more than one acmeIdentifier extension (1.3.6.1.5.5.7.1.31)"
                    .to_owned(),
            );
        }
    };
    // RFC 8737 §3: "The acmeIdentifier extension MUST be critical".
    if !extension.critical {
        return Err("the certificate's acmeIdentifier extension is not critical".to_owned());
    }
    // RFC 8737 §3: extnValue holds the DER OCTET STRING of SHA-256(key authorization).
    let digest = key_authorization.sha256();
    let mut expected = vec![0x04, 0x20];
    expected.extend_from_slice(&digest);
    if extension.value != expected.as_slice() {
        return Err(format!(
            "the certificate's acmeIdentifier extension does not hold the SHA-256 digest of this challenge's key authorization: expected the DER octet string {}, got {}",
            hex(&expected),
            quote_bytes(extension.value)
        ));
    }
    Ok(())
}

/// A subjectAltName entry as RFC 5280 names its type, for details.
fn describe_name(name: &GeneralName<'_>) -> String {
    match name {
        GeneralName::DNSName(dns) => format!("the dNSName {dns:?}"),
        GeneralName::IPAddress(bytes) => match ip_from_bytes(bytes) {
            Some(ip) => format!("the iPAddress {ip}"),
            None => format!("an iPAddress of {} bytes", bytes.len()),
        },
        other => format!("the entry {other}"),
    }
}

/// The octets of an address as an iPAddress entry holds them (RFC 5280 §4.2.1.6).
fn ip_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    if let Ok(octets) = <[u8; 4]>::try_from(bytes) {
        return Some(IpAddr::from(octets));
    }
    <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from)
}

/// RFC 8738 §6: the SNI of an IP identifier is its reverse-DNS name (RFC 1035 §3.5,
/// RFC 3596 §2.5): `4.3.2.1.in-addr.arpa`, or 32 nibbles then `ip6.arpa`.
fn reverse_dns_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}.in-addr.arpa")
        }
        IpAddr::V6(v6) => {
            let mut name = String::with_capacity(72);
            for byte in v6.octets().iter().rev() {
                // Writing to a String cannot fail.
                let _ = write!(name, "{:x}.{:x}.", byte & 0x0f, byte >> 4);
            }
            name.push_str("ip6.arpa");
            name
        }
    }
}

/// Why a TCP connect failed, naming the address and port.
fn connect_failure(error: &io::Error, remote: SocketAddr) -> String {
    match error.kind() {
        io::ErrorKind::ConnectionRefused => {
            format!("connection refused: nothing accepted a connection to {remote}")
        }
        io::ErrorKind::ConnectionReset => format!("connection reset by {remote}"),
        io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable => {
            format!("{remote} is unreachable")
        }
        _ => format!("connecting to {remote} failed: {error}"),
    }
}

/// Why the handshake failed: the TLS error when there is one (rustls puts it inside the
/// `io::Error`), else what happened to the connection.
fn handshake_failure(error: &io::Error) -> String {
    if let Some(tls) = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        return tls.to_string();
    }
    match error.kind() {
        io::ErrorKind::UnexpectedEof => "the server closed the connection".to_owned(),
        io::ErrorKind::ConnectionReset => "the server reset the connection".to_owned(),
        _ => error.to_string(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut out, byte| {
        let _ = write!(out, "{byte:02x}");
        out
    })
}

/// The start of a wrong extension value, in hex.
fn quote_bytes(bytes: &[u8]) -> String {
    if bytes.len() > QUOTED_EXTENSION_BYTES {
        format!("{}…", hex(&bytes[..QUOTED_EXTENSION_BYTES]))
    } else {
        hex(bytes)
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    #[test]
    fn reverse_names_follow_rfc_1035_and_3596() {
        assert_eq!(
            reverse_dns_name(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1))),
            "1.0.0.127.in-addr.arpa"
        );
        assert_eq!(
            reverse_dns_name(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 34))),
            "34.2.0.192.in-addr.arpa"
        );
        // RFC 3596 §2.5's example.
        let ip: Ipv6Addr = "4321:0:1:2:3:4:567:89ab".parse().unwrap();
        assert_eq!(
            reverse_dns_name(IpAddr::V6(ip)),
            "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa"
        );
        assert_eq!(
            reverse_dns_name(IpAddr::V6(Ipv6Addr::LOCALHOST)),
            format!("1.{}ip6.arpa", "0.".repeat(31))
        );
    }

    #[test]
    fn reverse_names_are_valid_server_names() {
        for ip in [
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ] {
            let name = ServerName::try_from(reverse_dns_name(ip)).unwrap();
            assert!(matches!(name, ServerName::DnsName(_)), "{name:?}");
        }
    }

    #[test]
    fn ip_san_bytes_round_trip() {
        for ip in [
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            IpAddr::V6("2001:db8::1".parse().unwrap()),
        ] {
            assert_eq!(ip_from_bytes(&ip_bytes(ip)), Some(ip));
        }
        assert_eq!(ip_from_bytes(&[1, 2, 3]), None);
    }

    #[test]
    fn the_client_offers_only_acme_tls_1() {
        let config = client_config().unwrap();
        assert_eq!(config.alpn_protocols, vec![b"acme-tls/1".to_vec()]);
    }
}
