//! Key authorizations (RFC 8555 §8.1) and the digests challenges publish.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// RFC 8555 §8.1: `token || '.' || base64url(Thumbprint(accountKey))`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAuthorization(String);

impl KeyAuthorization {
    /// Builds the key authorization from a challenge token and the account key's RFC 7638
    /// thumbprint (already base64url).
    pub fn new(token: &str, account_thumbprint: &str) -> Self {
        Self(format!("{token}.{account_thumbprint}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// RFC 8555 §8.4: the dns-01 TXT value, base64url(SHA-256(key authorization)).
    pub fn dns01_txt_value(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.sha256())
    }

    /// RFC 8737 §3: the acmeIdentifier extension holds SHA-256(key authorization).
    pub fn sha256(&self) -> [u8; 32] {
        let digest = ring::digest::digest(&ring::digest::SHA256, self.0.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(digest.as_ref());
        out
    }
}

/// RFC 8555 §8.1: a token has at least 128 bits of entropy and is base64url without padding.
/// This checks the shape of a token taken from a URL.
pub fn is_valid_token(token: &str) -> bool {
    token.len() >= 22
        && token.len() <= 128
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns01_value_matches_rfc8555_construction() {
        let ka = KeyAuthorization::new(
            "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA",
            "9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI",
        );
        assert_eq!(
            ka.as_str(),
            "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI"
        );
        assert_eq!(ka.dns01_txt_value().len(), 43);
        assert!(is_valid_token(
            "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
        ));
        assert!(!is_valid_token("../../etc/passwd"));
    }
}
