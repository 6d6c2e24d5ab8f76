//! Making an intermediate's key pair inside the token (`area add`/`area rotate` with a
//! token): the private key never exists outside it.
//!
//! Attributes (PKCS#11 v2.40 §4.9): the private key is a token object (CKA_TOKEN), usable only
//! after login (CKA_PRIVATE), never revealed in plaintext (CKA_SENSITIVE) nor wrapped out
//! (CKA_EXTRACTABLE false), and used only to sign (CKA_SIGN). The public key is kept beside it
//! (CKA_VERIFY) so tools such as `pkcs11-tool --list-objects` show the pair.

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, ObjectHandle};
use cryptoki::session::Session;
use rcgen::{PublicKeyData, SignatureAlgorithm};

use super::Pkcs11Token;
use super::key::Curve;
use crate::{Error, IntermediateKeyAlgorithm};

/// A key pair just generated in a token, and the session it was made in (kept open so the
/// pair can be named, or destroyed if what follows fails).
pub(crate) struct GeneratedKey {
    session: Session,
    private: ObjectHandle,
    public: ObjectHandle,
    curve: Curve,
    /// 04 ‖ X ‖ Y.
    point: Vec<u8>,
    what: String,
}

impl Pkcs11Token {
    /// Generates an EC key pair for `algorithm`, labelled `label` for now.
    pub(crate) fn generate_key(
        &self,
        algorithm: IntermediateKeyAlgorithm,
        label: &str,
    ) -> Result<GeneratedKey, Error> {
        let curve = match algorithm {
            IntermediateKeyAlgorithm::P256 => Curve::P256,
            IntermediateKeyAlgorithm::P384 => Curve::P384,
        };
        let what = format!("new key {label:?} in {}", self.describe());
        let failed = |reason: String| Error::Token {
            what: what.clone(),
            reason,
        };
        let session = self.rw_session()?;
        let label_bytes = label.as_bytes().to_vec();
        let public_template = [
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::EcParams(curve.ec_params().to_vec()),
            Attribute::Label(label_bytes.clone()),
        ];
        let private_template = [
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Label(label_bytes),
        ];
        let (public, private) = session
            .generate_key_pair(
                &Mechanism::EccKeyPairGen,
                &public_template,
                &private_template,
            )
            .map_err(|e| failed(format!("C_GenerateKeyPair failed: {e}")))?;
        let mut key = GeneratedKey {
            session,
            private,
            public,
            curve,
            point: Vec::new(),
            what: what.clone(),
        };
        match ec_point(&key.session, public, curve) {
            Ok(point) => key.point = point,
            Err(reason) => {
                key.destroy();
                return Err(failed(reason));
            }
        }
        Ok(key)
    }
}

impl GeneratedKey {
    /// Sets the final label and CKA_ID on both halves.
    pub(crate) fn name(&self, label: &str, id: &[u8]) -> Result<(), Error> {
        let template = [
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(id.to_vec()),
        ];
        for handle in [self.private, self.public] {
            self.session
                .update_attributes(handle, &template)
                .map_err(|e| Error::Token {
                    what: self.what.clone(),
                    reason: format!("setting its label and id failed: {e}"),
                })?;
        }
        Ok(())
    }

    /// Removes both halves (what follows the generation failed: nothing is left behind).
    pub(crate) fn destroy(self) {
        for handle in [self.private, self.public] {
            if let Err(e) = self.session.destroy_object(handle) {
                tracing::warn!(key = %self.what, error = %e, "removing a half-made token key failed");
            }
        }
    }
}

impl PublicKeyData for GeneratedKey {
    fn der_bytes(&self) -> &[u8] {
        &self.point
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        self.curve.algorithm()
    }
}

/// CKA_EC_POINT as 04 ‖ X ‖ Y. PKCS#11 v2.40 §2.3.3 says it is a DER OCTET STRING; some
/// tokens return the bare point, accepted too.
fn ec_point(session: &Session, public: ObjectHandle, curve: Curve) -> Result<Vec<u8>, String> {
    let attributes = session
        .get_attributes(public, &[AttributeType::EcPoint])
        .map_err(|e| format!("reading CKA_EC_POINT failed: {e}"))?;
    let Some(Attribute::EcPoint(value)) = attributes.into_iter().next() else {
        return Err("the public key has no CKA_EC_POINT".into());
    };
    let len = curve.point_len();
    let point = match value.as_slice() {
        [0x04, l, rest @ ..] if usize::from(*l) == len && rest.len() == len => rest,
        [0x04, 0x81, l, rest @ ..] if usize::from(*l) == len && rest.len() == len => rest,
        bare if bare.len() == len => bare,
        _ => {
            return Err(format!(
                "CKA_EC_POINT has an unexpected form ({} bytes)",
                value.len()
            ));
        }
    };
    if point.first() != Some(&0x04) {
        return Err("CKA_EC_POINT is not an uncompressed point".into());
    }
    Ok(point.to_vec())
}
