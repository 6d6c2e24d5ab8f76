//! RFC 9773 §5: newOrder's `replaces`, checked before the order is stored. Which
//! certificate may be replaced follows Boulder: it exists (in this area, named by its
//! signing intermediate's keyIdentifier), the same account ordered it, and the order shares
//! at least one identifier with it. Whether it was already replaced is settled by the
//! store, in `create_order`'s transaction (`alreadyReplaced`, 409).

use basalt_protocol::{CertId, Identifier, Problem};
use basalt_storage::{AccountRecord, NewReplacement, Store};

use crate::authority::renewal_info::certificate;
use crate::problem::AcmeResult;

/// The replacement to record with the order, or the problem that refuses the order.
pub(crate) async fn check_replaces(
    store: &Store,
    account: &AccountRecord,
    identifiers: &[Identifier],
    replaces: &str,
) -> AcmeResult<NewReplacement> {
    let cert_id = CertId::parse(replaces).map_err(|e| {
        Problem::malformed(format!("\"replaces\" is not a CertID (RFC 9773 §4.1): {e}"))
    })?;
    let certificate = certificate(store, &account.directory, &cert_id).await?;
    // Boulder: "requester account did not request the certificate being replaced".
    if certificate.account_id != account.id {
        return Err(Problem::unauthorized(format!(
            "certificate {} was not issued to this account, so this order cannot replace it",
            certificate.serial
        ))
        .into());
    }
    // Boulder: at least one identifier of the order is in the replaced certificate.
    if !identifiers.iter().any(|i| certificate.names.contains(i)) {
        return Err(Problem::malformed(format!(
            "this order shares no identifier with certificate {}, which it says it replaces",
            certificate.serial
        ))
        .into());
    }
    Ok(NewReplacement {
        certificate_id: certificate.id,
        cert_id: cert_id.to_string(),
    })
}
