//! The HTTP control API, driven with raw HTTP/1.1 requests as a script would send them.

use basalt_testkit::dns::serve_control;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{RData, RecordType};

use crate::client::{http_post, query, txt_values, udp};
use crate::{start, strings};

#[tokio::test]
async fn control_api_changes_records() {
    let dns = start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind control");
    let control = listener.local_addr().expect("local addr");
    tokio::spawn(serve_control(listener, dns.records()));

    let body = r#"{"host":"_acme-challenge.ctl.test","values":["a","b"]}"#;
    assert_eq!(
        http_post(control, "/set-txt", body).await,
        (200, String::new())
    );
    let (status, _) = http_post(
        control,
        "/add-txt",
        r#"{"host":"_acme-challenge.ctl.test","value":"c"}"#,
    )
    .await;
    assert_eq!(status, 200);
    let reply = udp(
        dns.addr(),
        &query("_acme-challenge.ctl.test.", RecordType::TXT, None),
    )
    .await;
    assert_eq!(txt_values(&reply), strings(&["a", "b", "c"]));

    let body =
        r#"{"host":"ctl.test","records":[{"flags":128,"tag":"issue","value":"basalt.test"}]}"#;
    assert_eq!(http_post(control, "/set-caa", body).await.0, 200);
    let reply = udp(dns.addr(), &query("ctl.test.", RecordType::CAA, None)).await;
    assert!(matches!(&reply.answers[0].data, RData::CAA(c) if c.issuer_critical));

    assert_eq!(
        http_post(
            control,
            "/set-nxdomain",
            r#"{"host":"ctl.test","enabled":true}"#
        )
        .await
        .0,
        200
    );
    let reply = udp(dns.addr(), &query("ctl.test.", RecordType::A, None)).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NXDomain);

    let (status, message) =
        http_post(control, "/set-txt", r#"{"host":"x.test","value":"typo"}"#).await;
    assert_eq!(status, 400);
    assert!(
        message.contains("values"),
        "message says what is wrong: {message}"
    );
    assert_eq!(
        http_post(
            control,
            "/set-caa",
            r#"{"host":"x.test","records":[{"flags":0,"tag":"bad tag","value":""}]}"#
        )
        .await
        .0,
        400
    );

    assert_eq!(http_post(control, "/reset", "").await, (200, String::new()));
    let reply = udp(
        dns.addr(),
        &query("_acme-challenge.ctl.test.", RecordType::TXT, None),
    )
    .await;
    assert!(reply.answers.is_empty(), "reset cleared TXT");
    dns.shutdown().await;
}
