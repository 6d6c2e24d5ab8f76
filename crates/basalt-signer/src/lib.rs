//! basalt-signer: private keys, CSR acceptance and certificate contents.
//!
//! Invariants, stated as absences:
//!
//! * **This is the only crate that touches private keys.** No other crate reads a key file,
//!   generates a key or calls a signing function.
//! * **`serve` never reads the root key.** It loads an [`Issuer`] from an intermediate's files;
//!   the root key is written only encrypted ([`init_pki`]) and decrypted only by
//!   [`decrypt_root_key`], for offline work such as intermediate rotation.
//! * **Never reachable from the network.** The crate has no listener and no HTTP types; the
//!   server calls it in-process after authenticating and authorising a request, and stores what
//!   it returns. It does not depend on storage.
//! * **Nothing from a CSR reaches a certificate except its key and names.** The profile (KU,
//!   EKU, basicConstraints, validity) is decided here, never copied from the request.
//! * **No private key leaves it in the clear for storage.** The serving certificate's key is
//!   handed out sealed under the intermediate ([`ServingCertificate::sealed_key`]) and opened
//!   again only here ([`Issuer::open_serving_key`]); key PEM, key bytes and passphrases are
//!   held in `zeroize::Zeroizing`.

mod ca_profile;
mod csr;
mod csr_names;
mod encoding;
mod error;
mod init;
mod inspect;
mod issue;
mod issuer;
mod key_id;
mod key_policy;
mod paths;
mod random;
mod root_key;
mod serial;
mod serving_key;
mod spki;
mod staged_files;
mod validity;

#[cfg(test)]
mod test_support;

pub use csr::{CheckedCsr, CsrError, check_csr};
pub use error::Error;
pub use init::{InitOptions, InitReport, init_pki};
pub use inspect::{certificate_serial_and_key, pem_to_der, sha256_fingerprint};
pub use issue::{IssueRequest, IssuedCertificate, ServingCertificate};
pub use issuer::Issuer;
pub use paths::PkiPaths;
pub use root_key::{Passphrase, decrypt_root_key, read_root_password};
pub use spki::public_key_jwk;
