//! CAA wire encoding and CNAME chain following.

use std::net::Ipv4Addr;

use basalt_testkit::dns::CaaRecord;
use hickory_proto::rr::rdata::caa::KeyValue;
use hickory_proto::rr::{Name, RData, RecordType};

use crate::client::{owners, query, tcp, txt_values, udp};
use crate::{start, strings};

#[tokio::test]
async fn caa_records_carry_flags_tags_and_parameters() {
    let dns = start().await;
    let caa = |flags, tag: &str, value: &str| CaaRecord {
        flags,
        tag: tag.into(),
        value: value.into(),
    };
    dns.records().set_caa(
        "caa.test.",
        vec![
            caa(
                128,
                "issue",
                "basalt.test; accounturi=https://x/acct/1; validationmethods=http-01",
            ),
            caa(0, "issuewild", ";"),
            caa(0, "iodef", "mailto:security@caa.test"),
            caa(128, "tbs", "unknown"),
            caa(0, "issue", "%%%%"),
            caa(0, "issue", "other.test;policy=ev"),
        ],
    );
    let reply = tcp(dns.addr(), &query("caa.test.", RecordType::CAA, None)).await;
    let caas: Vec<_> = reply
        .answers
        .iter()
        .map(|r| match &r.data {
            RData::CAA(c) => c.clone(),
            other => panic!("not CAA: {other:?}"),
        })
        .collect();
    assert_eq!(caas.len(), 6);

    assert_eq!((caas[0].flags(), caas[0].tag.as_str()), (128, "issue"));
    assert!(caas[0].issuer_critical);
    let (issuer, params) = caas[0].value_as_issue().expect("issue value parses");
    assert_eq!(
        issuer,
        Some(Name::from_ascii("basalt.test").expect("valid"))
    );
    let want = vec![
        KeyValue::new("accounturi", "https://x/acct/1"),
        KeyValue::new("validationmethods", "http-01"),
    ];
    assert_eq!(params, want);

    assert_eq!((caas[1].flags(), caas[1].tag.as_str()), (0, "issuewild"));
    assert_eq!(
        caas[1].value_as_issue().expect("parses"),
        (None, Vec::new())
    );
    assert_eq!(caas[2].value, b"mailto:security@caa.test");
    assert_eq!(
        (
            caas[3].flags(),
            caas[3].tag.as_str(),
            caas[3].value.as_slice()
        ),
        (128, "tbs", &b"unknown"[..])
    );
    assert_eq!(
        caas[4].value, b"%%%%",
        "a malformed issue value is sent as written"
    );
    assert_eq!(
        caas[5].value, b"other.test; policy=ev",
        "a well-formed issue value goes through hickory's encoder"
    );

    dns.records().clear_caa("caa.test");
    let reply = udp(dns.addr(), &query("caa.test.", RecordType::CAA, None)).await;
    assert!(reply.answers.is_empty());
}

#[tokio::test]
async fn cname_chains_are_followed_for_txt_and_a() {
    let dns = start().await;
    let records = dns.records();
    records.set_cname("_acme-challenge.alias.test", "hop.test.");
    records.set_cname("hop.test", "_acme-challenge.target.test");
    records.set_txt("_acme-challenge.target.test", strings(&["token"]));
    records.set_txt(
        "_acme-challenge.alias.test",
        strings(&["hidden by the alias"]),
    );

    let reply = udp(
        dns.addr(),
        &query("_acme-challenge.alias.test.", RecordType::TXT, None),
    )
    .await;
    let want = vec![
        ("_acme-challenge.alias.test.".to_owned(), RecordType::CNAME),
        ("hop.test.".to_owned(), RecordType::CNAME),
        ("_acme-challenge.target.test.".to_owned(), RecordType::TXT),
    ];
    assert_eq!(owners(&reply), want);
    assert_eq!(txt_values(&reply), strings(&["token"]));

    let reply = udp(dns.addr(), &query("hop.test.", RecordType::A, None)).await;
    assert_eq!(owners(&reply).len(), 2);
    assert_eq!(reply.answers[1].data, RData::A(Ipv4Addr::LOCALHOST.into()));

    // A loop ends after the depth limit instead of hanging the server.
    records.set_cname("loop1.test", "loop2.test");
    records.set_cname("loop2.test", "loop1.test");
    let reply = udp(dns.addr(), &query("loop1.test.", RecordType::TXT, None)).await;
    assert_eq!(reply.answers.len(), 2);

    records.clear_cname("_acme-challenge.alias.test");
    let reply = udp(
        dns.addr(),
        &query("_acme-challenge.alias.test.", RecordType::TXT, None),
    )
    .await;
    assert_eq!(txt_values(&reply), strings(&["hidden by the alias"]));
}
