//! The serving certificate's private key at rest: sealed (AES-256-GCM) under a key derived
//! from the intermediate's private key, so the database row that replicas share holds only
//! ciphertext.
//!
//! Why this design (docs/secrets.md has the whole argument): the serving certificate is one
//! certificate shared by every replica through the database, renewed by whichever replica holds
//! the lease, and a restarted replica carries on from the database alone. Every replica already
//! holds the intermediate key file (it signs leaves with it), so a sealing key derived from it
//! (HKDF-SHA256, RFC 5869) needs no new secret to distribute, and whoever can read the database
//! or its backups but not the intermediate key file learns nothing that lets them impersonate
//! basalt's HTTPS endpoint. Whoever holds the intermediate key can already issue themselves a
//! certificate for basalt's names, so deriving from it adds no new power.
//!
//! An intermediate whose key is in a PKCS#11 token has no private key bytes to derive from
//! (the token never reveals them, by design). Its sealing key is derived instead from a
//! 32-byte random *seal secret* the binary keeps in the data directory (`serving-seal.key`,
//! mode 0600) together with the token key's public key: the public key binds the seal to that
//! intermediate (another intermediate's seal never opens it), the secret keeps it out of reach
//! of whoever holds only the database or its backups. Someone who can read the data directory
//! can open the serving key, but not sign leaves: that still takes the token and its PIN.
//!
//! The sealed form is `v1.` and base64url(nonce ‖ ciphertext ‖ tag). The certificate chain is
//! the additional authenticated data, so a sealed key only opens beside the chain it was
//! issued with.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hkdf::{HKDF_SHA256, Salt};
use zeroize::Zeroizing;

use crate::Error;
use crate::random::random_bytes;

/// HKDF salt and info (RFC 5869 §3.1, §3.2): domain separation, so the derived key is used
/// for nothing else and a future format gets a different key.
const SALT: &[u8] = b"basalt serving-key seal";
const INFO: &[u8] = b"v1 AES-256-GCM";
/// HKDF info for a token key's seal (a different key from any file key's, by construction).
const TOKEN_INFO: &[u8] = b"v1 AES-256-GCM token-key";
/// The seal secret's minimum length: 256 bits, as the AES-256 key it derives.
const MIN_SEAL_SECRET_LEN: usize = 32;
/// Prefix of the stored text: the format version.
const PREFIX: &str = "v1.";

/// The sealing key of one intermediate.
pub(crate) struct ServingKeySeal {
    key: LessSafeKey,
}

impl ServingKeySeal {
    /// Derives the sealing key from the intermediate's PKCS#8 DER (the secret input keying
    /// material of RFC 5869 §2.2).
    pub(crate) fn derive(intermediate_pkcs8_der: &[u8]) -> Result<Self, Error> {
        let prk = Salt::new(HKDF_SHA256, SALT).extract(intermediate_pkcs8_der);
        let okm = prk
            .expand(&[INFO], &AES_256_GCM)
            .map_err(|_| Error::Signing("deriving the serving-key sealing key".into()))?;
        Ok(Self {
            key: LessSafeKey::new(UnboundKey::from(okm)),
        })
    }

    /// Derives the sealing key of an intermediate whose key is in a token: from the binary's
    /// seal secret (the input keying material) and the token key's public key (context in
    /// HKDF's info, RFC 5869 §3.2). A secret shorter than 32 bytes is refused.
    pub(crate) fn derive_for_token_key(
        seal_secret: &[u8],
        public_key: &[u8],
    ) -> Result<Self, Error> {
        if seal_secret.len() < MIN_SEAL_SECRET_LEN {
            return Err(Error::Token {
                what: "the serving-key seal secret".into(),
                reason: format!(
                    "{} bytes; it must hold at least {MIN_SEAL_SECRET_LEN} random bytes",
                    seal_secret.len()
                ),
            });
        }
        let prk = Salt::new(HKDF_SHA256, SALT).extract(seal_secret);
        let info = [TOKEN_INFO, public_key];
        let okm = prk
            .expand(&info, &AES_256_GCM)
            .map_err(|_| Error::Signing("deriving the serving-key sealing key".into()))?;
        Ok(Self {
            key: LessSafeKey::new(UnboundKey::from(okm)),
        })
    }

