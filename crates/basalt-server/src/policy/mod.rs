//! Issuance policy: pure decisions about what an order may contain and how long things live.
//! The authority layer asks these; they do no IO and know nothing about HTTP.

pub(crate) mod area;
pub(crate) mod identifiers;
pub(crate) mod names;
pub(crate) mod profile;
pub(crate) mod renewal;
pub(crate) mod validity;
