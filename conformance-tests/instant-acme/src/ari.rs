//! ARI scenarios (RFC 9773): instant-acme reads the suggested window of a fresh
//! certificate, renews it with `replaces` (§5) and sees `replaces` again on a later fetch
//! of the order (basalt keeps it; Boulder forgets it, letsencrypt/boulder #8272), a second
//! replacement of the same certificate is `alreadyReplaced`, and a revoked certificate's
//! window moves into the past with an `explanationURL`.

use anyhow::{Context, bail};
use instant_acme::{Error, NewOrder, RevocationReason, RevocationRequest};
use time::OffsetDateTime;

use crate::common::{Options, Report, Responder, dns_identifiers, issue, new_account};

/// Runs the ARI checks against `options.directory`, for the first `--name`.
pub(crate) async fn run(options: &Options, report: &mut Report) -> anyhow::Result<()> {
    let account = new_account(options).await?;
    let responder = Responder::start(options.http_port).await?;
    let names = [options.name(0)?];
    let identifiers = dns_identifiers(&names);
    let first = issue(&account, &responder, &NewOrder::new(&identifiers)).await?;
    let first_id = first.cert_id()?;

    // RFC 9773 §4.2: a fresh certificate's window lies ahead, inside its lifetime.
    let outcome = async {
        let (info, retry_after) = account
            .renewal_info(&first_id)
            .await
            .context("renewalInfo")?;
        let window = &info.suggested_window;
        let now = OffsetDateTime::now_utc();
        if !(now < window.start && window.start < window.end) {
            bail!("window {window:?} is not ahead of {now}");
        }
        if info.explanation_url.is_some() {
            bail!("a fresh certificate has an explanationURL: {info:?}");
        }
        println!(
            "# window {} .. {}, Retry-After {}s",
            window.start,
            window.end,
            retry_after.as_secs()
        );
        Ok(())
    }
    .await;
    report.check(
        "instant-acme ari: renewalInfo window of a fresh certificate",
        outcome,
    );

    // RFC 9773 §5: instant-acme refuses a created order that does not echo `replaces`.
    let second = issue(
        &account,
        &responder,
        &NewOrder::new(&identifiers).replaces(first_id.clone()),
    )
    .await;
    let second = match second {
        Ok(second) => {
            report.pass("instant-acme ari: renewal with replaces");
            second
        }
        Err(e) => {
            report.fail("instant-acme ari: renewal with replaces", &format!("{e:#}"));
            return Ok(());
        }
    };
    let outcome = async {
        let mut order = account.order(second.order_url.clone()).await?;
        let state = order.refresh().await.context("fetching the order again")?;
        if state.replaces.as_ref() != Some(&first_id) {
            bail!(
                "the order fetched again says replaces {:?}, not {first_id}",
                state.replaces
            );
        }
        Ok(())
    }
    .await;
    report.check(
        "instant-acme ari: replaces on a later fetch of the order (boulder #8272)",
        outcome,
    );

    // RFC 9773 §7.4: the certificate already has a (valid) replacement.
    let outcome = match account
        .new_order(&NewOrder::new(&identifiers).replaces(first_id.clone()))
        .await
    {
        Err(Error::Api(problem))
            if problem.r#type.as_deref() == Some("urn:ietf:params:acme:error:alreadyReplaced")
                && problem.status == Some(409) =>
        {
            Ok(())
        }
        Err(e) => Err(anyhow::anyhow!("expected alreadyReplaced (409), got {e}")),
        Ok(_) => Err(anyhow::anyhow!("a second replacement was accepted")),
    };
    report.check(
        "instant-acme ari: a second replacement is alreadyReplaced",
        outcome,
    );

    // RFC 9773 §4.2: a revoked certificate should be replaced at once.
    let outcome = async {
        let der = rustls::pki_types::CertificateDer::from(second.leaf_der.clone());
        account
            .revoke(&RevocationRequest {
                certificate: &der,
                reason: Some(RevocationReason::Superseded),
            })
            .await
            .context("revokeCert")?;
        let (info, _) = account
            .renewal_info(&second.cert_id()?)
            .await
            .context("renewalInfo")?;
        let now = OffsetDateTime::now_utc();
        if info.suggested_window.end >= now {
            bail!(
                "the revoked certificate's window {:?} is not in the past",
                info.suggested_window
            );
        }
        let Some(url) = info.explanation_url else {
            bail!("no explanationURL for a revoked certificate");
        };
        println!("# explanationURL {url}");
        Ok(())
    }
    .await;
    report.check(
        "instant-acme ari: a revoked certificate's window is in the past",
        outcome,
    );
    Ok(())
}