    /// Seals `key_pem` for storage beside `chain_pem`.
    pub(crate) fn seal(&self, chain_pem: &str, key_pem: &str) -> Result<String, Error> {
        let nonce_bytes = random_bytes::<NONCE_LEN>()?;
        let mut in_out = Zeroizing::new(key_pem.as_bytes().to_vec());
        // A random 96-bit nonce per seal: one seal per serving-certificate renewal, far below
        // the 2^32 messages per key NIST SP 800-38D §8.3 allows for random nonces.
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(chain_pem.as_bytes()),
                &mut *in_out,
            )
            .map_err(|_| Error::Signing("sealing the serving key".into()))?;
        let mut sealed = nonce_bytes.to_vec();
        sealed.extend_from_slice(&in_out);
        Ok(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(sealed)))
    }

    /// Opens what [`ServingKeySeal::seal`] made; fails if it was sealed under another
    /// intermediate, beside another chain, or altered.
    pub(crate) fn open(&self, chain_pem: &str, sealed: &str) -> Result<Zeroizing<String>, Error> {
        let refused = |why: &str| Error::SealedKey(why.to_owned());
        let encoded = sealed
            .strip_prefix(PREFIX)
            .ok_or_else(|| refused("unknown format"))?;
        let mut bytes = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(encoded)
                .map_err(|_| refused("not base64url"))?,
        );
        if bytes.len() < NONCE_LEN {
            return Err(refused("too short"));
        }
        let (nonce, ciphertext) = bytes.split_at_mut(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| refused("bad nonce"))?;
        let plaintext = self
            .key
            .open_in_place(nonce, Aad::from(chain_pem.as_bytes()), ciphertext)
            .map_err(|_| {
                refused("it does not open under this intermediate's key beside this chain")
            })?;
        let text = std::str::from_utf8(plaintext).map_err(|_| refused("not text"))?;
        Ok(Zeroizing::new(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIGHAgEA\n-----END PRIVATE KEY-----\n";

    #[test]
    fn a_sealed_key_opens_only_under_the_same_intermediate_and_chain() {
        let seal = ServingKeySeal::derive(b"intermediate one").unwrap();
        let sealed = seal.seal("chain", PEM).unwrap();
        assert!(sealed.starts_with("v1."));
        assert!(!sealed.contains("PRIVATE KEY"));
        assert!(!sealed.contains("MIGHAgEA"));
        assert_eq!(*seal.open("chain", &sealed).unwrap(), PEM);

        let other = ServingKeySeal::derive(b"intermediate two").unwrap();
        assert!(matches!(
            other.open("chain", &sealed),
            Err(Error::SealedKey(_))
        ));
        assert!(matches!(
            seal.open("another chain", &sealed),
            Err(Error::SealedKey(_))
        ));
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert!(seal.open("chain", &tampered).is_err());
        assert!(seal.open("chain", "v1.").is_err());
        assert!(seal.open("chain", PEM).is_err());
    }

    #[test]
    fn a_token_key_seal_depends_on_the_secret_and_the_public_key() {
        let secret = [7u8; 32];
        let seal = ServingKeySeal::derive_for_token_key(&secret, b"public one").unwrap();
        let sealed = seal.seal("chain", PEM).unwrap();
        let again = ServingKeySeal::derive_for_token_key(&secret, b"public one").unwrap();
        assert_eq!(*again.open("chain", &sealed).unwrap(), PEM);
        for other in [
            ServingKeySeal::derive_for_token_key(&secret, b"public two").unwrap(),
            ServingKeySeal::derive_for_token_key(&[8u8; 32], b"public one").unwrap(),
            ServingKeySeal::derive(&secret).unwrap(),
        ] {
            assert!(other.open("chain", &sealed).is_err());
        }
        assert!(matches!(
            ServingKeySeal::derive_for_token_key(&[1u8; 31], b"public one"),
            Err(Error::Token { .. })
        ));
    }

    #[test]
    fn each_seal_uses_a_fresh_nonce() {
        let seal = ServingKeySeal::derive(b"intermediate").unwrap();
        assert_ne!(
            seal.seal("chain", PEM).unwrap(),
            seal.seal("chain", PEM).unwrap()
        );
    }
}
