//! `pkcs11:` URIs (RFC 7512), the subset basalt stores in `intermediates.key_ref`: which
//! token (`token=` label or `serial=`) and which key in it (`object=` label and/or `id=`).
//!
//! The module path and the PIN are deliberately not part of it (RFC 7512 §2.4's
//! `module-path` and `pin-value` query attributes are refused): the URI is stored in the
//! database and shown by `area show`, the module and PIN come from the configuration.

use std::fmt;
use std::str::FromStr;

/// RFC 7512 §3 scheme.
const SCHEME: &str = "pkcs11:";

/// A key in a PKCS#11 token, as a `pkcs11:` URI names it.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Pkcs11Uri {
    /// `token=`: the token label (CKA_LABEL of the token, RFC 7512 §2.3).
    pub token_label: Option<String>,
    /// `serial=`: the token serial number.
    pub token_serial: Option<String>,
    /// `object=`: the key's CKA_LABEL.
    pub object: Option<String>,
    /// `id=`: the key's CKA_ID, raw bytes (basalt uses the certificate's SKI).
    pub id: Option<Vec<u8>>,
}

/// Why a text is not a `pkcs11:` URI basalt accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a usable pkcs11: URI ({0})")]
pub struct UriError(String);

impl fmt::Debug for Pkcs11Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pkcs11Uri({self})")
    }
}

impl fmt::Display for Pkcs11Uri {
    /// Attributes in a fixed order (token, serial, object, id), values %-encoded where
    /// RFC 7512 §2.3 requires it; `id` always fully %-encoded, as p11tool prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(SCHEME)?;
        let mut attributes = Vec::new();
        if let Some(label) = &self.token_label {
            attributes.push(format!("token={}", encode(label.as_bytes(), false)));
        }
        if let Some(serial) = &self.token_serial {
            attributes.push(format!("serial={}", encode(serial.as_bytes(), false)));
        }
        if let Some(object) = &self.object {
            attributes.push(format!("object={}", encode(object.as_bytes(), false)));
        }
        if let Some(id) = &self.id {
            attributes.push(format!("id={}", encode(id, true)));
        }
        f.write_str(&attributes.join(";"))
    }
}

impl FromStr for Pkcs11Uri {
    type Err = UriError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = |why: String| UriError(why);
        let rest = text
            .get(..SCHEME.len())
            .filter(|s| s.eq_ignore_ascii_case(SCHEME))
            .map(|_| &text[SCHEME.len()..])
            .ok_or_else(|| bad("it does not start with pkcs11:".into()))?;
        if rest.contains('?') {
            return Err(bad(
                "query attributes (module-path, pin-value, …) are not accepted; the module \
                 and the PIN come from the configuration"
                    .into(),
            ));
        }
        let mut uri = Self::default();
        for attribute in rest.split(';').filter(|a| !a.is_empty()) {
            let (name, value) = attribute
                .split_once('=')
                .ok_or_else(|| bad(format!("attribute {attribute:?} has no '='")))?;
            let bytes = decode(value).map_err(bad)?;
            let text = || {
                String::from_utf8(bytes.clone())
                    .map_err(|_| bad(format!("the {name} attribute is not UTF-8")))
            };
            let slot = match name {
                "token" => Field::Text(&mut uri.token_label, text()?),
                "serial" => Field::Text(&mut uri.token_serial, text()?),
                "object" => Field::Text(&mut uri.object, text()?),
                "id" => Field::Bytes(&mut uri.id, bytes),
                // RFC 7512 §2.3: p11tool and pkcs11-tool print it; only a private key signs.
                "type" if value == "private" => continue,
                "type" => return Err(bad(format!("type={value}: only a private key can sign"))),
                other => {
                    return Err(bad(format!(
                        "attribute {other:?} is not supported (token, serial, object, id, \
                         type=private are)"
                    )));
                }
            };
            if !slot.set() {
                return Err(bad(format!("attribute {name} appears twice")));
            }
        }
        if uri.object.is_none() && uri.id.is_none() {
            return Err(bad("it names no key (object= or id=)".into()));
        }
        if uri.id.as_ref().is_some_and(Vec::is_empty) {
            return Err(bad("id= is empty".into()));
        }
        Ok(uri)
    }
}

