//! Certificate serial numbers: 128 random bits, positive, and one text form for storage.
//!
//! RFC 5280 §4.1.2.2: the serial is a positive INTEGER of at most 20 octets, unique per issuer.
//! CA/B Forum BR §7.1 asks for at least 64 bits of CSPRNG output; basalt uses 128, so
//! uniqueness holds by probability without a database round trip before signing.

use rcgen::SerialNumber;

use crate::Error;
use crate::encoding::{hex, magnitude};
use crate::random::random_bytes;

/// A fresh random serial for a new certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Serial {
    /// The INTEGER's magnitude, big-endian, without leading zero bytes (never empty).
    value: Vec<u8>,
}

impl Serial {
    /// 128 random bits. rcgen writes `SerialNumber` bytes as a *positive* DER INTEGER: it strips
    /// leading zero bytes and prepends 0x00 when the top bit is set (yasna
    /// `write_bigint_bytes(.., true)`), so every random bit is kept and no bit has to be
    /// cleared. The all-zero draw (probability 2^-128) is redrawn, because RFC 5280 §4.1.2.2
    /// forbids a zero serial.
    pub fn random() -> Result<Self, Error> {
        loop {
            let bytes = random_bytes::<16>()?;
            let value = magnitude(&bytes);
            if !value.is_empty() {
                return Ok(Self {
                    value: value.to_vec(),
                });
            }
        }
    }

    pub(crate) fn to_rcgen(&self) -> SerialNumber {
        SerialNumber::from_slice(&self.value)
    }

    /// The storage and log form; see [`serial_text`].
    pub fn text(&self) -> String {
        hex(&self.value)
    }
}

/// The one text form of a serial used across basalt: lowercase hex of the INTEGER's value,
/// without the DER sign octet or any leading zero byte. `raw` may be the DER content octets of
/// the INTEGER (as x509-parser's `raw_serial` returns them) or the bare magnitude.
pub(crate) fn serial_text(raw: &[u8]) -> String {
    let value = magnitude(raw);
    if value.is_empty() {
        "00".to_owned()
    } else {
        hex(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_serials_differ_and_have_no_leading_zero_byte() {
        let a = Serial::random().unwrap();
        let b = Serial::random().unwrap();
        assert_ne!(a, b);
        assert!(a.value.len() <= 16 && a.value[0] != 0);
    }

    #[test]
    fn text_form_drops_the_sign_octet() {
        assert_eq!(serial_text(&[0x00, 0x80, 0x01]), "8001");
        assert_eq!(serial_text(&[0x7f]), "7f");
        assert_eq!(serial_text(&[0x00]), "00");
    }
}
