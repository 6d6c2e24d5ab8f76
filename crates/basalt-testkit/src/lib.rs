//! Test support for basalt: a DNS server that tests and scripts can program, so challenge
//! validation and CAA checks run against answers the test chose instead of the real DNS, and
//! a tls-alpn-01 responder serving the certificates a test chose (correct or broken), and a
//! round-robin TCP proxy that puts several basalt replicas behind one address.

pub mod dns;
pub mod proxy;
pub mod tls_alpn;
