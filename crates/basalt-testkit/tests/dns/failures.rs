//! Error answers, silence, truncation with the TCP retry, and robustness against garbage.

use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use crate::client::{query, resolve, tcp, txt_values, udp, udp_wait};
use crate::start;

#[tokio::test]
async fn servfail_nxdomain_and_timeout() {
    let dns = start().await;
    let records = dns.records();
    records.set_servfail("broken.test", true);
    records.set_nxdomain("missing.test.", true);
    records.set_timeout("silent.test", true);

    let reply = udp(dns.addr(), &query("broken.test.", RecordType::TXT, None)).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::ServFail);
    let reply = tcp(dns.addr(), &query("MISSING.test.", RecordType::A, None)).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NXDomain);
    assert!(reply.answers.is_empty());
    let silent = query("silent.test.", RecordType::A, None);
    assert!(
        udp_wait(dns.addr(), &silent, Duration::from_millis(300))
            .await
            .is_none()
    );

    records.set_servfail("broken.test", false);
    let reply = udp(dns.addr(), &query("broken.test.", RecordType::A, None)).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    records.reset();
    let reply = udp(dns.addr(), &query("missing.test.", RecordType::A, None)).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert!(
        udp_wait(dns.addr(), &silent, Duration::from_secs(3))
            .await
            .is_some()
    );
}

#[tokio::test]
async fn big_udp_answers_are_truncated_and_complete_over_tcp() {
    let dns = start().await;
    let values: Vec<String> = (0..30)
        .map(|i| format!("{i:02}-{}", "k".repeat(40)))
        .collect();
    dns.records().set_txt("many.test", values.clone());

    let q = query("many.test.", RecordType::TXT, None);
    let reply = udp(dns.addr(), &q).await;
    assert!(reply.metadata.truncation, "TC is set over plain UDP");
    assert!(reply.answers.is_empty());
    let (reply, used_tcp) = resolve(dns.addr(), &q).await;
    assert!(used_tcp);
    assert!(!reply.metadata.truncation);
    assert_eq!(txt_values(&reply), values);

    // A client that advertises a big enough EDNS buffer gets it all over UDP.
    let reply = udp(
        dns.addr(),
        &query("many.test.", RecordType::TXT, Some(4096)),
    )
    .await;
    assert!(!reply.metadata.truncation);
    assert!(reply.edns.is_some(), "EDNS is answered with EDNS");
    assert_eq!(txt_values(&reply).len(), 30);
}

#[tokio::test]
async fn malformed_packets_are_ignored() {
    let dns = start().await;
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("bind");
    for junk in [
        &b""[..],
        b"\x00",
        b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07trunc",
    ] {
        socket.send_to(junk, dns.addr()).await.expect("send");
    }
    let mut buf = [0_u8; 512];
    let silent = tokio::time::timeout(Duration::from_millis(300), socket.recv_from(&mut buf)).await;
    assert!(silent.is_err(), "no reply to garbage");
    let reply = udp(dns.addr(), &query("alive.test.", RecordType::A, None)).await;
    assert_eq!(reply.answers.len(), 1, "still serving");
}

#[tokio::test]
async fn questionless_queries_get_formerr() {
    let dns = start().await;
    let mut q = query("x.test.", RecordType::A, None);
    q.queries.clear();
    let reply = udp(dns.addr(), &q).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::FormErr);
}

#[tokio::test]
async fn shutdown_frees_the_port_for_both_transports() {
    let dns = start().await;
    let addr = dns.addr();
    dns.shutdown().await;
    let again = basalt_testkit::dns::TestDns::start(addr)
        .await
        .expect("the same port is free again");
    let reply = tcp(again.addr(), &query("x.test.", RecordType::A, None)).await;
    assert_eq!(reply.answers.len(), 1);
}
