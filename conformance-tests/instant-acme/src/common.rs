//! What every scenario needs: options, the PASS/FAIL report, an account, an http-01 responder
//! and "get a certificate for these names" with instant-acme's own order flow.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use instant_acme::{
    Account, AuthorizationStatus, CertificateIdentifier, ChallengeType, Identifier, NewAccount,
    NewOrder, Order, OrderStatus, RetryPolicy,
};

/// The command line.
pub(crate) struct Options {
    pub(crate) scenario: String,
    /// The area's directory URL.
    pub(crate) directory: String,
    /// basalt's root certificate (PEM): the TLS trust anchor and the chain's end.
    pub(crate) root: String,
    /// Port the http-01 responder listens on (127.0.0.1 and ::1).
    pub(crate) http_port: u16,
    /// Names to order; scenarios that need several use them in turn.
    pub(crate) names: Vec<String>,
}

impl Options {
    pub(crate) const USAGE: &'static str = "usage: instant-acme-client SCENARIO --directory URL \
         --root ROOT.pem [--http-port 5002] [--name NAME ...]";

    pub(crate) fn parse(mut args: impl Iterator<Item = String>) -> anyhow::Result<Self> {
        let scenario = args.next().context("no scenario given")?;
        let (mut directory, mut root, mut http_port, mut names) = (None, None, 5002, Vec::new());
        while let Some(flag) = args.next() {
            let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--directory" => directory = Some(value()?),
                "--root" => root = Some(value()?),
                "--http-port" => http_port = value()?.parse().context("--http-port")?,
                "--name" => names.push(value()?),
                other => bail!("unknown flag {other:?}"),
            }
        }
        Ok(Self {
            scenario,
            directory: directory.context("--directory is required")?,
            root: root.context("--root is required")?,
            http_port,
            names,
        })
    }

    /// The `index`th `--name`, or an error naming the scenario's need.
    pub(crate) fn name(&self, index: usize) -> anyhow::Result<&str> {
        self.names
            .get(index)
            .map(String::as_str)
            .with_context(|| format!("this scenario needs at least {} --name", index + 1))
    }
}

/// PASS/FAIL lines, in the shell suites' format.
#[derive(Default)]
pub(crate) struct Report {
    failed: usize,
}

impl Report {
    pub(crate) fn pass(&mut self, name: &str) {
        println!("PASS {name}");
    }

    pub(crate) fn fail(&mut self, name: &str, why: &str) {
        self.failed += 1;
        println!("FAIL {name}: {why}");
    }

    /// PASS when `outcome` is Ok, else FAIL with the error chain.
    pub(crate) fn check(&mut self, name: &str, outcome: anyhow::Result<()>) {
        match outcome {
            Ok(()) => self.pass(name),
            Err(e) => self.fail(name, &format!("{e:#}")),
        }
    }

    pub(crate) fn exit_code(&self) -> std::process::ExitCode {
        if self.failed == 0 {
            std::process::ExitCode::SUCCESS
        } else {
            std::process::ExitCode::FAILURE
        }
    }
}

/// A new account at `options.directory`, trusting only basalt's root.
pub(crate) async fn new_account(options: &Options) -> anyhow::Result<Account> {
    let (account, _credentials) = Account::builder_with_root(&options.root)
        .context("loading the root certificate")?
        .create(
            &NewAccount {
                contact: &[],
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            options.directory.clone(),
            None,
        )
        .await
        .context("newAccount")?;
    Ok(account)
}

/// Serves `/.well-known/acme-challenge/<token>` (RFC 8555 §8.3) from what `publish` put in.
#[derive(Clone, Default)]
pub(crate) struct Responder {
    answers: Arc<Mutex<HashMap<String, String>>>,
}

impl Responder {
    /// Starts answering on 127.0.0.1 and ::1 (the test DNS resolves names to loopback).
    pub(crate) async fn start(port: u16) -> anyhow::Result<Self> {
        let responder = Self::default();
        let app = Router::new()
            .route("/.well-known/acme-challenge/{token}", get(answer))
            .with_state(responder.clone());
        let v4 = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
            .await
            .with_context(|| format!("binding 127.0.0.1:{port} for http-01"))?;
        tokio::spawn(axum::serve(v4, app.clone()).into_future());
        // ::1 is optional: a machine without IPv6 loopback still answers on 127.0.0.1.
        if let Ok(v6) =
            tokio::net::TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, port))).await
        {
            tokio::spawn(axum::serve(v6, app).into_future());
        }
        Ok(responder)
    }

    fn publish(&self, token: String, key_authorization: String) {
        self.answers
            .lock()
            .expect("responder map")
            .insert(token, key_authorization);
    }
}

