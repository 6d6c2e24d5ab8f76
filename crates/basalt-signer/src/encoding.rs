//! Byte-level helpers shared by serials, keys and fingerprints: hex text and INTEGER magnitudes.

/// Lowercase hex, two digits per byte.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The magnitude of an unsigned big-endian integer: the bytes after any leading zeros. A DER
/// INTEGER's sign octet (0x00 before a set top bit) is one such zero.
pub(crate) fn magnitude(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}
