//! Account contact URLs (RFC 8555 §7.3): basalt accepts `mailto:` addresses only.

use crate::identifier::normalise_dns_name;
use crate::problem::{Problem, ProblemType};

/// At most this many contacts per account (Boulder uses 10 too).
pub const MAX_CONTACTS: usize = 10;
/// RFC 5321 §4.5.3.1.3: a path is at most 256 octets.
const MAX_ADDRESS_LEN: usize = 254;

/// Checks every contact; the error is the problem to send (RFC 8555 §7.3: unsupportedContact
/// for schemes the server does not support, invalidContact for a bad address).
pub fn validate_contacts(contacts: &[String]) -> Result<(), Problem> {
    if contacts.len() > MAX_CONTACTS {
        return Err(Problem::new(
            ProblemType::InvalidContact,
            format!(
                "at most {MAX_CONTACTS} contacts are allowed; {} were given",
                contacts.len()
            ),
        ));
    }
    contacts.iter().try_for_each(|c| validate_contact(c))
}

fn validate_contact(contact: &str) -> Result<(), Problem> {
    let invalid = |why: &str| {
        Problem::new(
            ProblemType::InvalidContact,
            format!("contact {contact:?}: {why}"),
        )
    };
    let Some(address) = contact.strip_prefix("mailto:") else {
        return Err(Problem::new(
            ProblemType::UnsupportedContact,
            format!("contact {contact:?} is not supported; only mailto: contacts are accepted"),
        ));
    };
    // RFC 6068 allows hfields and several addresses; an account contact is one plain address.
    if address.contains(['?', ',', '%']) {
        return Err(invalid(
            "give one plain address, without ?headers, commas or %-escapes",
        ));
    }
    if address.len() > MAX_ADDRESS_LEN {
        return Err(invalid("the address is too long"));
    }
    let Some((local, domain)) = address.rsplit_once('@') else {
        return Err(invalid("the address has no @domain part"));
    };
    if local.is_empty()
        || local.bytes().any(|b| {
            b.is_ascii_whitespace() || b.is_ascii_control() || b"<>()[]\\;:\"@".contains(&b)
        })
        || !local.is_ascii()
    {
        return Err(invalid(
            "the local part is empty or contains characters that are not allowed",
        ));
    }
    normalise_dns_name(domain)
        .ok()
        .filter(|d| !d.starts_with("*.") && d.contains('.'))
        .map(|_| ())
        .ok_or_else(|| invalid("the domain is not a valid host name"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailto_addresses_are_accepted() {
        assert!(
            validate_contacts(&[
                "mailto:admin@example.org".into(),
                "mailto:a.b+c@x.test".into()
            ])
            .is_ok()
        );
        assert!(validate_contacts(&[]).is_ok());
    }

    #[test]
    fn other_schemes_are_unsupported_and_bad_addresses_invalid() {
        let kind = |c: &str| validate_contacts(&[c.to_owned()]).unwrap_err().problem_type;
        assert_eq!(kind("tel:+1555"), ProblemType::UnsupportedContact);
        assert_eq!(kind("admin@example.org"), ProblemType::UnsupportedContact);
        for bad in [
            "mailto:",
            "mailto:@x.test",
            "mailto:a@",
            "mailto:a@b..test",
            "mailto:a@x.test?subject=hi",
            "mailto:a@x.test,b@x.test",
            "mailto:a b@x.test",
            "mailto:a@localhost",
        ] {
            assert_eq!(kind(bad), ProblemType::InvalidContact, "{bad}");
        }
        let many: Vec<String> = (0..11).map(|i| format!("mailto:a{i}@x.test")).collect();
        assert_eq!(
            validate_contacts(&many).unwrap_err().problem_type,
            ProblemType::InvalidContact
        );
    }
}
