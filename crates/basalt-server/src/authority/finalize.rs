//! Finalizing an order (RFC 8555 §7.4), in the role of Boulder's `RA.FinalizeOrder`.
//!
//! The checks run in a fixed order, cheapest and least revealing first: the order is the
//! account's, it is ready, the CSR decodes and names exactly the order's identifiers with an
//! acceptable key, that key is not the account key, CAA still allows issuance (for
//! validations older than 8 hours), and the requested notAfter has not passed. Only then is
//! a serial drawn and reserved (durably, with the order moved to processing), the
//! certificate signed outside any transaction, and stored with the order made valid
//! (`issue.rs`): every serial the signer sees is in the database first, and a certificate is
//! committed before any client can see it. The area's name policy and key types are
//! checked again here: a policy change or an intermediate rotation may have narrowed them.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::OffsetDateTime;

use basalt_protocol::{Jwk, OrderStatus, Problem, ProblemType};
use basalt_signer::{CheckedCsr, IssueRequest, Serial, check_csr};
use basalt_storage::{AccountRecord, NewIssuance, OrderRecord, Store};
use basalt_validation::Validator;

use crate::authority::caa_recheck::recheck_caa;
use crate::authority::owned;
use crate::config::DirectoryConfig;
use crate::metrics::Metrics;
use crate::pki::PkiUrls;
use crate::policy::area::check_area_identifiers;
use crate::policy::profile::{check_profile_identifiers, order_profile};
use crate::policy::validity::{RequestedValidity, window};
use crate::problem::{AcmeError, AcmeResult};

mod issue;

/// What the client sent to an order's finalize URL.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FinalizeInput<'a> {
    /// The signing account.
    pub account: &'a AccountRecord,
    /// Its key, as the request was verified with (canonical form).
    pub account_key: &'a Jwk,
    /// The account URL the client used (RFC 8657 `accounturi` for the CAA recheck).
    pub account_uri: &'a str,
    pub order_id: i64,
    /// The `csr` member: base64url DER (RFC 8555 §7.4).
    pub csr: &'a str,
    /// Where the outcome and the signing time are counted.
    pub metrics: &'a Metrics,
}

