//! Records of External Account Binding keys (RFC 8555 §7.3.4).
//!
//! Two read shapes on purpose: [`EabKeyRecord`] (listings, the CLI) never carries the MAC key,
//! so a listing cannot leak one; [`EabKeySecret`] (newAccount's one lookup) does, and its
//! `Debug` hides it so no log line can print it.

use time::OffsetDateTime;

/// A key to create (`basalt eab create`).
#[derive(Clone, PartialEq, Eq)]
pub struct NewEabKey {
    pub kid: String,
    /// The area (ACME directory name) whose newAccount accepts it.
    pub directory: String,
    /// base64url (no padding) of the MAC key.
    pub hmac_key: String,
    pub reusable: bool,
    pub note: Option<String>,
    pub created_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
}

impl std::fmt::Debug for NewEabKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewEabKey")
            .field("kid", &self.kid)
            .field("directory", &self.directory)
            .field("hmac_key", &"<hidden>")
            .field("reusable", &self.reusable)
            .finish_non_exhaustive()
    }
}

/// A stored key, as listed: everything but the MAC key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EabKeyRecord {
    pub kid: String,
    pub directory: String,
    pub reusable: bool,
    pub note: Option<String>,
    pub created_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
    /// Accounts created with this key.
    pub accounts_bound: i64,
    pub last_used_at: Option<OffsetDateTime>,
}

/// A stored key with its MAC key, for checking a binding.
#[derive(Clone, PartialEq, Eq)]
pub struct EabKeySecret {
    pub key: EabKeyRecord,
    /// base64url (no padding) of the MAC key.
    pub hmac_key: String,
}

impl std::fmt::Debug for EabKeySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EabKeySecret")
            .field("key", &self.key)
            .field("hmac_key", &"<hidden>")
            .finish()
    }
}

/// The key a new account binds to: [`crate::Store::insert_account_bound`] counts the account
/// on it in the account's insert transaction, by compare-and-set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EabBinding {
    pub kid: String,
}
