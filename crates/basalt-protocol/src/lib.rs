//! basalt-protocol: the meaning of every RFC 8555 object, header and error type.
//!
//! This crate does no IO and knows nothing of HTTP, databases or keys on disk: it parses and
//! checks what clients send (flattened JWS, JWKs, identifiers) and defines what the server
//! sends back (wire objects, problem documents). Everything else in basalt depends on it.

pub mod cert_id;
pub mod challenge;
pub mod contact;
pub mod eab;
pub mod error;
pub mod identifier;
pub mod jwk;
pub mod jws;
pub mod key_authorization;
pub mod objects;
pub mod problem;
pub mod status;

pub use cert_id::{CertId, CertIdError};
pub use challenge::ChallengeType;
pub use eab::{EabError, ExternalAccountBinding};
pub use error::JwsError;
pub use identifier::{Identifier, IdentifierType, RawIdentifier};
pub use jwk::Jwk;
pub use jws::{Algorithm, Jws, KeyRef, ProtectedHeader};
pub use key_authorization::KeyAuthorization;
pub use problem::{Problem, ProblemType, Subproblem};
pub use status::{AccountStatus, AuthorizationStatus, ChallengeStatus, OrderStatus};