/// Finalizes the order: returns it `valid`, with its certificate stored.
pub(crate) async fn finalize(
    store: &Store,
    validator: &Validator,
    directory: &DirectoryConfig,
    input: FinalizeInput<'_>,
    now: OffsetDateTime,
) -> AcmeResult<OrderRecord> {
    let account = input.account;
    // One statement for the order and its authorizations (the CAA recheck needs them).
    let (order, authorizations) =
        owned::order_with_authorizations(store, account, input.order_id).await?;
    if order.status.at(order.expires_at, now) != OrderStatus::Ready {
        return Err(order_not_ready(&order, now));
    }
    let csr_der = URL_SAFE_NO_PAD
        .decode(input.csr.trim_end_matches('='))
        .map_err(|_| Problem::new(ProblemType::BadCsr, "\"csr\" is not base64url-encoded DER"))?;
    let csr = check_csr(&csr_der, &order.identifiers)?;
    check_key_type(directory, &csr)?;
    // The area's policy or its active intermediate (after a rotation) may have changed since
    // the order was placed: issue only what the area certifies now (Boulder re-checks its
    // policy at finalize too).
    check_area_identifiers(directory, &order.identifiers)?;
    // The order's profile, as the area defines it now: a reload may have changed or removed
    // it (draft-ietf-acme-profiles-00 §5: invalidProfile; the order stays ready).
    let (profile_name, profile) = order_profile(
        &directory.name,
        &directory.profiles,
        order.profile.as_deref(),
    )?;
    check_profile_identifiers(&directory.name, profile_name, profile, &order.identifiers)?;
    // RFC 8555 §11.1: the certificate key must not be the account key, compared in canonical
    // form (RFC 7518 §6.3.1), never as the client once encoded it.
    if csr.public_key.same_key(input.account_key) {
        return Err(Problem::new(
            ProblemType::BadCsr,
            "the CSR's public key is the account key; use a separate key for the certificate",
        )
        .into());
    }

    recheck_caa(
        validator,
        directory,
        input.account_uri,
        &order,
        &authorizations,
        now,
        input.metrics,
    )
    .await?;

    let requested = RequestedValidity {
        not_before: order.not_before,
        not_after: order.not_after,
    };
    let (not_before, not_after) =
        window(requested, &profile.issuance_policy(&directory.policy), now)?;
    // RFC 5280 §6.1.3 (a)(2): a leaf is only valid while its issuer is; never sign past it.
    let not_after = not_after.min(directory.issuer.not_after());
    // A notAfter the client asked for (RFC 8555 §7.4) may have passed while the order waited;
    // such an order can never be finalized, so it becomes invalid.
    if not_after <= now {
        let problem =
            Problem::malformed("the order's requested notAfter has passed; create a new order");
        store.fail_order(order.id, &problem).await?;
        input.metrics.orders_final(&directory.name, "invalid", 1);
        return Err(problem.into());
    }
    let serial = Serial::random()?;
    let new = NewIssuance {
        serial: serial.text(),
        intermediate_id: directory.intermediate_id,
        spki_der: csr.spki_der.clone(),
        not_before,
        not_after,
    };
    let issuer = directory.issuer.clone();
    // A token signs in milliseconds and may block on its device: off the async threads. A
    // file key signs in microseconds, less than the hand-off to the blocking pool costs.
    let signer = if issuer.key_kind() == "pkcs11" {
        issue::Signing::Blocking
    } else {
        issue::Signing::Inline
    };
    let identifiers = order.identifiers.clone();
    let leaf_profile = profile.leaf.clone();
    let urls = PkiUrls::of(directory);
    let metrics = input.metrics.clone();
    let key_kind = issuer.key_kind();
    let sign = move |serial: &Serial| {
        let started = std::time::Instant::now();
        let issued = issuer.issue(&IssueRequest {
            serial,
            csr: &csr,
            identifiers: &identifiers,
            not_before,
            not_after,
            crl_url: urls.crl.as_deref(),
            ca_issuers_url: urls.ca_issuers.as_deref(),
            profile: &leaf_profile,
        });
        metrics.signed(key_kind, started.elapsed());
        issued
    };
    match issue::reserve_sign_store(store, &order, serial, new, now, signer, sign).await? {
        Ok(order) => {
            let metrics = input.metrics;
            metrics.orders_final(&directory.name, "valid", 1);
            metrics.issued(&directory.name, profile_name, &directory.issuer.key_id());
            tracing::info!(
                account.id = account.id,
                order.id = order.id,
                cert.serial = order.certificate_serial.as_deref().unwrap_or_default(),
                "certificate issued"
            );
            Ok(order)
        }
        Err(current) => Err(order_not_ready(&current, now)),
    }
}

/// The area accepts only some subject key types (`key_types`): `badCSR`, as Boulder answers
/// a CSR key it will not certify.
fn check_key_type(directory: &DirectoryConfig, csr: &CheckedCsr) -> AcmeResult<()> {
    let key_type = csr.key_type();
    if directory.key_types.contains(&key_type) {
        return Ok(());
    }
    let allowed = directory
        .key_types
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    Err(Problem::new(
        ProblemType::BadCsr,
        format!(
            "area {}: the CSR's key is {key_type}, but the area certifies only [{allowed}] (key_types)",
            directory.name
        ),
    )
    .into())
}

/// RFC 8555 §7.4: finalizing an order that is not ready is `403 orderNotReady`.
fn order_not_ready(order: &OrderRecord, now: OffsetDateTime) -> AcmeError {
    let status = order.status.at(order.expires_at, now);
    Problem::new(
        ProblemType::OrderNotReady,
        format!("the order is {status}, not ready; it can be finalized only once every authorization is valid"),
    )
    .into()
}

#[cfg(test)]
mod tests;
