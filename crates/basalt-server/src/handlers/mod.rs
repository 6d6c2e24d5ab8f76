//! One file per ACME resource. Each handler extracts and authenticates the request (a
//! [`crate::extract::SignedRequest`], or a plain request for the few GET resources), parses
//! the payload, makes one call into [`crate::authority`], and renders the record it gets back
//! with [`crate::views`]; it makes no decision of its own.

pub(crate) mod account;
pub(crate) mod authorization;
pub(crate) mod certificate;
pub(crate) mod directory;
pub(crate) mod order;
pub(crate) mod renewal_info;
pub(crate) mod revocation;
