//! A private key inside a token, as rcgen's `SigningKey`: the digest is computed here, the
//! token signs it with `CKM_ECDSA` (PKCS#11 v2.40 §2.3.6), and the r ‖ s it returns is
//! re-encoded as DER.
//!
//! rcgen's `sign` can only return `rcgen::Error::RemoteKeyError`, which carries no text. The
//! token's own error is kept in a thread-local beside it (`sign` runs synchronously on the
//! caller's thread), so the issuer can turn it into [`Error::TokenUnavailable`] with the
//! reason.

use std::cell::RefCell;
use std::sync::Arc;

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use rcgen::{PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384, PublicKeyData, SignatureAlgorithm};
use ring::digest;
use ring::signature::{ECDSA_P256_SHA256_ASN1, ECDSA_P384_SHA384_ASN1, VerificationAlgorithm};

use super::ecdsa_der::ecdsa_sig_value;
use super::token::{Live, SessionError};
use super::{Pkcs11Token, Pkcs11Uri};
use crate::Error;

thread_local! {
    /// Why the last token signature on this thread failed.
    static LAST_FAILURE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The token failure behind the `RemoteKeyError` rcgen just returned on this thread, if any.
pub(crate) fn take_token_failure() -> Option<String> {
    LAST_FAILURE.with(|f| f.borrow_mut().take())
}

/// The curves basalt signs with (the intermediate profiles of [`crate::IntermediateKeyAlgorithm`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Curve {
    P256,
    P384,
}

/// RFC 5480 §2.1.1.1 namedCurve OIDs, DER-encoded as CKA_EC_PARAMS holds them.
const P256_PARAMS: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const P384_PARAMS: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];

impl Curve {
    pub(crate) fn ec_params(self) -> &'static [u8] {
        match self {
            Self::P256 => P256_PARAMS,
            Self::P384 => P384_PARAMS,
        }
    }

    fn from_ec_params(params: &[u8]) -> Option<Self> {
        match params {
            P256_PARAMS => Some(Self::P256),
            P384_PARAMS => Some(Self::P384),
            _ => None,
        }
    }

    pub(crate) fn algorithm(self) -> &'static SignatureAlgorithm {
        match self {
            Self::P256 => &PKCS_ECDSA_P256_SHA256,
            Self::P384 => &PKCS_ECDSA_P384_SHA384,
        }
    }

    fn digest(self) -> &'static digest::Algorithm {
        match self {
            Self::P256 => &digest::SHA256,
            Self::P384 => &digest::SHA384,
        }
    }

    fn verification(self) -> &'static dyn VerificationAlgorithm {
        match self {
            Self::P256 => &ECDSA_P256_SHA256_ASN1,
            Self::P384 => &ECDSA_P384_SHA384_ASN1,
        }
    }

    /// Length of an uncompressed point 04 ‖ X ‖ Y (SEC 1 §2.3.3).
    pub(crate) fn point_len(self) -> usize {
        match self {
            Self::P256 => 65,
            Self::P384 => 97,
        }
    }
}

/// An intermediate's private key in a token, checked against its certificate.
pub(crate) struct Pkcs11Key {
    token: Arc<Pkcs11Token>,
    uri: Pkcs11Uri,
    /// The handle cache's key in each pooled session.
    lookup: String,
    curve: Curve,
    /// The certificate's subjectPublicKey (04 ‖ X ‖ Y), which the token key was proven to match.
    public_key: Vec<u8>,
}

impl Pkcs11Key {
    /// Finds the key `uri` names in `token` and proves it is the private half of
    /// `certificate_public_key` (the certificate's subjectPublicKey bits) by signing a test
    /// message and verifying it. Each refusal is [`Error::Token`] naming the key.
    pub(crate) fn load(
        token: Arc<Pkcs11Token>,
        uri: &Pkcs11Uri,
        certificate_public_key: &[u8],
    ) -> Result<Self, Error> {
        let refused = |reason: String| Error::Token {
            what: format!("key {uri} in {}", token.describe()),
            reason,
        };
        if let Some(label) = &uri.token_label
            && label != token.label()
        {
            return Err(refused(format!(
                "the URI names token {label:?}, but the configured token is {:?}",
                token.label()
            )));
        }
        if let Some(serial) = &uri.token_serial
            && serial != token.serial()
        {
            return Err(refused(format!(
                "the URI names token serial {serial:?}, but the configured token's is {:?}",
                token.serial()
            )));
        }
        let lookup = uri.to_string();
        let test_message = b"basalt: does this token key belong to its certificate?";
        let (curve, signature) = token
            .with_session(|live| {
                let handle = find_key(live, &lookup, uri)?;
                let curve = key_curve(&live.session, handle)?;
                let signature = sign(&live.session, handle, curve, test_message)?;
                Ok((curve, signature))
            })
            .map_err(|e| match e {
                SessionError::Unavailable(reason) | SessionError::Refused(reason) => {
                    refused(reason)
                }
            })?;
        ring::signature::UnparsedPublicKey::new(curve.verification(), certificate_public_key)
            .verify(test_message, &signature)
            .map_err(|_| refused("the key does not match the certificate".into()))?;
        Ok(Self {
            token,
            uri: uri.clone(),
            lookup,
            curve,
            public_key: certificate_public_key.to_vec(),
        })
    }
}

