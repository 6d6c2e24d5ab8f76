//! URLs that go into certificates and CRLs (CRL distribution points, caIssuers, the CRL's
//! issuing distribution point).
//!
//! They are encoded as IA5String uniformResourceIdentifier (RFC 5280 §4.2.1.6), which holds
//! only ASCII; rcgen panics on anything else, so every URL is checked here first.

/// `Ok` for an absolute `http://` or `https://` URL of visible ASCII characters, else why not.
/// RFC 5280 §4.2.1.13 and §4.2.2.1 point relying parties at HTTP (or LDAP) URIs; basalt
/// serves its CRLs and certificates over HTTP.
pub(crate) fn check_uri(uri: &str) -> Result<(), String> {
    if !uri.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "{uri:?} holds characters a certificate URI cannot (spaces, controls or non-ASCII)"
        ));
    }
    let rest = uri
        .strip_prefix("http://")
        .or_else(|| uri.strip_prefix("https://"))
        .ok_or_else(|| format!("{uri:?} is not an http:// or https:// URL"))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(format!("{uri:?} has no host"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_absolute_ascii_http_urls_pass() {
        for good in [
            "http://ca.test:8080/crl/ab.crl",
            "https://ca.test/intermediates/ab.crt",
        ] {
            assert_eq!(check_uri(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "ca.test/x",
            "ldap://ca.test/x",
            "http://",
            "http:///x",
            "http://ca.test/a b",
            "http://cä.test/x",
            "http://ca.test/\n",
        ] {
            assert!(check_uri(bad).is_err(), "{bad:?}");
        }
    }
}
