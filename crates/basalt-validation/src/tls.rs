//! TLS toward applicants' servers, which never present a certificate basalt can verify.
//!
//! RFC 8555 §8.3 lets the http-01 server redirect to HTTPS, and the certificate there is
//! typically the one the client is trying to get, so it cannot be expected to be valid yet;
//! tls-alpn-01 (RFC 8737) presents a self-signed certificate whose contents are the proof.
//! Like Boulder, basalt accepts any certificate in both cases, but still checks the handshake
//! signature against the certificate's key, so the peer does hold that key. The key is read
//! with x509-parser: webpki refuses tls-alpn-01's critical acmeIdentifier extension.
//!
//! The ring provider is passed explicitly, so no process-wide rustls provider is needed
//! (reqwest's `rustls-no-provider` would otherwise panic at the first HTTPS connection).

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, SubjectPublicKeyInfoDer, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, PeerMisbehaved};
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

/// The client configuration for HTTPS redirect targets: ring, safe protocol versions, any
/// certificate accepted.
pub(crate) fn redirect_client_config() -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate::new(provider)))
        .with_no_client_auth();
    Ok(config)
}

/// Accepts any server certificate (see the module doc), but verifies handshake signatures
/// against the certificate's raw key, so the peer does hold that key.
#[derive(Debug)]
pub(crate) struct AcceptAnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl AcceptAnyCertificate {
    pub(crate) fn new(provider: Arc<CryptoProvider>) -> Self {
        Self { provider }
    }
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // Checked after the handshake against RFC 8737 §3, not against any trust anchor.
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        // rustls has no TLS 1.2 helper for raw keys: try each algorithm of the scheme, as
        // `rustls::crypto::verify_tls12_signature` does.
        let spki = certificate_spki(cert)?;
        let key = webpki::RawPublicKeyEntity::try_from(&spki).map_err(pki_error)?;
        let algorithms = self
            .provider
            .signature_verification_algorithms
            .mapping
            .iter()
            .find(|(scheme, _)| *scheme == dss.scheme)
            .map(|(_, algorithms)| *algorithms)
            .ok_or(PeerMisbehaved::SignedHandshakeWithUnadvertisedSigScheme)?;
        let mut last = None;
        for algorithm in algorithms {
            match key.verify_signature(*algorithm, message, dss.signature()) {
                Ok(()) => return Ok(HandshakeSignatureValid::assertion()),
                Err(error @ webpki::Error::UnsupportedSignatureAlgorithmForPublicKeyContext(_)) => {
                    last = Some(error);
                }
                Err(error) => return Err(pki_error(error)),
            }
        }
        Err(last.map_or_else(
            || PeerMisbehaved::SignedHandshakeWithUnadvertisedSigScheme.into(),
            pki_error,
        ))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let spki = certificate_spki(cert)?;
        rustls::crypto::verify_tls13_signature_with_raw_key(
            message,
            &spki,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The SubjectPublicKeyInfo of a certificate, read with x509-parser (which, unlike webpki,
/// does not refuse the critical acmeIdentifier extension).
fn certificate_spki(
    cert: &CertificateDer<'_>,
) -> Result<SubjectPublicKeyInfoDer<'static>, rustls::Error> {
    let (_, parsed) = X509Certificate::from_der(cert.as_ref())
        .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
    Ok(SubjectPublicKeyInfoDer::from(
        parsed.public_key().raw.to_vec(),
    ))
}

/// webpki's error as rustls reports it.
fn pki_error(error: webpki::Error) -> rustls::Error {
    let certificate_error = match error {
        webpki::Error::InvalidSignatureForPublicKey => CertificateError::BadSignature,
        webpki::Error::BadDer | webpki::Error::BadDerTime => CertificateError::BadEncoding,
        other => CertificateError::Other(OtherError(Arc::new(other))),
    };
    rustls::Error::InvalidCertificate(certificate_error)
}
