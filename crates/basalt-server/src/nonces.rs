//! Anti-replay nonces (RFC 8555 §6.5) that any replica can check and that are accepted once.
//!
//! A nonce is `base64url(expiry ‖ random ‖ HMAC-SHA256(key, expiry ‖ random))`. Issuing one
//! costs no database work: the HMAC proves this CA made it and the expiry bounds its life.
//! Redeeming inserts it into `used_nonces`; the unique key makes a second redemption, on any
//! replica, fail. The key is shared through the database (`server_secrets`), never generated
//! per process.
//!
//! Redemptions are batched. Every database statement is a hand-off to the driver's
//! connection task and back (sqlx; a thread hop on SQLite), and that hand-off, not the
//! insert, is what a redemption used to cost. So requests queue their nonce for one
//! redemption task, which inserts whatever has queued up while its previous statement ran
//! in one statement (`Store::consume_nonces`). There is no timer: on an idle server a batch
//! is one nonce, inserted at once; under load each statement redeems many.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

use basalt_storage::Store;

const EXPIRY_LEN: usize = 8;
const RANDOM_LEN: usize = 16;
const TAG_LEN: usize = 32;
const NONCE_LEN: usize = EXPIRY_LEN + RANDOM_LEN + TAG_LEN;
/// Name of the shared HMAC key in `server_secrets`.
const SECRET_NAME: &str = "nonce-hmac-key";
/// Most nonces one batch redeems, so one statement stays small (`Store::consume_nonces`
/// splits larger inputs anyway).
const MAX_BATCH: usize = 256;
/// Redemptions that may wait for the task; beyond that, `redeem` waits for room.
const QUEUE_CAPACITY: usize = 4 * MAX_BATCH;

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
    /// The redemption task's queue. This is its only sender, so the task ends once the
    /// `Nonces` is dropped (and the queue drained).
    redemptions: mpsc::Sender<Redemption>,
}

/// One nonce waiting for the redemption task, and where its answer goes.
struct Redemption {
    nonce: String,
    expires: OffsetDateTime,
    /// `true` for a first use, `false` for a replay.
    reply: oneshot::Sender<Result<bool, basalt_storage::Error>>,
}

impl Nonces {
    /// Loads (or, on the very first start, creates) the shared HMAC key, and starts the
    /// redemption task (so it must run inside a tokio runtime).
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
        Ok(Self::with_key(store.clone(), &secret, lifetime))
    }

    /// A nonce service with a given key (tests, benches, and `load`), redeeming into
    /// `store`.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime: it spawns the redemption task.
    pub fn with_key(store: Store, secret: &[u8], lifetime: Duration) -> Self {
        let (redemptions, queue) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(redeem_in_batches(store, queue));
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
            lifetime,
            rng: SystemRandom::new(),
            redemptions,
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

    /// Redeems a nonce: valid, unexpired and never used before, on any replica. The
    /// database insert goes through the redemption task, batched with the redemptions of
    /// concurrent requests; if that batch's statement fails, so does this call.
    pub async fn redeem(
        &self,
        nonce: &str,
        now: OffsetDateTime,
    ) -> Result<Result<(), NonceRejection>, basalt_storage::Error> {
        let expires = match self.check(nonce, now) {
            Ok(expires) => expires,
            Err(rejection) => return Ok(Err(rejection)),
        };
        let (reply, answer) = oneshot::channel();
        self.redemptions
            .send(Redemption {
                nonce: nonce.to_owned(),
                expires,
                reply,
            })
            .await
            .map_err(|_| task_stopped())?;
        if answer.await.map_err(|_| task_stopped())?? {
            Ok(Ok(()))
        } else {
            Ok(Err(NonceRejection::Reused))
        }
    }
}

/// The redemption task: waits for a redemption, takes whatever else is already queued (at
/// most [`MAX_BATCH`]), redeems them all with one `Store::consume_nonces`, answers each, and
/// starts over. Ends when the `Nonces` (the only sender) is dropped.
async fn redeem_in_batches(store: Store, mut queue: mpsc::Receiver<Redemption>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (rows, replies): (Vec<_>, Vec<_>) = batch
            .drain(..)
            .map(|r| ((r.nonce, r.expires), r.reply))
            .unzip();
        // A waiter that has gone away (its request was cancelled) no longer needs its
        // answer; its nonce is spent all the same.
        match store.consume_nonces(&rows).await {
            Ok(first_uses) => {
                for (reply, first_use) in replies.into_iter().zip(first_uses) {
                    let _ = reply.send(Ok(first_use));
                }
            }
            Err(e) => {
                for reply in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }
}

/// The redemption task is gone: only a panic in it or a runtime shutting down does that.
fn task_stopped() -> basalt_storage::Error {
    basalt_storage::Error::Internal("the nonce redemption task has stopped".into())
}

#[cfg(test)]
mod tests;
