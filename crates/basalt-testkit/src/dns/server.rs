//! UDP and TCP listeners: decode each query, answer it from the store, frame and send.
//!
//! Both transports are served on one address, as resolvers retry truncated UDP answers over
//! TCP on the same port.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::{Message, ResponseCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinSet;

use super::answer::respond;
use super::records::Records;

/// The largest UDP answer without EDNS (RFC 1035 §4.2.1).
const PLAIN_UDP_LIMIT: usize = 512;
/// Idle TCP connections are closed after this, so stray clients do not pin tasks forever.
const TCP_IDLE: Duration = Duration::from_secs(30);

/// Which transport a reply goes out on; it decides the size limit.
#[derive(Clone, Copy)]
enum Transport {
    Udp,
    Tcp,
}

/// Decodes `packet` and encodes the reply. Malformed packets get no reply at all: a test
/// server must survive garbage, and there is no trustworthy id to answer to.
fn handle(packet: &[u8], records: &Records, transport: Transport) -> Option<Vec<u8>> {
    let request = match Message::from_vec(packet) {
        Ok(request) => request,
        Err(error) => {
            tracing::debug!(%error, "ignoring malformed DNS packet");
            return None;
        }
    };
    let reply = respond(&request, records)?;
    let limit = match transport {
        // Without EDNS the client accepts 512 bytes; with it, what it advertised (>= 512).
        Transport::Udp => usize::from(request.max_payload()).max(PLAIN_UDP_LIMIT),
        Transport::Tcp => usize::from(u16::MAX),
    };
    let bytes = match reply.to_vec() {
        Ok(bytes) => bytes,
        Err(error) => {
            // For example a CAA tag over 255 bytes: tell the client rather than stay silent.
            tracing::warn!(%error, "cannot encode DNS reply; sending SERVFAIL");
            let mut failure = reply.truncate();
            failure.metadata.truncation = false;
            failure.metadata.response_code = ResponseCode::ServFail;
            return failure.to_vec().ok();
        }
    };
    if bytes.len() <= limit {
        return Some(bytes);
    }
    // TC=1 with the question only: the resolver retries over TCP and gets everything.
    reply.truncate().to_vec().ok()
}

/// Answers UDP queries one at a time; answering is quick and needs no I/O besides the send.
pub(crate) async fn serve_udp(socket: UdpSocket, records: Records) {
    let mut buf = vec![0_u8; 65_535];
    loop {
        let (len, peer) = match socket.recv_from(&mut buf).await {
            Ok(received) => received,
            Err(error) => {
                // ICMP errors from earlier sends show up here on some systems; keep serving.
                tracing::debug!(%error, "UDP receive failed");
                continue;
            }
        };
        let Some(packet) = buf.get(..len) else {
            continue;
        };
        if let Some(reply) = handle(packet, &records, Transport::Udp)
            && let Err(error) = socket.send_to(&reply, peer).await
        {
            tracing::debug!(%error, %peer, "UDP send failed");
        }
    }
}

/// Accepts TCP connections; each runs in the set, so dropping this future ends them all.
pub(crate) async fn serve_tcp(listener: TcpListener, records: Records) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let records = records.clone();
                    connections.spawn(async move {
                        if let Err(error) = serve_connection(stream, &records).await {
                            tracing::debug!(%error, %peer, "TCP DNS connection ended");
                        }
                    });
                }
                Err(error) => {
                    tracing::debug!(%error, "TCP accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            // Reap finished connections so the set does not grow without bound.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Serves length-prefixed queries (RFC 1035 §4.2.2) on one connection until it closes.
async fn serve_connection(mut stream: TcpStream, records: &Records) -> std::io::Result<()> {
    loop {
        let Ok(len) = tokio::time::timeout(TCP_IDLE, stream.read_u16()).await else {
            return Ok(());
        };
        let mut packet = vec![0_u8; usize::from(len?)];
        stream.read_exact(&mut packet).await?;
        let Some(reply) = handle(&packet, records, Transport::Tcp) else {
            continue;
        };
        // `handle` keeps TCP replies within u16::MAX bytes, so this conversion cannot fail.
        let Ok(reply_len) = u16::try_from(reply.len()) else {
            continue;
        };
        let mut framed = Vec::with_capacity(reply.len() + 2);
        framed.extend_from_slice(&reply_len.to_be_bytes());
        framed.extend_from_slice(&reply);
        stream.write_all(&framed).await?;
    }
}

/// Binds UDP and TCP on `addr`. For port 0 the port comes from the UDP bind, and TCP must
/// get the same one; another process may hold it for TCP, so a few fresh ports are tried.
pub(crate) async fn bind(addr: SocketAddr) -> std::io::Result<(UdpSocket, TcpListener)> {
    if addr.port() != 0 {
        let udp = UdpSocket::bind(addr).await?;
        let tcp = TcpListener::bind(addr).await?;
        return Ok((udp, tcp));
    }
    let mut last_error = None;
    for _ in 0..8 {
        let udp = UdpSocket::bind(addr).await?;
        match TcpListener::bind(udp.local_addr()?).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| std::io::Error::other("no port free for UDP and TCP")))
}
