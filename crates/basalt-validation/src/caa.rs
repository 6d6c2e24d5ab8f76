//! CAA checking (RFC 8659), with the ACME parameters of RFC 8657: may this CA issue for a
//! name, to this account, validated this way?
//!
//! The relevant RRset is found by climbing from the name towards the root (RFC 8659 §3);
//! its `issue` (or, for a wildcard, `issuewild`) properties must name one of this CA's
//! identities with parameters that allow the request. A lookup that fails is a refusal
//! (fail closed), reported as a `dns` problem; a refusal by the records is a `caa` problem.

use basalt_protocol::{ChallengeType, Identifier, IdentifierType, Problem, ProblemType};

use crate::resolver::{CaaProperty, DnsResolver};

/// The property tags this CA understands; a critical property with any other tag forbids
/// issuance (RFC 8659 §4.1).
const KNOWN_TAGS: [&str; 3] = ["issue", "issuewild", "iodef"];
/// RFC 8657 §3: the ACME account URI the CAA record is bound to.
const ACCOUNT_URI: &str = "accounturi";
/// RFC 8657 §4: the ACME validation methods the CAA record allows.
const VALIDATION_METHODS: &str = "validationmethods";
/// How much of a record value is quoted in a detail.
const QUOTED_CHARS: usize = 100;

/// Whose CAA identities apply and what an issuance would look like (RFC 8659, RFC 8657).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaaPolicy {
    /// This CA's issuer domain names (directory meta.caaIdentities); an `issue`/`issuewild`
    /// value naming any of them authorizes.
    pub identities: Vec<String>,
    /// The ACME account URL, matched against RFC 8657 `accounturi`.
    pub account_uri: String,
}

/// Checks the CAA records of `identifier`; the error is the problem to show the client.
pub(crate) async fn check(
    resolver: &DnsResolver,
    identifier: &Identifier,
    wildcard: bool,
    method: ChallengeType,
    policy: &CaaPolicy,
) -> Result<(), Problem> {
    // RFC 8738 §7: CAA does not apply to IP identifiers.
    if identifier.identifier_type() == IdentifierType::Ip {
        return Ok(());
    }
    // Either form of a wildcard may be given: the records are those of the base name.
    let (base, wildcard) = match identifier.value().strip_prefix("*.") {
        Some(base) => (base, true),
        None => (identifier.value(), wildcard),
    };
    let fqdn = base.trim_end_matches('.').to_ascii_lowercase();
    let shown = if wildcard {
        format!("*.{fqdn}")
    } else {
        fqdn.clone()
    };

    let Some((level, properties)) = relevant_rrset(resolver, &fqdn, &shown).await? else {
        tracing::debug!(name = %shown, "no CAA records: issuance allowed");
        return Ok(());
    };
    evaluate(&properties, wildcard, method, policy).map_err(|reason| {
        let what = if wildcard {
            "to issue a wildcard certificate"
        } else {
            "to issue"
        };
        Problem::new(
            ProblemType::Caa,
            format!(
                "CAA record for {shown} (found at {level}) does not authorize this CA {what}: {reason}"
            ),
        )
    })
}

/// RFC 8659 §3: the CAA RRset of the name itself, else of its parent, and so on up to (not
/// including) the root; `None` when there is none. NXDOMAIN or an empty answer at a level
/// moves on to the parent; any other failure ends the search with a `dns` problem.
async fn relevant_rrset(
    resolver: &DnsResolver,
    fqdn: &str,
    shown: &str,
) -> Result<Option<(String, Vec<CaaProperty>)>, Problem> {
    let mut level = fqdn;
    loop {
        if level.is_empty() {
            return Ok(None);
        }
        let found = resolver.lookup_caa(level).await.map_err(|failure| {
            Problem::new(
                ProblemType::Dns,
                format!("CAA lookup for {shown} failed: {}", failure.detail),
            )
        })?;
        if !found.properties.is_empty() {
            tracing::debug!(name = %shown, found_at = level, answers = ?found.answers, "CAA records found");
            return Ok(Some((level.to_owned(), found.properties)));
        }
        match level.split_once('.') {
            Some((_, parent)) => level = parent,
            None => return Ok(None),
        }
    }
}

