//! The order flow, in the role of Boulder's RA and step-ca's authority: one function per
//! ACME operation, taking typed inputs and only the services it needs (store, validator,
//! validation queue, the directory's signer and policy, the time), and returning records or
//! an [`AcmeError`](crate::problem::AcmeError). Nothing in here knows about axum: handlers
//! extract and authenticate, call one function here, and render what it returns.

pub(crate) mod account;
pub(crate) mod caa_recheck;
pub(crate) mod challenge;
pub(crate) mod eab;
pub(crate) mod finalize;
pub(crate) mod key_change;
pub(crate) mod new_order;
pub(crate) mod owned;
pub(crate) mod renewal_info;
pub(crate) mod replaces;
pub(crate) mod revoke;
