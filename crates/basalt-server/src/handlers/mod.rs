//! One file per ACME resource; each handler takes a [`crate::extract::SignedRequest`] (or a
//! plain request for the few GET resources) and returns a response or an `AcmeError`.

pub mod account;
pub mod authorization;
pub mod certificate;
pub mod directory;
pub mod finalize;
pub mod key_change;
pub mod order;
pub mod revocation;