impl PublicKeyData for Pkcs11Key {
    fn der_bytes(&self) -> &[u8] {
        &self.public_key
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        self.curve.algorithm()
    }
}

impl rcgen::SigningKey for Pkcs11Key {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        let result = self.token.with_session(|live| {
            // The key was found when it was loaded: missing now, the token is not what it
            // was (a store half-restored, a device swapped), which a reconnect may heal.
            let handle = find_key(live, &self.lookup, &self.uri).map_err(|e| match e {
                SessionError::Refused(reason) => SessionError::Unavailable(reason),
                unavailable => unavailable,
            })?;
            sign(&live.session, handle, self.curve, message)
        });
        result.map_err(|e| {
            let reason = match e {
                SessionError::Unavailable(reason) | SessionError::Refused(reason) => {
                    format!("signing with {}: {reason}", self.uri)
                }
            };
            LAST_FAILURE.with(|f| *f.borrow_mut() = Some(reason));
            rcgen::Error::RemoteKeyError
        })
    }
}

/// The private key's handle, cached per session.
fn find_key(live: &mut Live, lookup: &str, uri: &Pkcs11Uri) -> Result<ObjectHandle, SessionError> {
    if let Some(handle) = live.handles.get(lookup) {
        return Ok(*handle);
    }
    let handle = find_private_key(&live.session, uri)?;
    live.handles.insert(lookup.to_owned(), handle);
    Ok(handle)
}

/// C_FindObjects for the one private key `uri` names (by CKA_LABEL and/or CKA_ID).
pub(crate) fn find_private_key(
    session: &Session,
    uri: &Pkcs11Uri,
) -> Result<ObjectHandle, SessionError> {
    let mut template = vec![Attribute::Class(ObjectClass::PRIVATE_KEY)];
    if let Some(label) = &uri.object {
        template.push(Attribute::Label(label.as_bytes().to_vec()));
    }
    if let Some(id) = &uri.id {
        template.push(Attribute::Id(id.clone()));
    }
    match session.find_objects(&template)?.as_slice() {
        [handle] => Ok(*handle),
        [] => Err(SessionError::Refused(
            "no such private key in the token".into(),
        )),
        several => Err(SessionError::Refused(format!(
            "{} private keys match; give both object= and id=",
            several.len()
        ))),
    }
}

/// The key's curve: an EC key on P-256 or P-384, or a refusal saying what it is.
fn key_curve(session: &Session, handle: ObjectHandle) -> Result<Curve, SessionError> {
    let attributes =
        session.get_attributes(handle, &[AttributeType::KeyType, AttributeType::EcParams])?;
    let mut key_type = None;
    let mut params = None;
    for attribute in attributes {
        match attribute {
            Attribute::KeyType(t) => key_type = Some(t),
            Attribute::EcParams(p) => params = Some(p),
            _ => {}
        }
    }
    if key_type != Some(KeyType::EC) {
        return Err(SessionError::Refused(format!(
            "not an EC key (CKA_KEY_TYPE {}); basalt signs with ECDSA P-256 or P-384",
            key_type.map_or_else(|| "unknown".to_owned(), |t| t.to_string())
        )));
    }
    params
        .as_deref()
        .and_then(Curve::from_ec_params)
        .ok_or_else(|| {
            SessionError::Refused(
                "an EC key on a curve basalt does not use (P-256 and P-384 are supported)".into(),
            )
        })
}

/// Signs `message`: the hash here, ECDSA in the token, DER for X.509.
fn sign(
    session: &Session,
    handle: ObjectHandle,
    curve: Curve,
    message: &[u8],
) -> Result<Vec<u8>, SessionError> {
    let hash = digest::digest(curve.digest(), message);
    let raw = session.sign(&Mechanism::Ecdsa, handle, hash.as_ref())?;
    ecdsa_sig_value(&raw).map_err(SessionError::Unavailable)
}
