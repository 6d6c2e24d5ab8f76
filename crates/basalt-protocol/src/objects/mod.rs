//! RFC 8555 §7.1 resource objects as the server sends them, and the request payloads clients
//! send (§7.3–§7.6).
//!
//! Requests deliberately do not deny unknown fields: RFC 8555 §7.3 says the server "MUST
//! ignore ... any other fields that it does not recognize". Responses are built from plain
//! values here, never from storage models.

mod account;
mod authorization;
mod directory;
mod key_change;
mod order;
mod renewal_info;
mod revocation;
mod timestamp;

pub use account::{AccountObject, AccountUpdateRequest, NewAccountRequest};
pub use authorization::{AuthorizationObject, AuthorizationUpdateRequest, ChallengeObject};
pub use directory::{Directory, DirectoryMeta};
pub use key_change::KeyChangeRequest;
pub use order::{FinalizeRequest, NewOrderRequest, OrderList, OrderObject};
pub use renewal_info::{RenewalInfo, SuggestedWindow};
pub use revocation::{RevocationReason, RevokeCertRequest};
pub use timestamp::{format_timestamp, parse_timestamp};
