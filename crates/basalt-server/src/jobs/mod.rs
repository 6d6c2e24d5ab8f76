//! Background work that runs beside the request path: the validation worker, basalt's own
//! serving certificate, and the expiry clean-up. Each job keeps its state in the database
//! (rows claimed by lease), so any replica can pick up another's work.

pub(crate) mod crl;
pub(crate) mod expiry_cleanup;
pub(crate) mod serving_certificate;
pub(crate) mod validation;
