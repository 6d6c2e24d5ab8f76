//! basalt-signer: private keys, CSR acceptance and certificate contents.
//!
//! Invariants, stated as absences:
//!
//! * **This is the only crate that touches private keys.** No other crate reads a key file,
//!   generates a key or calls a signing function.
//! * **`serve` never reads the root key.** It loads an [`Issuer`] from an intermediate's files;
//!   the root key is written only encrypted ([`init_pki`]) and decrypted only by
//!   [`decrypt_root_key`], for offline work: [`create_intermediate`] (area add and rotate).
//! * **Never reachable from the network.** The crate has no listener and no HTTP types; the
//!   server calls it in-process after authenticating and authorising a request, and stores what
//!   it returns. It does not depend on storage.
//! * **Nothing from a CSR reaches a certificate except its key and names.** The profile (KU,
//!   EKU, basicConstraints, validity) is decided here, never copied from the request.
//! * **A token key never leaves its token.** Keys in a PKCS#11 token ([`KeySource::Pkcs11`])
//!   are made there ([`create_intermediate_in_token`]: sensitive, not extractable) and only
//!   asked to sign digests.
//! * **No private key leaves it in the clear for storage.** The serving certificate's key is
//!   handed out sealed under the intermediate ([`ServingCertificate::sealed_key`]) and opened
//!   again only here ([`Issuer::open_serving_key`]); key PEM, key bytes and passphrases are
//!   held in `zeroize::Zeroizing`.

mod aia;
mod ca_profile;
mod crl;
mod csr;
mod csr_names;
mod encoding;
mod encrypted_key;
mod error;
mod init;
mod inspect;
mod intermediate;
mod ip_range;
mod issue;
mod issuer;
mod key_id;
mod key_policy;
mod key_source;
mod key_type;
mod leaf_profile;
mod name_constraints;
mod paths;
mod pkcs11;
mod random;
mod root_key;
mod seal_secret;
mod serial;
mod serving_key;
mod signing_key;
mod spki;
mod staged_files;
mod uri;
mod validity;

#[cfg(test)]
mod test_support;

pub use crl::{CrlRequest, RevokedEntry};
pub use csr::{CheckedCsr, CsrError, check_csr};
pub use error::Error;
pub use init::{InitOptions, InitReport, check_directory_name, init_pki};
pub use inspect::{
    certificate_expiry_and_key_id, certificate_serial_and_key, pem_to_der, sha256_fingerprint,
};
pub use intermediate::{
    CreatedIntermediate, IntermediateKeyAlgorithm, IntermediateOptions, create_intermediate,
    create_intermediate_in_token,
};
pub use ip_range::IpRange;
pub use issue::{IssueRequest, IssuedCertificate, ServingCertificate};
pub use issuer::Issuer;
pub use key_source::KeySource;
pub use key_type::{KeyType, UnknownKeyType};
pub use leaf_profile::{ExtendedKeyUsage, KeyUsage, LeafProfile, UnknownUsage};
pub use name_constraints::{NameConstraints, certificate_name_constraints};
pub use paths::PkiPaths;
pub use pkcs11::{Pkcs11Token, Pkcs11Uri, TokenSelector, UriError};
pub use root_key::{Passphrase, decrypt_root_key, read_root_password};
pub use seal_secret::load_or_create_seal_secret;
pub use serial::Serial;
pub use spki::public_key_jwk;
pub use staged_files::StagedFiles;