/// Whether the relevant RRset authorizes the request; the error says why not, in words that
/// follow "does not authorize this CA to issue: ".
fn evaluate(
    properties: &[CaaProperty],
    wildcard: bool,
    method: ChallengeType,
    policy: &CaaPolicy,
) -> Result<(), String> {
    // RFC 8659 §4.1: an unknown critical property forbids issuance, whatever else is there.
    if let Some(unknown) = properties.iter().find(|property| {
        property.critical
            && !KNOWN_TAGS
                .iter()
                .any(|known| property.tag.eq_ignore_ascii_case(known))
    }) {
        return Err(format!(
            "it has a critical property with the tag \"{}\", which this CA does not understand (RFC 8659 §4.1)",
            quote(unknown.tag.as_bytes())
        ));
    }

    // RFC 8659 §4.3: for a wildcard, issuewild properties replace issue ones when there are
    // any; issuewild is ignored for any other name.
    let has_tag = |tag: &str| {
        properties
            .iter()
            .any(|property| property.tag.eq_ignore_ascii_case(tag))
    };
    let tag = if wildcard && has_tag("issuewild") {
        "issuewild"
    } else {
        "issue"
    };
    let relevant: Vec<&CaaProperty> = properties
        .iter()
        .filter(|property| property.tag.eq_ignore_ascii_case(tag))
        .collect();
    // No issue property (for example only iodef): the set does not restrict issuance.
    if relevant.is_empty() {
        return Ok(());
    }

    let identities: Vec<String> = policy.identities.iter().map(|i| domain_key(i)).collect();
    let mut refusals = Vec::new();
    let mut other_issuers: Vec<String> = Vec::new();
    let mut forbids_all = false;
    let mut malformed = Vec::new();
    for property in relevant {
        let Some(value) = parse_issue_value(&property.value) else {
            // RFC 8659 §4.2: treated like an empty issuer-domain-name.
            malformed.push(quote(&property.value));
            continue;
        };
        let Some(issuer) = value.issuer else {
            forbids_all = true;
            continue;
        };
        if !identities.contains(&issuer) {
            if !other_issuers.contains(&issuer) {
                other_issuers.push(issuer);
            }
            continue;
        }
        match check_parameters(&issuer, &value.parameters, method, policy) {
            Ok(()) => return Ok(()),
            Err(refusal) => refusals.push(refusal),
        }
    }

    if !other_issuers.is_empty() {
        let ours = if identities.is_empty() {
            "this CA has no CAA identities configured".to_owned()
        } else {
            format!("this CA's identities are {}", policy.identities.join(", "))
        };
        refusals.push(format!(
            "its {tag} properties allow only {}; {ours}",
            other_issuers.join(", ")
        ));
    }
    if refusals.is_empty() {
        // Only empty or malformed values: CAA authorizations are additive, so these are
        // mentioned only when nothing else explains the refusal.
        if forbids_all {
            refusals.push(format!("its {tag} \";\" property forbids all issuance"));
        }
        for value in malformed {
            refusals.push(format!(
                "its {tag} value \"{value}\" is malformed, which forbids issuance (RFC 8659 §4.2)"
            ));
        }
    }
    Err(refusals.join("; "))
}

