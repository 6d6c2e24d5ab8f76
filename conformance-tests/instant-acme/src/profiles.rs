//! Profile scenarios (draft-ietf-acme-profiles) with instant-acme's own API: `meta.profiles`
//! through `Account::profiles`, `NewOrder::profile` for each offered profile, the leaf's
//! EKUs, key usages and lifetime checked with x509-parser, the order's `profile` echoed on a
//! later fetch, and an unknown profile refused with `invalidProfile`.
//!
//! With `BASALT_PROFILES_OUT=DIR` each profile's leaf is written to `DIR/<profile>.pem`, for
//! the suite's pkilint pass.

use anyhow::{Context, bail};
use instant_acme::{Account, Error, NewOrder};
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::common::{Options, Report, Responder, dns_identifiers, issue, new_account};

/// What the shipped profiles promise (docs/profiles.md): (name, serverAuth, clientAuth,
/// lifetime in seconds for an area whose certificate_lifetime is one day).
const SHIPPED: [(&str, bool, bool, i64); 4] = [
    ("default", true, true, 24 * 3600),
    ("mtls-client", false, true, 24 * 3600),
    ("short", true, true, 6 * 3600),
    ("tls-server", true, false, 24 * 3600),
];

/// Runs the profile checks against `options.directory`.
pub(crate) async fn run(options: &Options, report: &mut Report) -> anyhow::Result<()> {
    // No `smoke` first: it keeps the http-01 port; ordering `default` below is the same flow.
    let account = new_account(options).await?;
    let responder = Responder::start(options.http_port).await?;
    report.check("instant-acme profiles: meta.profiles", offered(&account));
    let base = options.name(0)?;
    for (profile, server_auth, client_auth, lifetime) in SHIPPED {
        let outcome = order_profile(
            &account,
            &responder,
            profile,
            &format!("{profile}.{base}"),
            (server_auth, client_auth, lifetime),
        )
        .await;
        report.check(&format!("instant-acme profiles: {profile}"), outcome);
    }
    report.check(
        "instant-acme profiles: unknown profile is invalidProfile",
        unknown(&account, base).await,
    );
    Ok(())
}

/// `meta.profiles` names exactly the shipped profiles, each with a description.
fn offered(account: &Account) -> anyhow::Result<()> {
    let mut names = Vec::new();
    for meta in account.profiles() {
        if meta.description.is_empty() {
            bail!("profile {} has an empty description", meta.name);
        }
        names.push(meta.name.to_owned());
    }
    names.sort();
    let want: Vec<&str> = SHIPPED.iter().map(|s| s.0).collect();
    if names != want {
        bail!("meta.profiles offers {names:?}, expected {want:?}");
    }
    Ok(())
}

async fn order_profile(
    account: &Account,
    responder: &Responder,
    profile: &str,
    name: &str,
    (server_auth, client_auth, lifetime): (bool, bool, i64),
) -> anyhow::Result<()> {
    let identifiers = dns_identifiers(&[name]);
    let issued = issue(
        account,
        responder,
        &NewOrder::new(&identifiers).profile(profile),
    )
    .await?;
    let mut order = account.order(issued.order_url.clone()).await?;
    let echoed = order
        .refresh()
        .await
        .context("fetching the order again")?
        .profile
        .clone();
    if echoed.as_deref() != Some(profile) {
        bail!("the order fetched again has profile {echoed:?}, expected {profile:?}");
    }
    let (_, cert) = X509Certificate::from_der(&issued.leaf_der)
        .map_err(|e| anyhow::anyhow!("the leaf does not parse: {e}"))?;
    let validity = cert.validity();
    let got_lifetime = validity.not_after.timestamp() - validity.not_before.timestamp() + 1;
    if got_lifetime != lifetime {
        bail!("the leaf lives {got_lifetime} s, expected {lifetime} s");
    }
    let (mut eku, mut ku) = (None, None);
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::ExtendedKeyUsage(e) => eku = Some((e.server_auth, e.client_auth)),
            ParsedExtension::KeyUsage(k) => ku = Some(k.flags),
            _ => {}
        }
    }
    if eku != Some((server_auth, client_auth)) {
        bail!(
            "EKU (serverAuth, clientAuth) is {eku:?}, expected {:?}",
            (server_auth, client_auth)
        );
    }
    // A P-256 leaf: digitalSignature only (keyEncipherment is for RSA keys).
    if ku != Some(1) {
        bail!("keyUsage flags are {ku:?}, expected digitalSignature only (1)");
    }
    if let Some(dir) = std::env::var_os("BASALT_PROFILES_OUT") {
        let path = std::path::Path::new(&dir).join(format!("{profile}.pem"));
        std::fs::write(&path, &issued.chain_pem)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// draft-ietf-acme-profiles-00 §5: a profile the server does not offer is `invalidProfile`.
async fn unknown(account: &Account, base: &str) -> anyhow::Result<()> {
    let identifiers = dns_identifiers(&[&format!("nosuch.{base}")]);
    match account
        .new_order(&NewOrder::new(&identifiers).profile("nosuch"))
        .await
    {
        Ok(_) => bail!("an order for profile \"nosuch\" was accepted"),
        Err(Error::Api(problem))
            if problem.r#type.as_deref() == Some("urn:ietf:params:acme:error:invalidProfile") =>
        {
            Ok(())
        }
        Err(e) => bail!("expected invalidProfile, got {e}"),
    }
}
