//! The order flow, in the role of Boulder's RA: what an order may contain, which challenges
//! an identifier gets, how long things live, validation scheduling, and the serving
//! certificate. Nothing in here knows about axum.

pub mod caa_recheck;
pub mod expiry_cleanup;
pub mod identifiers;
pub mod serving_certificate;
pub mod validation;
pub mod validity;