/// RFC 8657: whether the parameters of a property naming this CA allow the request.
fn check_parameters(
    issuer: &str,
    parameters: &[(String, String)],
    method: ChallengeType,
    policy: &CaaPolicy,
) -> Result<(), String> {
    // Parameter tags are matched case-insensitively: a known parameter spelled in another
    // case must restrict, not be ignored as unknown. Unknown parameters are ignored.
    let values = |name: &str| -> Vec<&str> {
        parameters
            .iter()
            .filter(|(tag, _)| tag.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
            .collect()
    };
    match values(ACCOUNT_URI).as_slice() {
        [] => {}
        [uri] if *uri == policy.account_uri => {}
        [uri] => {
            return Err(format!(
                "the {issuer} property requires accounturi {uri} but this request is from {}",
                policy.account_uri
            ));
        }
        _ => {
            return Err(format!(
                "the {issuer} property has more than one accounturi, so no account matches"
            ));
        }
    }
    match values(VALIDATION_METHODS).as_slice() {
        [] => Ok(()),
        [list] => {
            let methods: Vec<&str> = list.split(',').collect();
            if !methods.iter().all(|m| is_label(m)) {
                return Err(format!(
                    "the {issuer} property's validationmethods value \"{}\" is malformed",
                    quote(list.as_bytes())
                ));
            }
            if methods.contains(&method.as_str()) {
                Ok(())
            } else {
                Err(format!(
                    "the {issuer} property allows only the validation methods {} but this request was validated with {method}",
                    methods.join(", ")
                ))
            }
        }
        _ => Err(format!(
            "the {issuer} property has more than one validationmethods, so no method matches"
        )),
    }
}

/// An `issue`/`issuewild` value (RFC 8659 §4.2): the issuer, lower case, trailing dot
/// removed (`None` for an empty one), and the parameters in order.
#[derive(Debug, Clone, PartialEq, Eq)]
struct IssueValue {
    issuer: Option<String>,
    parameters: Vec<(String, String)>,
}

/// Parses an issue value by the RFC 8659 §4.2 grammar; `None` when it does not match:
///
/// ```text
/// issue-value = *WSP [issuer-domain-name *WSP] [";" *WSP [parameters *WSP]]
/// parameters = (parameter *WSP ";" *WSP parameters) / parameter
/// parameter = parameter-tag *WSP "=" *WSP parameter-value
/// parameter-value = *(%x21-3A / %x3C-7E)
/// ```
///
/// One leniency: a trailing dot on the issuer name is accepted and ignored.
fn parse_issue_value(raw: &[u8]) -> Option<IssueValue> {
    let text = std::str::from_utf8(raw).ok()?;
    let text = text.trim_start_matches(is_wsp);
    let (name, rest) = match text.split_once(';') {
        Some((name, rest)) => (name, Some(rest)),
        None => (text, None),
    };
    let name = name.trim_end_matches(is_wsp);
    let issuer = if name.is_empty() {
        None
    } else {
        let bare = name.strip_suffix('.').unwrap_or(name);
        if !bare.split('.').all(is_label) {
            return None;
        }
        Some(bare.to_ascii_lowercase())
    };
    let mut parameters = Vec::new();
    let rest = rest.unwrap_or_default().trim_matches(is_wsp);
    if !rest.is_empty() {
        for parameter in rest.split(';') {
            let (tag, value) = parameter.trim_matches(is_wsp).split_once('=')?;
            let tag = tag.trim_end_matches(is_wsp);
            let value = value.trim_start_matches(is_wsp);
            let value_ok = value
                .bytes()
                .all(|b| matches!(b, 0x21..=0x3A | 0x3C..=0x7E));
            if !is_label(tag) || !value_ok {
                return None;
            }
            parameters.push((tag.to_owned(), value.to_owned()));
        }
    }
    Some(IssueValue { issuer, parameters })
}

/// RFC 5234 WSP: space or horizontal tab.
fn is_wsp(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// `(ALPHA / DIGIT) *( *("-") (ALPHA / DIGIT))`: the label of issuer names, parameter tags
/// and ACME method names.
fn is_label(s: &str) -> bool {
    let bytes = s.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        }
        _ => false,
    }
}

