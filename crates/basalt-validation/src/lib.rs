//! basalt-validation: the challenge validators (RFC 8555 §8.3 http-01, §8.4 dns-01, RFC 8737
//! tls-alpn-01 with RFC 8738 §6 for IP addresses).
//!
//! Like Boulder's VA, this crate takes a [`ValidationRequest`] and returns a
//! [`ValidationOutcome`]; it never touches storage and never decides what happens to the
//! challenge, authorization or order. A failed validation is an outcome carrying a
//! [`basalt_protocol::Problem`], not an `Err`: [`Error`] is only for the server being unable
//! to validate at all (for example, no DNS configuration).
//!
//! Every address a validator connects to is first checked against an [`EgressPolicy`]
//! (`egress.rs`), so a challenge cannot be aimed at the CA host, loopback or link-local
//! services.
//!
//! After a successful challenge the validator also checks CAA (RFC 8659, with RFC 8657's
//! `accounturi` and `validationmethods`) when the request carries a [`CaaPolicy`];
//! [`Validator::check_caa`] runs the same check on its own, for finalization.

mod caa;
mod config;
mod dns01;
mod egress;
mod error;
mod http01;
mod outcome;
mod resolver;
mod tls;
mod tls_alpn01;
mod trace;
mod validator;

pub use caa::CaaPolicy;
pub use config::{ValidationConfig, default_user_agent};
pub use egress::{Cidr, EgressPolicy, EgressRefused};
pub use error::Error;
pub use outcome::{ValidationOutcome, ValidationRecord};
pub use validator::{ValidationRequest, Validator};
