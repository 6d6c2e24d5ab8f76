//! basalt-validation: the challenge validators (RFC 8555 §8.3 http-01, §8.4 dns-01).
//!
//! Like Boulder's VA, this crate takes a [`ValidationRequest`] and returns a
//! [`ValidationOutcome`]; it never touches storage and never decides what happens to the
//! challenge, authorization or order. A failed validation is an outcome carrying a
//! [`basalt_protocol::Problem`], not an `Err`: [`Error`] is only for the server being unable
//! to validate at all (for example, no DNS configuration).

mod config;
mod dns01;
mod error;
mod http01;
mod outcome;
mod resolver;
mod tls;
mod trace;
mod validator;

pub use config::{ValidationConfig, default_user_agent};
pub use error::Error;
pub use outcome::{ValidationOutcome, ValidationRecord};
pub use validator::{ValidationRequest, Validator};
