//! Problem documents (RFC 7807, as RFC 8555 §6.7 uses them), read leniently: a proxy's plain
//! text 502 page must still produce a readable failure reason.

use std::fmt;

use serde::Deserialize;

/// The `urn:ietf:params:acme:error:` namespace of RFC 8555 §6.7.
const ACME_ERROR_PREFIX: &str = "urn:ietf:params:acme:error:";

/// The members of a problem document this tool reports.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProblemDoc {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub detail: Option<String>,
}

impl ProblemDoc {
    /// Reads a problem document; a body that is not one becomes its first 200 characters as
    /// the detail.
    pub(crate) fn from_body(body: &[u8]) -> Self {
        serde_json::from_slice(body).unwrap_or_else(|_| {
            let text = String::from_utf8_lossy(body);
            let excerpt: String = text.chars().take(200).collect();
            Self {
                kind: None,
                detail: (!excerpt.trim().is_empty()).then(|| excerpt.trim().to_owned()),
            }
        })
    }

    /// True if the type is `urn:ietf:params:acme:error:<short_type>`.
    pub(crate) fn is(&self, short_type: &str) -> bool {
        self.kind
            .as_deref()
            .and_then(|kind| kind.strip_prefix(ACME_ERROR_PREFIX))
            == Some(short_type)
    }
}

impl fmt::Display for ProblemDoc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.kind.as_deref().unwrap_or("(no problem type)");
        match &self.detail {
            Some(detail) => write!(f, "{kind}: {detail}"),
            None => f.write_str(kind),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_nonce_is_recognised_by_its_acme_type() {
        let doc = ProblemDoc::from_body(
            br#"{"type":"urn:ietf:params:acme:error:badNonce","detail":"stale","status":400}"#,
        );
        assert!(doc.is("badNonce"));
        assert!(!doc.is("malformed"));
        assert_eq!(
            doc.to_string(),
            "urn:ietf:params:acme:error:badNonce: stale"
        );
    }

    #[test]
    fn a_plain_text_body_becomes_the_detail() {
        let doc = ProblemDoc::from_body(b"502 Bad Gateway\n");
        assert!(!doc.is("badNonce"));
        assert_eq!(doc.to_string(), "(no problem type): 502 Bad Gateway");
    }
}
