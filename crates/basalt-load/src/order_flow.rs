//! One full issuance, the way an RFC 8555 client does it: newOrder (§7.4), each
//! authorization (§7.5) with its http-01 challenge (§7.5.1, §8.3), the order polled until
//! `ready`, finalize with a CSR, the order polled until `valid`, and the certificate
//! downloaded (§7.4.2) and checked.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

use crate::csr::csr_der;
use crate::error::Error;
use crate::leaf_check::check_leaf;
use crate::polling::PollDelay;
use crate::responder::{KeyAuthorizations, Published};
use crate::session::Session;
use crate::wire::{Authorization, Order, OrderStatus};

/// RFC 8555 §7.4.2: the certificate chain media type.
const PEM_CHAIN: &str = "application/pem-certificate-chain";
/// Polling one order for one status change gives up after this long. Long enough for a
/// validation job to be taken over from a killed replica once its lease expires.
const POLL_LIMIT: Duration = Duration::from_secs(120);

/// What every order needs besides the session and its names.
pub(crate) struct OrderContext<'a> {
    pub(crate) key_authorizations: &'a KeyAuthorizations,
    pub(crate) retry_after_cap: Duration,
    /// `--serialize-order-setup`: held around newOrder and the authorization fetches.
    pub(crate) setup_lock: Option<&'a tokio::sync::Mutex<()>>,
}

/// The step an order is at, kept outside the order's future so that an order cut off by the
/// hard deadline can still say where it was stuck (which request, which order URL).
#[derive(Debug, Default)]
pub(crate) struct Progress(Mutex<String>);

