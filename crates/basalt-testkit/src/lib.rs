//! Test support for basalt: a DNS server that tests and scripts can program, so challenge
//! validation and CAA checks run against answers the test chose instead of the real DNS.

pub mod dns;
