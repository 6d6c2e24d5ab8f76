//! Turns stored values into wire record data: TXT values split into character-strings, and
//! CAA records encoded through hickory-proto's `CAA` type so flags, tag and value are exact.

use hickory_proto::rr::rdata::caa::read_issuer;
use hickory_proto::rr::rdata::{CAA, TXT};

use super::records::CaaRecord;

/// A DNS character-string holds at most 255 bytes (RFC 1035 §3.3).
const MAX_CHARACTER_STRING: usize = 255;

/// One TXT record for one value. Values over 255 bytes become several character-strings in
/// the same record, which is how real zones publish long TXT data; clients join them.
pub(crate) fn txt(value: &str) -> TXT {
    let bytes = value.as_bytes();
    if bytes.is_empty() {
        // A TXT record needs at least one character-string, even an empty one.
        return TXT::from_bytes(vec![bytes]);
    }
    TXT::from_bytes(bytes.chunks(MAX_CHARACTER_STRING).collect())
}

/// The CAA record data for one stored record.
///
/// `issue`/`issuewild` values that follow the RFC 8659 grammar are parsed into issuer name
/// and parameters and re-encoded by hickory-proto, so what goes on the wire is what a CA's
/// parser expects. Values that do not parse (and every other tag) are sent byte for byte,
/// because tests of the "malformed issue value forbids issuance" rule need exactly that.
pub(crate) fn caa(record: &CaaRecord) -> CAA {
    let critical = record.flags & 0b1000_0000 != 0;
    let tag = record.tag.to_ascii_lowercase();
    let parsed = match tag.as_str() {
        "issue" | "issuewild" => read_issuer(record.value.as_bytes()).ok(),
        _ => None,
    };
    let mut caa = match parsed {
        Some((name, params)) if tag == "issuewild" => CAA::new_issuewild(critical, name, params),
        Some((name, params)) => CAA::new_issue(critical, name, params),
        None => {
            // CAA is non_exhaustive, so start from any constructor and overwrite the fields.
            let mut raw = CAA::new_issue(critical, None, Vec::new());
            raw.value = record.value.as_bytes().to_vec();
            raw
        }
    };
    // Keep the tag's case and the reserved flag bits as the test wrote them.
    caa.tag.clone_from(&record.tag);
    caa.reserved_flags = record.flags & 0b0111_1111;
    caa
}
