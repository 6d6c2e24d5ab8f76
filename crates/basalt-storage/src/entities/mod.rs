//! sea-orm entities, one module per table, mirroring the schema the migrations build.
//!
//! Models never leave this crate: the public API speaks in `records`, so the schema can
//! change without touching callers, and no model is ever serialised as API JSON. Columns
//! hold only portable types (see `crate::time` and `crate::codec`). The only relations
//! declared are those of the joined reads on the hot path (an authorization with its
//! challenges, an order with its authorization links, and for finalization an order with its
//! authorizations and their challenges), so each loads in one statement; they add no
//! constraint (the schema is the migrations').

// The derive macros generate `pub` items (Column, ActiveModel, ...) inside these
// crate-private modules.
#![allow(unreachable_pub)]

pub(crate) mod accounts;
pub(crate) mod authorizations;
pub(crate) mod certificates;
pub(crate) mod challenges;
pub(crate) mod eab_keys;
pub(crate) mod intermediates;
pub(crate) mod issuances;
pub(crate) mod leases;
pub(crate) mod order_authorizations;
pub(crate) mod orders;
pub(crate) mod pki_state;
pub(crate) mod renewal_notices;
pub(crate) mod server_secrets;
pub(crate) mod serving_certificates;
pub(crate) mod used_nonces;
