//! Finalize's last step: reserve a serial, sign outside the database, store the
//! certificate (docs/issuance.md, "The finalize cycle" step 9).
//!
//! The reservation is durable before the signer sees the serial, so every serial that may
//! have been signed is in the `issuances` table, whatever happens next. Signing runs on the
//! blocking pool, holding no transaction and no lock: a PKCS#11 token takes milliseconds
//! per signature, and other requests must not queue behind it.

use std::time::Duration;

use time::OffsetDateTime;

use basalt_signer::{IssuedCertificate, Serial};
use basalt_storage::{NewCertificate, NewIssuance, OrderRecord, ReserveOutcome, Store};

use crate::problem::{AcmeError, AcmeResult};

/// Where the signature is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Signing {
    /// On this task: a key in memory signs in microseconds.
    Inline,
    /// On the blocking pool: a token takes milliseconds and may block on its device.
    Blocking,
}

/// Reserves `new`'s serial for `order` (which the caller checked is ready), then calls
/// `sign` with it and stores the result: the order, now valid. `Ok(Err(order))` when the
/// order was no longer ready (another finalization won), with the order as it is.
///
/// A signer error puts the order back to `ready` (the issuance becomes `failed`: nothing
/// was signed) and is returned as [`AcmeError::Signer`]. A failure after signing (the
/// database, a panic in the signer) leaves the issuance `pending` for the recovery pass
/// (`jobs::issuance_recovery`), which gives the order back.
pub(super) async fn reserve_sign_store<F>(
    store: &Store,
    order: &OrderRecord,
    serial: Serial,
    new: NewIssuance,
    now: OffsetDateTime,
    signing: Signing,
    sign: F,
) -> AcmeResult<Result<OrderRecord, OrderRecord>>
where
    F: FnOnce(&Serial) -> Result<IssuedCertificate, basalt_signer::Error> + Send + 'static,
{
    let intermediate_id = new.intermediate_id;
    let reserved = match store.reserve_issuance(order, &new, now).await? {
        ReserveOutcome::Reserved(reserved) => reserved,
        ReserveOutcome::NotReady(current) => return Ok(Err(current)),
    };
    let signed = match signing {
        Signing::Inline => sign(&serial),
        Signing::Blocking => {
            // The request's span (its request id) goes along to the signer's audit lines.
            let span = tracing::Span::current();
            tokio::task::spawn_blocking(move || span.in_scope(|| sign(&serial)))
                .await
                .map_err(|e| {
                    // Whether it signed is unknown: leave the issuance pending for the recovery
                    // pass rather than claim nothing was signed.
                    AcmeError::Internal(format!(
                        "the signer stopped while signing serial {}: {e}",
                        reserved.serial
                    ))
                })?
        }
    };
    let issued = match signed {
        Ok(issued) => issued,
        Err(e) => {
            // The signer returned an error: nothing was signed, so the order can be
            // finalized again at once. If this write fails, the recovery pass does it.
            if let Err(fail) = store.fail_issuance(reserved.id, now).await {
                tracing::warn!(
                    order.id = order.id,
                    cert.serial = %reserved.serial,
                    error = %fail,
                    "a failed signing could not be recorded; the recovery pass will give the order back"
                );
            }
            return Err(AcmeError::Signer(e));
        }
    };
    let certificate = NewCertificate {
        serial: issued.serial,
        der: issued.der,
        chain_pem: issued.chain_pem,
        names: reserved.names,
        not_before: issued.not_before,
        not_after: issued.not_after,
        intermediate_id: Some(intermediate_id),
        // The profile the order was placed under (NULL for orders from before profiles).
        profile: order.profile.clone(),
    };
    // The certificate is signed: storing it is all that is left, so a database that is
    // briefly away (a failover, a restart) is waited for rather than leaving the order
    // `processing` until the recovery pass. Only `Unavailable` is retried; every other error
    // (a lost compare-and-set) is final.
    let mut wait = STORE_RETRY_FIRST;
    let mut waited = Duration::ZERO;
    loop {
        match store
            .complete_reserved_issuance(reserved.id, &reserved.serial, order, &certificate, now)
            .await
        {
            Ok((order, _)) => return Ok(Ok(order)),
            Err(basalt_storage::Error::Unavailable(detail)) if waited < STORE_RETRY_FOR => {
                tracing::warn!(
                    order.id = order.id,
                    cert.serial = %reserved.serial,
                    error = %detail,
                    "storing a signed certificate failed; retrying"
                );
                tokio::time::sleep(wait).await;
                waited += wait;
                wait = (wait * 2).min(STORE_RETRY_MAX);
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// How long finalize keeps trying to store a certificate it has signed while the database
/// is unavailable, before it answers 503 and leaves the order to the recovery pass.
const STORE_RETRY_FOR: Duration = Duration::from_secs(20);
const STORE_RETRY_FIRST: Duration = Duration::from_millis(100);
const STORE_RETRY_MAX: Duration = Duration::from_secs(2);
