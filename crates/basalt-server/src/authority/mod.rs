//! The order flow, in the role of Boulder's RA: one function per ACME operation, taking typed
//! inputs and the services it needs, returning records or a domain error. Nothing in here
//! knows about axum.

pub mod caa_recheck;
