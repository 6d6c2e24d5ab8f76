//! Keys inside a PKCS#11 token (an HSM, or SoftHSM2 in tests): the token and its session
//! pool, the URI that names a key (RFC 7512), signing with a token key, and making one.
//!
//! A token key never leaves the token: basalt holds an object handle and asks the token to
//! sign a digest computed here (`CKM_ECDSA`), then encodes the signature as X.509 wants it.

mod ecdsa_der;
mod generate;
mod key;
mod token;
mod uri;

pub(crate) use key::{Pkcs11Key, take_token_failure};
pub use token::{Pkcs11Token, TokenSelector};
pub use uri::{Pkcs11Uri, UriError};

#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod tests;
