//! CertID parsing: the RFC 9773 §4.1 example, leading-zero serials, and every malformed form.

use super::*;

/// RFC 9773 §4.1's example: keyIdentifier 69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4
/// and serial 00:87:65:43:21.
const RFC_EXAMPLE: &str = "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE";

#[test]
fn the_rfc_example_parses_to_its_key_identifier_and_serial() {
    let id = CertId::parse(RFC_EXAMPLE).unwrap();
    assert_eq!(
        id.key_identifier_hex(),
        "69885b6b87464041e1b37b847ba0ae2cde01c8d4"
    );
    assert_eq!(id.serial_hex(), "87654321");
    assert_eq!(id.to_string(), RFC_EXAMPLE);
}

#[test]
fn a_serial_with_the_high_bit_set_keeps_its_leading_zero() {
    let aki = [0x69, 0x88];
    let id = CertId::new(&aki, &[0x87, 0x65, 0x43, 0x21]);
    assert!(id.to_string().ends_with(".AIdlQyE"), "{id}");
    assert_eq!(CertId::parse(&id.to_string()).unwrap(), id);
    // Without the high bit, no leading zero.
    let id = CertId::new(&aki, &[0x00, 0x12, 0x34]);
    assert_eq!(id.serial_hex(), "1234");
    assert!(id.to_string().ends_with(".EjQ"), "{id}");
}

#[test]
fn a_high_bit_serial_without_its_zero_octet_is_a_negative_integer_and_refused() {
    assert_eq!(
        CertId::parse("aYhba4dGQEHhs3uEe6CuLN4ByNQ.h2VDIQ"),
        Err(CertIdError::Serial)
    );
}

#[test]
fn a_redundant_leading_zero_octet_is_refused() {
    // 00 12 34: 0x12 has no high bit, so the zero is not DER.
    assert_eq!(
        CertId::parse("aYhba4dGQEHhs3uEe6CuLN4ByNQ.ABI0"),
        Err(CertIdError::Serial)
    );
}

#[test]
fn malformed_ids_are_refused() {
    let cases: &[(&str, CertIdError)] = &[
        ("aYhba4dGQEHhs3uEe6CuLN4ByNQ", CertIdError::Shape),
        ("a.b.c", CertIdError::Shape),
        (".AIdlQyE", CertIdError::Empty("keyIdentifier")),
        ("aYhba4dGQEHhs3uEe6CuLN4ByNQ.", CertIdError::Empty("serial")),
        (
            "aYhba4dGQEHhs3uEe6CuLN4ByNQ=.AIdlQyE",
            CertIdError::Base64("keyIdentifier"),
        ),
        (
            "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE=",
            CertIdError::Base64("serial"),
        ),
        (
            "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdl+yE",
            CertIdError::Base64("serial"),
        ),
        (
            "aYhba4dGQEHhs3uEe6Cu/N4ByNQ.AIdlQyE",
            CertIdError::Base64("keyIdentifier"),
        ),
        (
            "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyF",
            CertIdError::Base64("serial"),
        ),
        ("a.AIdlQyE", CertIdError::Base64("keyIdentifier")),
        (
            "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdl QyE",
            CertIdError::Base64("serial"),
        ),
    ];
    for (text, error) in cases {
        assert_eq!(CertId::parse(text).as_ref(), Err(error), "{text:?}");
    }
    let long = format!("{}.AIdlQyE", "A".repeat(MAX_CERT_ID_LEN));
    assert_eq!(CertId::parse(&long), Err(CertIdError::TooLong));
}