/// An identity as compared: lower case, without a trailing dot.
fn domain_key(name: &str) -> String {
    let name = name.trim();
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

/// `value` escaped for a detail and cut to [`QUOTED_CHARS`] characters.
fn quote(value: &[u8]) -> String {
    let text = String::from_utf8_lossy(value);
    let shown: String = text.chars().take(QUOTED_CHARS).collect();
    let cut = if shown.len() < text.len() { "…" } else { "" };
    format!("{}{cut}", shown.escape_debug())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn property(critical: bool, tag: &str, value: &str) -> CaaProperty {
        CaaProperty {
            critical,
            tag: tag.to_owned(),
            value: value.as_bytes().to_vec(),
        }
    }

    fn policy() -> CaaPolicy {
        CaaPolicy {
            identities: vec!["Basalt.Example.".to_owned()],
            account_uri: "https://ca.test/acme/acct/1".to_owned(),
        }
    }

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(t, v)| ((*t).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn issue_values_follow_the_rfc_8659_grammar() {
        let parsed = |s: &str| parse_issue_value(s.as_bytes());
        assert_eq!(
            parsed("  Ca.Example ;  accounturi = https://x/1 ; validationmethods=dns-01  "),
            Some(IssueValue {
                issuer: Some("ca.example".to_owned()),
                parameters: params(&[
                    ("accounturi", "https://x/1"),
                    ("validationmethods", "dns-01")
                ]),
            })
        );
        assert_eq!(
            parsed(";"),
            Some(IssueValue {
                issuer: None,
                parameters: Vec::new()
            })
        );
        assert_eq!(parsed(""), parsed(";"));
        assert_eq!(parsed("ca.example."), parsed("ca.example;"));
        // RFC 8659 §4.2's own malformed example, and other broken values.
        for bad in [
            "%%%%%",
            "ca example",
            "-ca.example",
            "ca..example",
            "ca.example; a=b;",
            "ca.example; a=b;;c=d",
            "ca.example; novalue",
            "ca.example; a=b c",
            "ca.example; -a=b",
            "ca.example; a=b;c",
        ] {
            assert_eq!(parsed(bad), None, "{bad:?}");
        }
        assert_eq!(parse_issue_value(b"ca.example\xff"), None);
    }

    #[test]
    fn labels_are_letters_digits_and_inner_hyphens() {
        for good in ["a", "http-01", "tls-alpn-01", "a--b", "0"] {
            assert!(is_label(good), "{good}");
        }
        for bad in ["", "-a", "a-", "a_b", "a.b", "a b"] {
            assert!(!is_label(bad), "{bad}");
        }
    }

    #[test]
    fn identities_match_case_insensitively_without_trailing_dot() {
        let set = [property(false, "ISSUE", "basalt.EXAMPLE")];
        assert_eq!(
            evaluate(&set, false, ChallengeType::Http01, &policy()),
            Ok(())
        );
    }

    #[test]
    fn an_empty_issuer_next_to_ours_does_not_forbid() {
        // RFC 8659 §4.2: authorizations are additive.
        let set = [
            property(false, "issue", ";"),
            property(false, "issue", "%%%"),
            property(false, "issue", "basalt.example"),
        ];
        assert_eq!(
            evaluate(&set, false, ChallengeType::Dns01, &policy()),
            Ok(())
        );
        let refusal = evaluate(&set[..2], false, ChallengeType::Dns01, &policy()).unwrap_err();
        assert!(refusal.contains("forbids all issuance"), "{refusal}");
        assert!(refusal.contains("\"%%%\" is malformed"), "{refusal}");
    }

    #[test]
    fn issuewild_is_ignored_for_a_name_that_is_not_a_wildcard() {
        let set = [property(false, "issuewild", ";")];
        assert_eq!(
            evaluate(&set, false, ChallengeType::Dns01, &policy()),
            Ok(())
        );
        assert!(evaluate(&set, true, ChallengeType::Dns01, &policy()).is_err());
    }

    #[test]
    fn one_matching_property_among_refusing_ones_authorizes() {
        let set = [
            property(false, "issue", "basalt.example; accounturi=https://other/1"),
            property(false, "issue", "basalt.example; validationmethods=dns-01"),
            property(
                false,
                "issue",
                "basalt.example; accounturi=https://ca.test/acme/acct/1",
            ),
        ];
        assert_eq!(
            evaluate(&set, false, ChallengeType::Http01, &policy()),
            Ok(())
        );
        let refusal = evaluate(&set[..2], false, ChallengeType::Http01, &policy()).unwrap_err();
        assert!(
            refusal.contains("requires accounturi https://other/1"),
            "{refusal}"
        );
        assert!(
            refusal.contains("only the validation methods dns-01"),
            "{refusal}"
        );
    }

    #[test]
    fn known_parameters_in_another_case_or_repeated_still_restrict() {
        let restricting = [
            "basalt.example; AccountURI=https://other/1",
            "basalt.example; ValidationMethods=dns-01",
            "basalt.example; accounturi=https://ca.test/acme/acct/1; accounturi=https://other/1",
            "basalt.example; validationmethods=http-01; validationmethods=dns-01",
            "basalt.example; validationmethods=http-01,,dns-01",
        ];
        for value in restricting {
            let set = [property(false, "issue", value)];
            assert!(
                evaluate(&set, false, ChallengeType::Http01, &policy()).is_err(),
                "{value}"
            );
        }
        // Unknown parameters are ignored.
        let set = [property(false, "issue", "basalt.example; policy=ev; x-y=1")];
        assert_eq!(
            evaluate(&set, false, ChallengeType::Http01, &policy()),
            Ok(())
        );
    }

    #[test]
    fn a_critical_known_tag_is_fine_and_an_unknown_one_is_not() {
        let set = [
            property(true, "iodef", "mailto:ops@a.test"),
            property(true, "issue", "basalt.example"),
        ];
        assert_eq!(
            evaluate(&set, false, ChallengeType::Http01, &policy()),
            Ok(())
        );
        let set = [
            property(true, "tbs", "x"),
            property(false, "issue", "basalt.example"),
        ];
        let refusal = evaluate(&set, false, ChallengeType::Http01, &policy()).unwrap_err();
        assert!(refusal.contains("\"tbs\""), "{refusal}");
    }

    #[test]
    fn no_identities_means_every_issuer_restriction_refuses() {
        let set = [property(false, "issue", "basalt.example")];
        let policy = CaaPolicy {
            identities: Vec::new(),
            ..policy()
        };
        let refusal = evaluate(&set, false, ChallengeType::Http01, &policy).unwrap_err();
        assert!(refusal.contains("no CAA identities"), "{refusal}");
    }
}