impl Progress {
    fn set(&self, step: String) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = step;
    }

    pub(crate) fn step(&self) -> String {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

pub(crate) async fn complete_order(
    session: &mut Session,
    names: &[String],
    context: &OrderContext<'_>,
    progress: &Progress,
) -> Result<(), Error> {
    let (order_url, challenges) = {
        progress.set("waiting for the order setup lock".into());
        let _serialized = match context.setup_lock {
            Some(lock) => Some(lock.lock().await),
            None => None,
        };
        progress.set("sending newOrder".into());
        let (order_url, order) = new_order(session, names).await?;
        progress.set(format!("fetching the authorizations of {order_url}"));
        let challenges = http01_challenges(session, &order).await?;
        (order_url, challenges)
    };

    // Published until this order is done, whatever the outcome.
    let mut published: Vec<Published> = Vec::with_capacity(challenges.len());
    for challenge in &challenges {
        let key_authorization = session.signer().key().key_authorization(&challenge.token);
        published.push(
            context
                .key_authorizations
                .publish(&challenge.token, key_authorization),
        );
        progress.set(format!("answering challenge {}", challenge.url));
        // RFC 8555 §7.5.1: the client signals readiness with an empty JSON object.
        session.post(&challenge.url, Some(b"{}"), None).await?;
    }

    progress.set(format!("polling {order_url} until ready"));
    let order = poll_order(session, &order_url, OrderStatus::Ready, context).await?;
    drop(published);

    progress.set(format!("finalizing {order_url}"));
    let order = finalize(session, &order_url, &order, names).await?;
    let order = match order.status {
        OrderStatus::Valid => order,
        _ => {
            progress.set(format!("polling {order_url} until valid"));
            poll_order(session, &order_url, OrderStatus::Valid, context).await?
        }
    };

    let certificate_url = order.certificate.ok_or_else(|| Error::Protocol {
        url: order_url.clone(),
        reason: "the order is valid but has no certificate URL".into(),
    })?;
    progress.set(format!("downloading {certificate_url}"));
    // RFC 8555 §7.4.2: POST-as-GET, asking for the PEM chain.
    let reply = session
        .post(&certificate_url, None, Some(PEM_CHAIN))
        .await?;
    check_leaf(&reply.body, names).map_err(|reason| Error::Leaf {
        url: certificate_url,
        reason,
    })
}

/// RFC 8555 §7.4: newOrder with one dns identifier per name; returns the order URL too.
async fn new_order(session: &mut Session, names: &[String]) -> Result<(String, Order), Error> {
    let identifiers: Vec<_> = names
        .iter()
        .map(|name| json!({"type": "dns", "value": name}))
        .collect();
    let payload = json!({ "identifiers": identifiers }).to_string();
    let url = session.server().directory.new_order.clone();
    let reply = session.post(&url, Some(payload.as_bytes()), None).await?;
    let order_url = reply.location()?.to_owned();
    Ok((order_url, reply.json()?))
}

/// The http-01 challenge to answer for each authorization still pending.
struct PendingChallenge {
    url: String,
    token: String,
}

/// RFC 8555 §7.5: fetches every authorization (POST-as-GET) and picks its http-01 challenge.
async fn http01_challenges(
    session: &mut Session,
    order: &Order,
) -> Result<Vec<PendingChallenge>, Error> {
    let mut pending = Vec::with_capacity(order.authorizations.len());
    for authz_url in &order.authorizations {
        let authz: Authorization = session.post_as_get(authz_url).await?.json()?;
        if authz.status == "valid" {
            continue;
        }
        let challenge = authz
            .challenges
            .into_iter()
            .find(|c| c.kind == "http-01")
            .ok_or_else(|| Error::Protocol {
                url: authz_url.clone(),
                reason: "the authorization offers no http-01 challenge".into(),
            })?;
        let token = challenge.token.ok_or_else(|| Error::Protocol {
            url: challenge.url.clone(),
            reason: "the http-01 challenge has no token".into(),
        })?;
        pending.push(PendingChallenge {
            url: challenge.url,
            token,
        });
    }
    Ok(pending)
}

/// RFC 8555 §7.4: finalize with a fresh CSR for exactly the ordered names.
async fn finalize(
    session: &mut Session,
    order_url: &str,
    order: &Order,
    names: &[String],
) -> Result<Order, Error> {
    let csr = URL_SAFE_NO_PAD.encode(csr_der(names)?);
    let payload = json!({ "csr": csr }).to_string();
    match session
        .post(&order.finalize, Some(payload.as_bytes()), None)
        .await
    {
        Ok(reply) => reply.json(),
        // A retried finalize (its first answer lost to a dead replica or connection) finds
        // the order already past `ready`: the first attempt went through.
        Err(error) if error.is_problem("orderNotReady") => {
            let current: Order = session.post_as_get(order_url).await?.json()?;
            match current.status {
                OrderStatus::Processing | OrderStatus::Valid => Ok(current),
                _ => Err(error),
            }
        }
        Err(error) => Err(error),
    }
}

/// Polls the order (POST-as-GET) until it has status `wanted`.
async fn poll_order(
    session: &mut Session,
    order_url: &str,
    wanted: OrderStatus,
    context: &OrderContext<'_>,
) -> Result<Order, Error> {
    let started = Instant::now();
    let mut delay = PollDelay::new(context.retry_after_cap);
    let mut retry_after = None;
    loop {
        tokio::time::sleep(delay.next_wait(retry_after)).await;
        let reply = session.post_as_get(order_url).await?;
        let order: Order = reply.json()?;
        if order.status == wanted {
            return Ok(order);
        }
        if order.status == OrderStatus::Invalid {
            let reason = invalid_reason(session, &order).await;
            return Err(Error::OrderInvalid {
                url: order_url.to_owned(),
                reason,
            });
        }
        if started.elapsed() >= POLL_LIMIT {
            return Err(Error::Stuck {
                url: order_url.to_owned(),
                status: order.status.name().to_owned(),
                seconds: POLL_LIMIT.as_secs(),
            });
        }
        retry_after = reply.retry_after;
    }
}

/// Why an order is invalid: its own `error`, else the first failed challenge's.
async fn invalid_reason(session: &mut Session, order: &Order) -> String {
    if let Some(problem) = &order.error {
        return problem.to_string();
    }
    for authz_url in &order.authorizations {
        let Ok(reply) = session.post_as_get(authz_url).await else {
            continue;
        };
        let Ok(authz) = reply.json::<Authorization>() else {
            continue;
        };
        if let Some(problem) = authz.challenges.iter().find_map(|c| c.error.as_ref()) {
            return format!("{authz_url}: {problem}");
        }
    }
    "no authorization says why".into()
}
