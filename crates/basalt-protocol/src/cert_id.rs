//! RFC 9773 §4.1: the ARI CertID, `base64url(AKI keyIdentifier) "." base64url(serial)`.
//!
//! The CertID names a certificate in the renewalInfo URL and in newOrder's `replaces`
//! (§5). Both parts are unpadded base64url (RFC 4648 §5) of DER content bytes: the
//! authorityKeyIdentifier's keyIdentifier, and the serial INTEGER's content octets, which
//! keep their leading zero when the high bit is set (a positive INTEGER). Parsing is strict:
//! padding, other alphabets, empty parts and non-canonical trailing bits are refused, so
//! one certificate has exactly one CertID and it can be stored and compared as text.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Longest CertID accepted. RFC 5280 caps a serial at 20 octets; a keyIdentifier is
/// 20 (SHA-1) or 32 (SHA-256) octets in practice: 64 octets each is ample room, and
/// anything longer is refused before it is decoded.
pub const MAX_CERT_ID_LEN: usize = 2 * 86 + 1;

/// A parsed CertID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertId {
    key_identifier: Vec<u8>,
    /// The serial INTEGER's DER content octets, as sent.
    serial: Vec<u8>,
}

/// Why a CertID does not parse; the text is meant for a `malformed` problem's detail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertIdError {
    /// Longer than [`MAX_CERT_ID_LEN`].
    #[error("the certificate id is longer than {MAX_CERT_ID_LEN} characters")]
    TooLong,
    /// Not two parts separated by one dot.
    #[error("the certificate id must be base64url(keyIdentifier) \".\" base64url(serial)")]
    Shape,
    /// A part is empty.
    #[error("the certificate id's {0} is empty")]
    Empty(&'static str),
    /// A part is not unpadded, canonical base64url.
    #[error("the certificate id's {0} is not unpadded base64url")]
    Base64(&'static str),
    /// The serial is not the content of a positive DER INTEGER.
    #[error(
        "the certificate id's serial is not a DER INTEGER's content (a positive serial keeps exactly one leading zero octet only when its high bit is set)"
    )]
    Serial,
}

impl CertId {
    /// The CertID of a certificate with this AKI keyIdentifier and serial magnitude
    /// (big-endian, without leading zeros): what a client computes.
    pub fn new(key_identifier: &[u8], serial_magnitude: &[u8]) -> Self {
        let start = serial_magnitude
            .iter()
            .position(|b| *b != 0)
            .unwrap_or(serial_magnitude.len());
        let magnitude = &serial_magnitude[start..];
        // X.690 §8.3: a positive INTEGER whose first octet has the high bit set (or zero)
        // gets a leading zero octet.
        let mut serial = Vec::with_capacity(magnitude.len() + 1);
        if magnitude.first().is_none_or(|b| b & 0x80 != 0) {
            serial.push(0);
        }
        serial.extend_from_slice(magnitude);
        Self {
            key_identifier: key_identifier.to_vec(),
            serial,
        }
    }

    /// RFC 9773 §4.1: parses `text`, refusing anything but the one canonical encoding.
    pub fn parse(text: &str) -> Result<Self, CertIdError> {
        if text.len() > MAX_CERT_ID_LEN {
            return Err(CertIdError::TooLong);
        }
        let (aki, serial) = text.split_once('.').ok_or(CertIdError::Shape)?;
        if serial.contains('.') {
            return Err(CertIdError::Shape);
        }
        let key_identifier = decode(aki, "keyIdentifier")?;
        let serial = decode(serial, "serial")?;
        // X.690 §8.3.2: no redundant leading octet; and RFC 5280 §4.1.2.2: positive.
        let redundant = serial.len() > 1
            && ((serial[0] == 0 && serial[1] & 0x80 == 0)
                || (serial[0] == 0xff && serial[1] & 0x80 != 0));
        if redundant || serial[0] & 0x80 != 0 {
            return Err(CertIdError::Serial);
        }
        Ok(Self {
            key_identifier,
            serial,
        })
    }

    pub fn key_identifier(&self) -> &[u8] {
        &self.key_identifier
    }

    /// The keyIdentifier as lowercase hex: how basalt names intermediates
    /// (`intermediates.key_id`).
    pub fn key_identifier_hex(&self) -> String {
        hex(&self.key_identifier)
    }

    /// The serial as basalt stores it: lowercase hex of the magnitude, without the sign
    /// octet (`00` for zero).
    pub fn serial_hex(&self) -> String {
        let start = self
            .serial
            .iter()
            .position(|b| *b != 0)
            .unwrap_or(self.serial.len() - 1);
        hex(&self.serial[start..])
    }
}

impl std::fmt::Display for CertId {
    /// The canonical text form, as clients send it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&self.key_identifier),
            URL_SAFE_NO_PAD.encode(&self.serial)
        )
    }
}

fn decode(part: &str, what: &'static str) -> Result<Vec<u8>, CertIdError> {
    if part.is_empty() {
        return Err(CertIdError::Empty(what));
    }
    // The engine refuses `=`, `+`, `/` and non-zero trailing bits (non-canonical forms).
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| CertIdError::Base64(what))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests;