/// One attribute's destination while parsing, so a repeated attribute is caught in one place.
enum Field<'a> {
    Text(&'a mut Option<String>, String),
    Bytes(&'a mut Option<Vec<u8>>, Vec<u8>),
}

impl Field<'_> {
    /// Stores the value; false if the attribute was already set.
    fn set(self) -> bool {
        match self {
            Self::Text(slot, value) => slot.replace(value).is_none(),
            Self::Bytes(slot, value) => slot.replace(value).is_none(),
        }
    }
}

/// RFC 7512 §2.3 `pk11-pchar` without pct-encoding: unreserved and the sub-delims a path
/// attribute value may hold as they are (';' separates attributes, '?' starts the query,
/// '%' escapes, '/' is reserved).
fn is_plain(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-._~:[]@!$'()*+,=&".contains(&byte)
}

fn encode(bytes: &[u8], every_byte: bool) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for &byte in bytes {
        if !every_byte && is_plain(byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn decode(value: &str) -> Result<Vec<u8>, String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let byte = value
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| format!("bad %-escape in {value:?}"))?;
                out.push(byte);
                i += 3;
            }
            byte if is_plain(byte) => {
                out.push(byte);
                i += 1;
            }
            byte => {
                return Err(format!(
                    "character {:?} must be %-encoded in {value:?}",
                    char::from(byte)
                ));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_attributes_basalt_writes_and_round_trips() {
        let uri: Pkcs11Uri = "pkcs11:token=basalt%20CA;object=basalt-prod-0a1b;id=%0A%1B%ff"
            .parse()
            .unwrap();
        assert_eq!(uri.token_label.as_deref(), Some("basalt CA"));
        assert_eq!(uri.object.as_deref(), Some("basalt-prod-0a1b"));
        assert_eq!(uri.id.as_deref(), Some(&[0x0a, 0x1b, 0xff][..]));
        assert_eq!(uri.token_serial, None);
        let text = uri.to_string();
        assert_eq!(
            text,
            "pkcs11:token=basalt%20CA;object=basalt-prod-0a1b;id=%0A%1B%FF"
        );
        assert_eq!(text.parse::<Pkcs11Uri>().unwrap(), uri);

        let by_serial: Pkcs11Uri = "pkcs11:serial=1234abcd;id=%01;type=private"
            .parse()
            .unwrap();
        assert_eq!(by_serial.token_serial.as_deref(), Some("1234abcd"));
        assert_eq!(by_serial.to_string(), "pkcs11:serial=1234abcd;id=%01");
        // Characters that separate attributes survive a round trip.
        let odd = Pkcs11Uri {
            object: Some("a;b?c/d%e é".into()),
            ..Pkcs11Uri::default()
        };
        assert_eq!(odd.to_string().parse::<Pkcs11Uri>().unwrap(), odd);
    }

    #[test]
    fn refuses_what_it_does_not_understand() {
        for (text, needle) in [
            ("token=a;object=b", "pkcs11:"),
            ("pkcs11:token=a;object=b;slot-id=3", "slot-id"),
            ("pkcs11:token=a;manufacturer=x;object=b", "manufacturer"),
            ("pkcs11:object=b?pin-value=1234", "query"),
            ("pkcs11:object=b?module-path=/x.so", "query"),
            ("pkcs11:token=a", "names no key"),
            ("pkcs11:object=a;object=b", "twice"),
            ("pkcs11:object=a%zz", "%-escape"),
            ("pkcs11:object=a%4", "%-escape"),
            ("pkcs11:object=a b", "must be %-encoded"),
            ("pkcs11:object", "no '='"),
            ("pkcs11:id=", "empty"),
            ("pkcs11:object=%FF%FE", "UTF-8"),
            ("pkcs11:object=a;type=public", "private"),
        ] {
            let err = text.parse::<Pkcs11Uri>().unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }
}
