//! The real hickory resolver (as basalt-validation configures it) against this server: the
//! hand-written client checks the wire, this checks that a production client accepts it.

use std::net::SocketAddr;
use std::time::Duration;

use basalt_testkit::dns::CaaRecord;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::{Resolver, TokioResolver};

use crate::start;

fn resolver(server: SocketAddr) -> TokioResolver {
    let mut udp = ConnectionConfig::udp();
    udp.port = server.port();
    let mut tcp = ConnectionConfig::tcp();
    tcp.port = server.port();
    let ns = NameServerConfig::new(server.ip(), true, vec![udp, tcp]);
    let config = ResolverConfig::from_parts(None, vec![], vec![ns]);
    let mut opts = ResolverOpts::default();
    opts.cache_size = 0;
    opts.use_hosts_file = ResolveHosts::Never;
    opts.ndots = 0;
    opts.timeout = Duration::from_secs(2);
    opts.attempts = 1;
    Resolver::builder_with_config(config, TokioRuntimeProvider::default())
        .with_options(opts)
        .build()
        .expect("the resolver builds")
}

/// Joined TXT values, the way the dns-01 validator reads them.
fn txt(lookup: &hickory_resolver::lookup::Lookup) -> Vec<String> {
    lookup
        .answers()
        .iter()
        .filter_map(|r| match &r.data {
            RData::TXT(t) => Some(String::from_utf8_lossy(&t.txt_data.concat()).into_owned()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn hickory_resolver_reads_txt_caa_cname_and_big_answers() {
    let dns = start().await;
    let records = dns.records();
    let resolver = resolver(dns.addr());

    records.set_cname("_acme-challenge.alias.test", "_acme-challenge.real.test");
    records.set_txt("_acme-challenge.real.test", vec!["x".repeat(300)]);
    let lookup = resolver
        .lookup("_acme-challenge.alias.test.", RecordType::TXT)
        .await
        .expect("TXT through a CNAME");
    assert_eq!(txt(&lookup), vec!["x".repeat(300)]);

    let many: Vec<String> = (0..40)
        .map(|i| format!("{i:02}-{}", "v".repeat(43)))
        .collect();
    records.set_txt("many.test", many.clone());
    let lookup = resolver
        .lookup("many.test.", RecordType::TXT)
        .await
        .expect("a truncated answer is fetched again over TCP");
    let mut got = txt(&lookup);
    got.sort();
    assert_eq!(got, many);

    let issue = "basalt.test; accounturi=https://x/acct/1";
    let caa = CaaRecord {
        flags: 128,
        tag: "issue".into(),
        value: issue.into(),
    };
    records.set_caa("caa.test", vec![caa]);
    let lookup = resolver
        .lookup("caa.test.", RecordType::CAA)
        .await
        .expect("CAA");
    let [record] = lookup.answers() else {
        panic!("one CAA record: {lookup:?}")
    };
    let RData::CAA(caa) = &record.data else {
        panic!("not CAA: {record:?}")
    };
    assert!(caa.issuer_critical);
    assert_eq!(caa.value, issue.as_bytes());

    records.set_nxdomain("gone.test", true);
    let error = resolver
        .lookup("gone.test.", RecordType::A)
        .await
        .expect_err("NXDOMAIN");
    assert!(error.is_nx_domain(), "{error}");
}
