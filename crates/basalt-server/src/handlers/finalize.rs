//! Finalizing an order (RFC 8555 §7.4): check the CSR, sign, commit, answer.
//!
//! The certificate is signed inside the storage transaction that moves the order from ready
//! to valid, so it is committed before any client can see it, and an order is never left
//! half-finished: either the certificate and the valid order are both stored, or neither.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use basalt_protocol::objects::FinalizeRequest;
use basalt_protocol::{Problem, ProblemType};
use basalt_signer::{IssueRequest, check_csr};
use basalt_storage::{FinalizeOutcome, NewCertificate};

use crate::authority::caa_recheck::recheck_caa;
use crate::extract::SignedRequest;
use crate::handlers::order::{is_owned, is_ready, order_not_found, order_response};
use crate::policy::validity::{RequestedValidity, window};
use crate::problem::{AcmeError, AcmeResult};
use crate::response::AcmeResponse;
use crate::state::AppState;

pub async fn finalize(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, i64)>,
    req: SignedRequest,
) -> AcmeResult<AcmeResponse> {
    let account = req.account()?;
    let request: FinalizeRequest = req.payload()?;
    // One statement for the order and its authorizations (the CAA recheck needs them).
    let (order, authorizations) = match state.store.order_with_authorizations(id).await? {
        Some((order, authorizations)) if is_owned(&req, &order)? => (order, authorizations),
        _ => return Err(order_not_found(id)),
    };
    let now = state.now();
    if !is_ready(&order, now) {
        return Err(order_not_ready(&order, now));
    }
    let csr_der = URL_SAFE_NO_PAD
        .decode(request.csr.trim_end_matches('='))
        .map_err(|_| Problem::new(ProblemType::BadCsr, "\"csr\" is not base64url-encoded DER"))?;
    let csr = check_csr(&csr_der, &order.identifiers)?;
    // RFC 8555 §11.1: the certificate key must not be the account key.
    if csr.public_key.thumbprint() == account.key_thumbprint {
        return Err(Problem::new(
            ProblemType::BadCsr,
            "the CSR's public key is the account key; use a separate key for the certificate",
        )
        .into());
    }

    recheck_caa(
        &state,
        &req.directory,
        &req.urls.account(account.id),
        &order,
        &authorizations,
        now,
    )
    .await?;

    let requested = RequestedValidity {
        not_before: order.not_before,
        not_after: order.not_after,
    };
    let (not_before, not_after) = window(requested, &req.directory.policy, now);
    // A notAfter the client asked for (RFC 8555 §7.4) may have passed while the order waited;
    // such an order can never be finalized, so it becomes invalid.
    if not_after <= now {
        let problem =
            Problem::malformed("the order's requested notAfter has passed; create a new order");
        state.store.fail_order(id, &problem).await?;
        return Err(problem.into());
    }
    let issuer = req.directory.issuer.clone();
    let outcome = state
        .store
        .finalize_order(&order, now, |order| {
            let issued = issuer.issue(&IssueRequest {
                csr: &csr,
                identifiers: &order.identifiers,
                not_before,
                not_after,
            })?;
            Ok::<_, basalt_signer::Error>(NewCertificate {
                serial: issued.serial,
                der: issued.der,
                chain_pem: issued.chain_pem,
                names: order.identifiers.clone(),
                not_before: issued.not_before,
                not_after: issued.not_after,
            })
        })
        .await?;
    match outcome {
        FinalizeOutcome::Issued { order, certificate } => {
            tracing::info!(
                account.id = account.id,
                order.id = order.id,
                cert.serial = %certificate.serial,
                "certificate issued"
            );
            Ok(order_response(&req, &order, now, StatusCode::OK)
                .location(&req.urls.order(order.id)))
        }
        FinalizeOutcome::NotReady(current) => Err(order_not_ready(&current, now)),
        FinalizeOutcome::Rejected(e) => Err(AcmeError::Signer(e)),
    }
}

/// RFC 8555 §7.4: finalizing an order that is not ready is `403 orderNotReady`.
fn order_not_ready(order: &basalt_storage::OrderRecord, now: time::OffsetDateTime) -> AcmeError {
    let status = crate::views::order_status(order, now);
    Problem::new(
        ProblemType::OrderNotReady,
        format!("the order is {status}, not ready; it can be finalized only once every authorization is valid"),
    )
    .into()
}
