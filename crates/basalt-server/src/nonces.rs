//! Anti-replay nonces (RFC 8555 §6.5) that any replica can check and that are accepted once.
//!
//! A nonce is `base64url(expiry ‖ random ‖ HMAC-SHA256(key, expiry ‖ random))`. Issuing one
//! costs no database work: the HMAC proves this CA made it and the expiry bounds its life.
//! Redeeming inserts it into `used_nonces`; the unique key makes a second redemption, on any
//! replica, fail. So a request costs one small insert, and the key is shared through the
//! database (`server_secrets`), never generated per process.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use time::OffsetDateTime;

use basalt_storage::Store;

const EXPIRY_LEN: usize = 8;
const RANDOM_LEN: usize = 16;
const TAG_LEN: usize = 32;
const NONCE_LEN: usize = EXPIRY_LEN + RANDOM_LEN + TAG_LEN;
/// Name of the shared HMAC key in `server_secrets`.
const SECRET_NAME: &str = "nonce-hmac-key";

/// Why a nonce was refused; all of them are `badNonce` to the client (RFC 8555 §6.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NonceRejection {
    /// Not a nonce this CA issued (bad encoding or MAC).
    Unknown,
    /// Issued here but past its lifetime.
    Expired,
    /// Already redeemed once.
    Reused,
}

/// Issues and redeems nonces.
pub struct Nonces {
    key: hmac::Key,
    lifetime: Duration,
    rng: SystemRandom,
}

impl Nonces {
    /// Loads (or, on the very first start, creates) the shared HMAC key.
    pub async fn load(
        store: &Store,
        lifetime: Duration,
        now: OffsetDateTime,
    ) -> Result<Self, basalt_storage::Error> {
        let rng = SystemRandom::new();
        let mut candidate = [0u8; 32];
        rng.fill(&mut candidate)
            .map_err(|_| basalt_storage::Error::Internal("the system RNG failed".into()))?;
        let secret = store.secret(SECRET_NAME, &candidate, now).await?;
        Ok(Self::with_key(&secret, lifetime))
    }

    /// A nonce service with a given key (tests, and `load`).
    pub fn with_key(secret: &[u8], lifetime: Duration) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
            lifetime,
            rng: SystemRandom::new(),
        }
    }

    /// A fresh nonce, unpadded base64url (RFC 8555 §6.5.1).
    pub fn issue(&self, now: OffsetDateTime) -> String {
        let expires =
            now.unix_timestamp() + i64::try_from(self.lifetime.as_secs()).unwrap_or(i64::MAX / 2);
        let mut raw = [0u8; NONCE_LEN];
        raw[..EXPIRY_LEN].copy_from_slice(&expires.to_be_bytes());
        // SystemRandom only fails if the OS has no randomness at all; a zeroed middle part
        // still yields a MAC-protected, single-use nonce.
        let _ = self.rng.fill(&mut raw[EXPIRY_LEN..EXPIRY_LEN + RANDOM_LEN]);
        let tag = hmac::sign(&self.key, &raw[..EXPIRY_LEN + RANDOM_LEN]);
        raw[EXPIRY_LEN + RANDOM_LEN..].copy_from_slice(tag.as_ref());
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Checks the MAC and expiry without touching the database; returns the expiry.
    pub fn check(
        &self,
        nonce: &str,
        now: OffsetDateTime,
    ) -> Result<OffsetDateTime, NonceRejection> {
        let raw = URL_SAFE_NO_PAD
            .decode(nonce)
            .map_err(|_| NonceRejection::Unknown)?;
        if raw.len() != NONCE_LEN {
            return Err(NonceRejection::Unknown);
        }
        let (body, tag) = raw.split_at(EXPIRY_LEN + RANDOM_LEN);
        hmac::verify(&self.key, body, tag).map_err(|_| NonceRejection::Unknown)?;
        let mut expiry = [0u8; EXPIRY_LEN];
        expiry.copy_from_slice(&body[..EXPIRY_LEN]);
        let expires = OffsetDateTime::from_unix_timestamp(i64::from_be_bytes(expiry))
            .map_err(|_| NonceRejection::Unknown)?;
        if expires <= now {
            return Err(NonceRejection::Expired);
        }
        Ok(expires)
    }

    /// Redeems a nonce: valid, unexpired and never used before, on any replica.
    pub async fn redeem(
        &self,
        store: &Store,
        nonce: &str,
        now: OffsetDateTime,
    ) -> Result<Result<(), NonceRejection>, basalt_storage::Error> {
        let expires = match self.check(nonce, now) {
            Ok(expires) => expires,
            Err(rejection) => return Ok(Err(rejection)),
        };
        if store.consume_nonce(nonce, expires).await? {
            Ok(Ok(()))
        } else {
            Ok(Err(NonceRejection::Reused))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_check_their_mac_and_expiry() {
        let now = OffsetDateTime::now_utc();
        let nonces = Nonces::with_key(b"0123456789abcdef0123456789abcdef", Duration::from_secs(60));
        let n = nonces.issue(now);
        assert!(!n.contains('='));
        assert!(nonces.check(&n, now).is_ok());
        assert_eq!(
            nonces.check(&n, now + Duration::from_secs(61)),
            Err(NonceRejection::Expired)
        );
        let other = Nonces::with_key(b"another key, another replica set", Duration::from_secs(60));
        assert_eq!(other.check(&n, now), Err(NonceRejection::Unknown));
        assert_eq!(nonces.check("AAAA", now), Err(NonceRejection::Unknown));
        let mut tampered = n.into_bytes();
        tampered[3] = if tampered[3] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            nonces.check(std::str::from_utf8(&tampered).unwrap(), now),
            Err(NonceRejection::Unknown)
        );
    }
}
