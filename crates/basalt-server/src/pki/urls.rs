//! The paths of the plain-HTTP PKI listener, and the URLs leaves carry to reach them.
//!
//! One place names them, so the CRL Distribution Point and AIA caIssuers URLs written into
//! certificates always match what the listener serves.

use crate::config::DirectoryConfig;

/// `GET /crl/<KEYID>.crl`: the intermediate's current CRL (DER).
pub(crate) const CRL_ROUTE: &str = "/crl/{file}";
/// `GET /intermediates/<KEYID>.crt` (DER) or `.pem`.
pub(crate) const INTERMEDIATE_ROUTE: &str = "/intermediates/{file}";
/// `GET /root.crt` (DER) and `/root.pem`.
pub(crate) const ROOT_DER_ROUTE: &str = "/root.crt";
pub(crate) const ROOT_PEM_ROUTE: &str = "/root.pem";

/// The URLs a leaf of an area carries, when the area has a public base URL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PkiUrls {
    /// RFC 5280 §4.2.1.13 CRL Distribution Point; only when the area makes CRLs.
    pub crl: Option<String>,
    /// RFC 5280 §4.2.2.1 Authority Information Access, caIssuers.
    pub ca_issuers: Option<String>,
}

impl PkiUrls {
    /// The URLs for certificates signed by `area`'s active intermediate.
    pub(crate) fn of(area: &DirectoryConfig) -> Self {
        let Some(base) = area.pki_base_url.as_deref() else {
            return Self::default();
        };
        let base = base.trim_end_matches('/');
        let key_id = area.issuer.key_id();
        Self {
            crl: area.crl.as_ref().map(|_| crl_url(base, &key_id)),
            ca_issuers: Some(format!("{base}/intermediates/{key_id}.crt")),
        }
    }
}

/// Where the CRL of the intermediate `key_id` is served under `base`.
pub(crate) fn crl_url(base: &str, key_id: &str) -> String {
    format!("{}/crl/{key_id}.crl", base.trim_end_matches('/'))
}
