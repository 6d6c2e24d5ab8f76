//! Revocation reasons on the command line (RFC 5280 §5.3.1 CRLReason), by name or number.

use anyhow::bail;

/// RFC 5280 §5.3.1, in code order. Code 7 is not used.
const NAMES: [(u8, &str); 10] = [
    (0, "unspecified"),
    (1, "keyCompromise"),
    (2, "cACompromise"),
    (3, "affiliationChanged"),
    (4, "superseded"),
    (5, "cessationOfOperation"),
    (6, "certificateHold"),
    (8, "removeFromCRL"),
    (9, "privilegeWithdrawn"),
    (10, "aACompromise"),
];

/// Why the reasons basalt refuses are refused.
fn refusal(code: u8) -> Option<&'static str> {
    match code {
        6 => Some("basalt never puts certificates on hold: a revocation is final"),
        7 => Some("code 7 is not used (RFC 5280 §5.3.1)"),
        8 => Some("removeFromCRL only appears in delta CRLs, which basalt does not make"),
        10 => Some("aACompromise is for attribute certificates"),
        _ => None,
    }
}

/// The name of a reason code (`"reason 7"` for codes without one).
pub(super) fn name(code: u8) -> String {
    NAMES
        .iter()
        .find(|(c, _)| *c == code)
        .map_or_else(|| format!("reason {code}"), |(_, name)| (*name).to_owned())
}

/// Parses `--reason`: a name (case ignored) or a number, refusing codes RFC 5280 does not
/// define and those that make no sense for basalt's certificates.
pub(super) fn parse(text: &str) -> anyhow::Result<u8> {
    let code = match text.parse::<u8>() {
        Ok(code) => Some(code),
        Err(_) => NAMES
            .iter()
            .find(|(_, name)| name.eq_ignore_ascii_case(text))
            .map(|(code, _)| *code),
    };
    let accepted = "unspecified (0), keyCompromise (1), cACompromise (2), affiliationChanged (3), \
                    superseded (4), cessationOfOperation (5), privilegeWithdrawn (9)";
    let Some(code) = code.filter(|c| *c == 7 || NAMES.iter().any(|(n, _)| n == c)) else {
        bail!("unknown revocation reason {text:?}; use one of {accepted}");
    };
    if let Some(why) = refusal(code) {
        bail!("revocation reason {text:?} is refused: {why}; use one of {accepted}");
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_parse() {
        assert_eq!(parse("keyCompromise").unwrap(), 1);
        assert_eq!(parse("KEYCOMPROMISE").unwrap(), 1);
        assert_eq!(parse("4").unwrap(), 4);
        assert_eq!(parse("privilegeWithdrawn").unwrap(), 9);
        assert_eq!(name(5), "cessationOfOperation");
        assert_eq!(name(7), "reason 7");
    }

    #[test]
    fn undefined_and_unfit_reasons_are_refused() {
        for bad in [
            "7",
            "11",
            "255",
            "256",
            "-1",
            "certificateHold",
            "removeFromCRL",
            "bogus",
            "",
        ] {
            let err = parse(bad).unwrap_err().to_string();
            assert!(err.contains("unspecified (0)"), "{bad}: {err}");
        }
        assert!(parse("7").unwrap_err().to_string().contains("not used"));
    }
}
