//! dns-01 (RFC 8555 §8.4): the key authorization digest must be published in a TXT record at
//! `_acme-challenge.<name>`.

use basalt_protocol::{Identifier, IdentifierType, KeyAuthorization, Problem, ProblemType};

use crate::outcome::{ValidationOutcome, ValidationRecord};
use crate::resolver::{DnsResolver, LookupFailureKind};

/// How many of the TXT values found are quoted in a failure detail.
const QUOTED_VALUES: usize = 5;
/// How much of each quoted TXT value is shown.
const QUOTED_CHARS: usize = 64;

/// Looks up the TXT records and checks one of them carries the expected digest.
pub(crate) async fn validate(
    resolver: &DnsResolver,
    identifier: &Identifier,
    key_authorization: &KeyAuthorization,
) -> ValidationOutcome {
    if identifier.identifier_type() == IdentifierType::Ip {
        // RFC 8738 §7: "the dns-01 challenge MUST NOT be used to validate IP identifiers".
        return ValidationOutcome::invalid(
            Vec::new(),
            Problem::malformed(format!(
                "dns-01 cannot validate the IP identifier {} (RFC 8738 §7); use http-01",
                identifier.value()
            )),
        );
    }
    // RFC 8555 §8.4: for a wildcard, the record sits under the base name ("*." removed).
    let base = identifier
        .value()
        .strip_prefix("*.")
        .unwrap_or(identifier.value());
    // RFC 8555 §8.4: "_acme-challenge" prepended to the domain name being validated.
    let name = format!("_acme-challenge.{base}");
    let mut record = ValidationRecord {
        hostname: name.clone(),
        ..ValidationRecord::default()
    };

    let found = match resolver.lookup_txt(&name).await {
        Ok(found) => found,
        Err(failure) => {
            let problem_type = match failure.kind {
                LookupFailureKind::NoRecords => ProblemType::Unauthorized,
                _ => ProblemType::Dns,
            };
            return ValidationOutcome::invalid(
                vec![record],
                Problem::new(problem_type, format!("DNS problem: {}", failure.detail)),
            );
        }
    };
    record.resolver_answers = found.answers;

    // RFC 8555 §8.4: the value is base64url(SHA-256(key authorization)); any one of the
    // records at the name may carry it (several pending challenges can share the name).
    let expected = key_authorization.dns01_txt_value();
    if found.values.iter().any(|value| value == &expected) {
        return ValidationOutcome::valid(vec![record]);
    }
    let detail = if found.values.is_empty() {
        format!("no TXT record found at {name} (0 records)")
    } else {
        let count = found.values.len();
        let quoted: Vec<String> = found
            .values
            .iter()
            .take(QUOTED_VALUES)
            .map(|value| quote(value))
            .collect();
        let more = if count > QUOTED_VALUES { ", …" } else { "" };
        format!(
            "no matching TXT record at {name}: {count} TXT record{} found ({}{more}), none equal to the expected \"{expected}\"",
            if count == 1 { "" } else { "s" },
            quoted.join(", "),
        )
    };
    ValidationOutcome::invalid(vec![record], Problem::unauthorized(detail))
}

/// `value` quoted and escaped, cut to [`QUOTED_CHARS`] characters.
fn quote(value: &str) -> String {
    let shown: String = value.chars().take(QUOTED_CHARS).collect();
    let cut = if shown.len() < value.len() { "…" } else { "" };
    format!("\"{}\"{cut}", shown.escape_debug())
}
