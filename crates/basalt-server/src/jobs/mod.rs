//! Background work that runs beside the request path: the validation worker, basalt's own
//! serving certificate, the expiry clean-up, and the recovery of abandoned issuances. Each job keeps its state in the database
//! (rows claimed by lease), so any replica can pick up another's work.

pub(crate) mod crl;
pub(crate) mod expiry_cleanup;
pub(crate) mod issuance_recovery;
pub(crate) mod serving_certificate;
pub(crate) mod validation;
