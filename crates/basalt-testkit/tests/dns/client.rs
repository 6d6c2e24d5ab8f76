//! A tiny hand-written DNS client, so the tests check the wire bytes the server sends
//! rather than what a full resolver makes of them. Panics are the tests' failure reports.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::{Edns, Message, Query};
use hickory_proto::rr::{Name, RData, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// Long enough for a loaded CI machine, short enough that a silent server fails fast.
const WAIT: Duration = Duration::from_secs(3);

/// A recursive-desired query for `name`, with an EDNS OPT of `edns_payload` bytes if given.
pub(crate) fn query(name: &str, rtype: RecordType, edns_payload: Option<u16>) -> Message {
    let mut msg = Message::query();
    msg.metadata.recursion_desired = true;
    let name = Name::from_ascii(name).expect("test names are valid");
    msg.add_query(Query::query(name, rtype));
    if let Some(payload) = edns_payload {
        let mut edns = Edns::new();
        edns.set_max_payload(payload);
        msg.set_edns(edns);
    }
    msg
}

/// Sends `msg` over UDP; `None` when no reply came within `wait`.
pub(crate) async fn udp_wait(server: SocketAddr, msg: &Message, wait: Duration) -> Option<Message> {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind client");
    socket
        .send_to(&msg.to_vec().expect("encode"), server)
        .await
        .expect("send");
    let mut buf = vec![0_u8; 65_535];
    let (len, _) = tokio::time::timeout(wait, socket.recv_from(&mut buf))
        .await
        .ok()?
        .expect("recv");
    let reply = Message::from_vec(&buf[..len]).expect("the reply decodes");
    assert_eq!(
        reply.metadata.id, msg.metadata.id,
        "reply id matches the query"
    );
    Some(reply)
}

/// Sends `msg` over UDP and expects a reply.
pub(crate) async fn udp(server: SocketAddr, msg: &Message) -> Message {
    udp_wait(server, msg, WAIT).await.expect("a UDP reply")
}

/// Sends `msg` over TCP with the 2-byte length prefix and expects a reply.
pub(crate) async fn tcp(server: SocketAddr, msg: &Message) -> Message {
    let exchange = async {
        let mut stream = TcpStream::connect(server).await.expect("connect");
        let bytes = msg.to_vec().expect("encode");
        let len = u16::try_from(bytes.len()).expect("query fits");
        stream.write_all(&len.to_be_bytes()).await.expect("write");
        stream.write_all(&bytes).await.expect("write");
        let len = stream.read_u16().await.expect("reply length");
        let mut reply = vec![0_u8; usize::from(len)];
        stream.read_exact(&mut reply).await.expect("reply");
        Message::from_vec(&reply).expect("the reply decodes")
    };
    let reply = tokio::time::timeout(WAIT, exchange)
        .await
        .expect("a TCP reply");
    assert_eq!(
        reply.metadata.id, msg.metadata.id,
        "reply id matches the query"
    );
    reply
}

/// What a stub resolver does: UDP first, TCP again when the UDP reply is truncated.
/// Returns the final reply and whether TCP was needed.
pub(crate) async fn resolve(server: SocketAddr, msg: &Message) -> (Message, bool) {
    let reply = udp(server, msg).await;
    if reply.metadata.truncation {
        return (tcp(server, msg).await, true);
    }
    (reply, false)
}

/// The TXT answers, each record's character-strings joined, in answer order.
pub(crate) fn txt_values(reply: &Message) -> Vec<String> {
    reply
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::TXT(t) => Some(String::from_utf8(t.txt_data.concat()).expect("UTF-8 TXT")),
            _ => None,
        })
        .collect()
}

/// The answers' owner names and types, to check CNAME chains.
pub(crate) fn owners(reply: &Message) -> Vec<(String, RecordType)> {
    reply
        .answers
        .iter()
        .map(|r| (r.name.to_ascii(), r.record_type()))
        .collect()
}

/// Sends one raw HTTP/1.1 POST and returns the status code and body.
pub(crate) async fn http_post(server: SocketAddr, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(server)
        .await
        .expect("connect to control API");
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {server}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .expect("write request");
    let mut response = String::new();
    tokio::time::timeout(WAIT, stream.read_to_string(&mut response))
        .await
        .expect("control API answers")
        .expect("read response");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("an HTTP status line");
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}
