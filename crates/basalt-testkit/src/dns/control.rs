//! The HTTP control API, so shell scripts and other processes can change what the
//! standalone server answers (`curl -d '{"host":..}' http://127.0.0.1:8055/set-txt`).
//!
//! Bodies are parsed by hand rather than with axum's `Json` extractor: that way any
//! Content-Type is accepted (curl's `-d` sends a form type) and every bad body is a 400.

use std::net::{Ipv4Addr, Ipv6Addr};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio::net::TcpListener;

use super::records::{CaaRecord, Records};

type Reply = Result<StatusCode, (StatusCode, String)>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Host {
    host: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetTxt {
    host: String,
    values: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddTxt {
    host: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetCaa {
    host: String,
    records: Vec<CaaRecord>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetCname {
    host: String,
    target: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetFlag {
    host: String,
    enabled: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetAddrs<T> {
    host: String,
    addresses: Vec<T>,
}

/// Serves the control API on `listener` until the listener fails.
pub async fn serve_control(listener: TcpListener, records: Records) -> std::io::Result<()> {
    axum::serve(listener, router(records)).await
}

fn router(records: Records) -> Router {
    Router::new()
        .route("/set-txt", post(set_txt))
        .route("/add-txt", post(add_txt))
        .route("/clear-txt", post(clear_txt))
        .route("/set-caa", post(set_caa))
        .route("/clear-caa", post(clear_caa))
        .route("/set-cname", post(set_cname))
        .route("/clear-cname", post(clear_cname))
        .route("/set-a", post(set_a))
        .route("/set-aaaa", post(set_aaaa))
        .route("/set-servfail", post(set_servfail))
        .route("/set-nxdomain", post(set_nxdomain))
        .route("/set-timeout", post(set_timeout))
        .route("/reset", post(reset))
        .with_state(records)
}

/// Decodes a JSON body and checks the host, turning any problem into a readable 400.
fn parse<T: DeserializeOwned>(
    body: &Bytes,
    host: impl Fn(&T) -> &str,
) -> Result<T, (StatusCode, String)> {
    let request: T = serde_json::from_slice(body)
        .map_err(|e| (StatusCode::BAD_REQUEST, format!("bad request body: {e}\n")))?;
    if host(&request).trim().trim_end_matches('.').is_empty() {
        return Err((
            StatusCode::BAD_REQUEST,
            "host must not be empty\n".to_owned(),
        ));
    }
    Ok(request)
}

async fn set_txt(State(records): State<Records>, body: Bytes) -> Reply {
    let r: SetTxt = parse(&body, |r: &SetTxt| &r.host)?;
    records.set_txt(&r.host, r.values);
    Ok(StatusCode::OK)
}

async fn add_txt(State(records): State<Records>, body: Bytes) -> Reply {
    let r: AddTxt = parse(&body, |r: &AddTxt| &r.host)?;
    records.add_txt(&r.host, r.value);
    Ok(StatusCode::OK)
}

async fn clear_txt(State(records): State<Records>, body: Bytes) -> Reply {
    let r: Host = parse(&body, |r: &Host| &r.host)?;
    records.clear_txt(&r.host);
    Ok(StatusCode::OK)
}

async fn set_caa(State(records): State<Records>, body: Bytes) -> Reply {
    let r: SetCaa = parse(&body, |r: &SetCaa| &r.host)?;
    // RFC 8659 §4.1: tags are 1 to 15 ASCII letters and digits. Others would make the
    // whole reply undecodable, which is never what a script meant.
    let bad_tag = r.records.iter().find(|c| {
        c.tag.is_empty() || c.tag.len() > 15 || !c.tag.bytes().all(|b| b.is_ascii_alphanumeric())
    });
    if let Some(c) = bad_tag {
        let message = format!("bad CAA tag {:?}: 1 to 15 ASCII letters or digits\n", c.tag);
        return Err((StatusCode::BAD_REQUEST, message));
    }
    records.set_caa(&r.host, r.records);
    Ok(StatusCode::OK)
}

async fn clear_caa(State(records): State<Records>, body: Bytes) -> Reply {
    let r: Host = parse(&body, |r: &Host| &r.host)?;
    records.clear_caa(&r.host);
    Ok(StatusCode::OK)
}

async fn set_cname(State(records): State<Records>, body: Bytes) -> Reply {
    let r: SetCname = parse(&body, |r: &SetCname| &r.host)?;
    records.set_cname(&r.host, &r.target);
    Ok(StatusCode::OK)
}

async fn clear_cname(State(records): State<Records>, body: Bytes) -> Reply {
    let r: Host = parse(&body, |r: &Host| &r.host)?;
    records.clear_cname(&r.host);
    Ok(StatusCode::OK)
}

async fn set_a(State(records): State<Records>, body: Bytes) -> Reply {
    let r: SetAddrs<Ipv4Addr> = parse(&body, |r: &SetAddrs<Ipv4Addr>| &r.host)?;
    records.set_a(&r.host, r.addresses);
    Ok(StatusCode::OK)
}

async fn set_aaaa(State(records): State<Records>, body: Bytes) -> Reply {
    let r: SetAddrs<Ipv6Addr> = parse(&body, |r: &SetAddrs<Ipv6Addr>| &r.host)?;
    records.set_aaaa(&r.host, r.addresses);
    Ok(StatusCode::OK)
}

async fn set_servfail(State(records): State<Records>, body: Bytes) -> Reply {
    let r: SetFlag = parse(&body, |r: &SetFlag| &r.host)?;
    records.set_servfail(&r.host, r.enabled);
    Ok(StatusCode::OK)
}

async fn set_nxdomain(State(records): State<Records>, body: Bytes) -> Reply {
    let r: SetFlag = parse(&body, |r: &SetFlag| &r.host)?;
    records.set_nxdomain(&r.host, r.enabled);
    Ok(StatusCode::OK)
}

async fn set_timeout(State(records): State<Records>, body: Bytes) -> Reply {
    let r: SetFlag = parse(&body, |r: &SetFlag| &r.host)?;
    records.set_timeout(&r.host, r.enabled);
    Ok(StatusCode::OK)
}

/// Takes no body: whatever is sent is ignored.
async fn reset(State(records): State<Records>) -> StatusCode {
    records.reset();
    StatusCode::OK
}