async fn answer(
    State(responder): State<Responder>,
    Path(token): Path<String>,
) -> Result<String, StatusCode> {
    responder
        .answers
        .lock()
        .expect("responder map")
        .get(&token)
        .cloned()
        .ok_or(StatusCode::NOT_FOUND)
}

/// What an order gave back.
pub(crate) struct Issued {
    /// The order's URL, to fetch it again later.
    pub(crate) order_url: String,
    /// The certificate chain (PEM), leaf first.
    pub(crate) chain_pem: String,
    /// The leaf's DER.
    pub(crate) leaf_der: Vec<u8>,
}

impl Issued {
    /// The leaf's RFC 9773 §4.1 CertID, computed by instant-acme from the certificate.
    pub(crate) fn cert_id(&self) -> anyhow::Result<CertificateIdentifier<'static>> {
        let der = rustls::pki_types::CertificateDer::from(self.leaf_der.clone());
        Ok(CertificateIdentifier::try_from(&der)
            .map_err(|e| anyhow::anyhow!("CertID of the leaf: {e}"))?
            .into_owned())
    }
}

/// How long to keep polling an order (basalt answers within a second; lego-like slack).
fn retry_policy() -> RetryPolicy {
    RetryPolicy::new()
        .initial_delay(Duration::from_millis(100))
        .timeout(Duration::from_secs(30))
}

/// Places `new_order`, answers its http-01 challenges through `responder`, finalizes with a
/// fresh P-256 key and returns the certificate.
pub(crate) async fn issue(
    account: &Account,
    responder: &Responder,
    new_order: &NewOrder<'_>,
) -> anyhow::Result<Issued> {
    let names = identifier_values(new_order.identifiers());
    let mut order = account.new_order(new_order).await.context("newOrder")?;
    complete(&mut order, responder, names).await
}

/// The identifiers' values, for the CSR.
pub(crate) fn identifier_values(identifiers: &[Identifier]) -> Vec<String> {
    identifiers
        .iter()
        .map(|i| match i {
            Identifier::Dns(name) => name.clone(),
            Identifier::Ip(ip) => ip.to_string(),
            other => format!("{other:?}"),
        })
        .collect()
}

/// Answers the challenges of an order just placed for `names` and takes it to its
/// certificate.
pub(crate) async fn complete(
    order: &mut Order,
    responder: &Responder,
    names: Vec<String>,
) -> anyhow::Result<Issued> {
    let mut authorizations = order.authorizations();
    while let Some(authz) = authorizations.next().await {
        let mut authz = authz.context("fetching an authorization")?;
        if authz.status == AuthorizationStatus::Valid {
            continue;
        }
        let mut challenge = authz
            .challenge(ChallengeType::Http01)
            .context("the authorization offers no http-01 challenge")?;
        responder.publish(
            challenge.token.clone(),
            challenge.key_authorization().as_str().to_owned(),
        );
        challenge.set_ready().await.context("answering http-01")?;
    }
    let status = order.poll_ready(&retry_policy()).await.context("polling")?;
    if status != OrderStatus::Ready {
        bail!("the order is {status:?}, not ready");
    }
    let key = rcgen::KeyPair::generate().context("generating the leaf key")?;
    let mut params = rcgen::CertificateParams::new(names).context("CSR parameters")?;
    // An empty subject, as instant-acme's own finalize sends: the names are in the SAN.
    params.distinguished_name = rcgen::DistinguishedName::new();
    let csr = params.serialize_request(&key).context("signing the CSR")?;
    order.finalize_csr(csr.der()).await.context("finalize")?;
    let chain_pem = order
        .poll_certificate(&retry_policy())
        .await
        .context("polling for the certificate")?;
    let leaf_der = first_certificate_der(&chain_pem)?;
    Ok(Issued {
        order_url: order.url().to_owned(),
        chain_pem,
        leaf_der,
    })
}

/// The DER of the first `CERTIFICATE` block of a PEM chain.
pub(crate) fn first_certificate_der(chain_pem: &str) -> anyhow::Result<Vec<u8>> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(chain_pem.as_bytes())
        .map_err(|e| anyhow::anyhow!("the chain is not PEM: {e}"))?;
    if pem.label != "CERTIFICATE" {
        bail!("the chain starts with a {} block", pem.label);
    }
    Ok(pem.contents)
}

/// `names` as DNS identifiers for `NewOrder::new`.
pub(crate) fn dns_identifiers(names: &[&str]) -> Vec<Identifier> {
    names
        .iter()
        .map(|name| Identifier::Dns((*name).to_owned()))
        .collect()
}
