//! Certificate revocation lists (RFC 5280 §5), signed by an intermediate for the leaves it
//! issued.
//!
//! The server decides what goes in (the revoked, unexpired certificates of one intermediate)
//! and the CRL number (it only grows: stored by compare-and-set); this module only encodes and
//! signs. Profile: version 2 (§5.1.2.1), AKI = the intermediate's SKI (§5.2.1), cRLNumber
//! (§5.2.3), nextUpdate always present (§5.1.2.5), an issuingDistributionPoint naming where
//! the CRL is served when a URL is given (§5.2.5, critical), and a reasonCode per entry except
//! for unspecified (§5.3.1).

use rcgen::{
    CertificateRevocationListParams, CrlDistributionPoint, CrlIssuingDistributionPoint,
    KeyIdMethod, RevocationReason, RevokedCertParams, SerialNumber,
};
use time::OffsetDateTime;

use crate::Error;
use crate::issuer::Issuer;
use crate::signing_key::{clear_token_failure, signing_error};
use crate::uri::check_uri;
use crate::validity::truncate_to_seconds;

/// What one CRL contains.
#[derive(Debug, Clone)]
pub struct CrlRequest<'a> {
    /// cRLNumber (RFC 5280 §5.2.3): greater than that of every CRL this intermediate signed
    /// before. The caller guarantees it.
    pub number: u64,
    pub this_update: OffsetDateTime,
    /// Must be after `this_update` (RFC 5280 §5.1.2.5).
    pub next_update: OffsetDateTime,
    pub entries: &'a [RevokedEntry],
    /// The URL the CRL is served at, for its issuingDistributionPoint; `None` leaves the
    /// extension out (the CRL then covers every certificate of the issuer).
    pub distribution_point: Option<&'a str>,
}

/// One revoked certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedEntry {
    /// The serial as stored: lowercase hex of the INTEGER's value.
    pub serial: String,
    pub revoked_at: OffsetDateTime,
    /// The RFC 5280 §5.3.1 CRLReason code the revocation gave, if any. 0 (unspecified) is left
    /// out of the CRL as §5.3.1 recommends; 7 is not a defined code and is refused.
    pub reason: Option<u8>,
}

impl Issuer {
    /// Signs a CRL of `crl`'s entries and returns its DER.
    pub fn sign_crl(&self, crl: &CrlRequest<'_>) -> Result<Vec<u8>, Error> {
        let this_update = truncate_to_seconds(crl.this_update);
        let next_update = truncate_to_seconds(crl.next_update);
        if next_update <= this_update {
            return Err(Error::Signing(format!(
                "the CRL's nextUpdate {next_update} is not after its thisUpdate {this_update}"
            )));
        }
        let revoked_certs = crl
            .entries
            .iter()
            .map(revoked_cert)
            .collect::<Result<Vec<_>, _>>()?;
        let issuing_distribution_point = match crl.distribution_point {
            Some(uri) => {
                check_uri(uri).map_err(|e| Error::Signing(format!("the CRL's URL: {e}")))?;
                Some(CrlIssuingDistributionPoint {
                    distribution_point: CrlDistributionPoint {
                        uris: vec![uri.to_owned()],
                    },
                    // basalt's intermediates sign only leaves; saying so lets a relying party
                    // use this CRL alone for them (RFC 5280 §5.2.5).
                    scope: Some(rcgen::CrlScope::UserCertsOnly),
                })
            }
            None => None,
        };
        let params = CertificateRevocationListParams {
            this_update,
            next_update,
            crl_number: SerialNumber::from_slice(&crl.number.to_be_bytes()),
            issuing_distribution_point,
            revoked_certs,
            // RFC 5280 §5.2.1: the AKI repeats the issuer certificate's SKI exactly.
            key_identifier_method: KeyIdMethod::PreSpecified(self.key_id_bytes().to_vec()),
        };
        clear_token_failure();
        let signed = params.signed_by(&self.rcgen).map_err(|e| {
            let error = signing_error(&e);
            tracing::error!(
                target: "basalt::audit",
                issuer = %self.subject(),
                crl.number = crl.number,
                error = %error,
                "signing CRL failed"
            );
            error
        })?;
        tracing::info!(
            target: "basalt::audit",
            issuer = %self.subject(),
            crl.number = crl.number,
            crl.entries = crl.entries.len(),
            crl.this_update = %this_update,
            crl.next_update = %next_update,
            "signed CRL"
        );
        Ok(signed.der().to_vec())
    }
}

fn revoked_cert(entry: &RevokedEntry) -> Result<RevokedCertParams, Error> {
    let serial = parse_serial(&entry.serial).ok_or_else(|| {
        Error::Signing(format!(
            "revoked serial {:?} is not lowercase hex",
            entry.serial
        ))
    })?;
    Ok(RevokedCertParams {
        serial_number: SerialNumber::from_slice(&serial),
        revocation_time: truncate_to_seconds(entry.revoked_at),
        reason_code: entry.reason.map(reason).transpose()?.flatten(),
        invalidity_date: None,
    })
}

/// RFC 5280 §5.3.1 CRLReason. `None` for unspecified (0): §5.3.1 says the extension SHOULD be
/// absent rather than carry it.
fn reason(code: u8) -> Result<Option<RevocationReason>, Error> {
    Ok(Some(match code {
        0 => return Ok(None),
        1 => RevocationReason::KeyCompromise,
        2 => RevocationReason::CaCompromise,
        3 => RevocationReason::AffiliationChanged,
        4 => RevocationReason::Superseded,
        5 => RevocationReason::CessationOfOperation,
        6 => RevocationReason::CertificateHold,
        8 => RevocationReason::RemoveFromCrl,
        9 => RevocationReason::PrivilegeWithdrawn,
        10 => RevocationReason::AaCompromise,
        _ => {
            return Err(Error::Signing(format!(
                "{code} is not a CRL reason code (RFC 5280 §5.3.1: 0-6 and 8-10)"
            )));
        }
    }))
}

/// Lowercase hex to bytes; an odd number of digits gets a leading zero.
fn parse_serial(text: &str) -> Option<Vec<u8>> {
    if text.is_empty()
        || !text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    let padded = if text.len() % 2 == 1 {
        format!("0{text}")
    } else {
        text.to_owned()
    };
    (0..padded.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&padded[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests;
