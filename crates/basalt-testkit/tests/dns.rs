//! Wire-level tests of the test DNS server: every answering rule, both transports, the
//! truncation path and the HTTP control API, checked with a hand-written client.
//!
//! One test binary (link time and disk are scarce); the modules live under `tests/dns/` so
//! cargo does not build each of them as a binary of its own.

#[path = "dns/caa_cname.rs"]
mod caa_cname;
#[path = "dns/client.rs"]
mod client;
#[path = "dns/control.rs"]
mod control;
#[path = "dns/failures.rs"]
mod failures;
#[path = "dns/resolver.rs"]
mod resolver;

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use basalt_testkit::dns::TestDns;
use client::{query, resolve, tcp, txt_values, udp};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{RData, RecordType};

/// A fresh server on a free port, so tests run in parallel without sharing records.
async fn start() -> TestDns {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    TestDns::start(addr)
        .await
        .expect("the test DNS server starts")
}

/// Owned strings, as the record API takes them.
fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| (*v).to_owned()).collect()
}

#[tokio::test]
async fn a_and_aaaa_default_to_loopback_and_can_be_overridden() {
    let dns = start().await;
    assert_ne!(dns.addr().port(), 0);
    for send in [false, true] {
        let q = query("anything.test.", RecordType::A, None);
        let reply = if send {
            tcp(dns.addr(), &q).await
        } else {
            udp(dns.addr(), &q).await
        };
        assert!(reply.metadata.authoritative, "AA is set");
        assert_eq!(reply.queries, q.queries, "the query is echoed");
        assert_eq!(reply.answers.len(), 1);
        assert_eq!(reply.answers[0].data, RData::A(Ipv4Addr::LOCALHOST.into()));
        let reply = udp(dns.addr(), &query("anything.test.", RecordType::AAAA, None)).await;
        assert_eq!(
            reply.answers[0].data,
            RData::AAAA(Ipv6Addr::LOCALHOST.into())
        );
    }

    let records = dns.records();
    records.set_a(
        "Host.Test.",
        vec![Ipv4Addr::new(192, 0, 2, 7), Ipv4Addr::new(192, 0, 2, 8)],
    );
    records.set_aaaa("host.test", Vec::new());
    let reply = tcp(dns.addr(), &query("host.test.", RecordType::A, None)).await;
    let got: Vec<_> = reply.answers.iter().map(|r| r.data.clone()).collect();
    let want = [
        RData::A(Ipv4Addr::new(192, 0, 2, 7).into()),
        RData::A(Ipv4Addr::new(192, 0, 2, 8).into()),
    ];
    assert_eq!(got, want);
    let reply = udp(dns.addr(), &query("HOST.test.", RecordType::AAAA, None)).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert!(
        reply.answers.is_empty(),
        "an empty override answers no records"
    );
}

#[tokio::test]
async fn txt_set_add_and_clear() {
    let dns = start().await;
    let records = dns.records();
    let name = "_acme-challenge.txt.test.";
    let reply = udp(dns.addr(), &query(name, RecordType::TXT, None)).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert!(reply.answers.is_empty());

    records.set_txt("_ACME-challenge.txt.test", strings(&["one", "two"]));
    records.add_txt(name, "three".to_owned());
    let reply = udp(dns.addr(), &query(name, RecordType::TXT, None)).await;
    assert_eq!(txt_values(&reply), strings(&["one", "two", "three"]));
    let reply = tcp(dns.addr(), &query(name, RecordType::TXT, None)).await;
    assert_eq!(txt_values(&reply), strings(&["one", "two", "three"]));

    records.set_txt(name, strings(&["only"]));
    let reply = udp(dns.addr(), &query(name, RecordType::TXT, None)).await;
    assert_eq!(txt_values(&reply), strings(&["only"]));

    records.clear_txt(name);
    let reply = udp(dns.addr(), &query(name, RecordType::TXT, None)).await;
    assert!(reply.answers.is_empty(), "cleared: {:?}", reply.answers);
}

#[tokio::test]
async fn long_txt_is_split_into_character_strings_of_one_record() {
    let dns = start().await;
    let long: String = (0..600)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    dns.records().set_txt("long.test", vec![long.clone()]);
    let (reply, _) = resolve(dns.addr(), &query("long.test.", RecordType::TXT, None)).await;
    assert_eq!(reply.answers.len(), 1, "one record");
    let RData::TXT(txt) = &reply.answers[0].data else {
        panic!("not TXT: {reply:?}")
    };
    let lens: Vec<usize> = txt.txt_data.iter().map(|s| s.len()).collect();
    assert_eq!(lens, [255, 255, 90]);
    assert_eq!(txt_values(&reply), vec![long]);
}
