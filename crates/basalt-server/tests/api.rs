//! HTTP-level tests of the ACME server: the real router on a real SQLite file, a real test
//! DNS server and a real http-01 responder. One test binary; one module per area.

#[path = "api/support.rs"]
mod support;

#[path = "api/account_cache.rs"]
mod account_cache;
#[path = "api/accounts.rs"]
mod accounts;
#[path = "api/areas.rs"]
mod areas;
#[path = "api/connections.rs"]
mod connections;
#[path = "api/crls.rs"]
mod crls;
#[path = "api/eab.rs"]
mod eab;
#[path = "api/hostile_input.rs"]
mod hostile_input;
#[path = "api/identifiers.rs"]
mod identifiers;
#[path = "api/jws_rules.rs"]
mod jws_rules;
#[path = "api/keys.rs"]
mod keys;
#[path = "api/metrics.rs"]
mod metrics;
#[path = "api/orders.rs"]
mod orders;
#[path = "api/profiles.rs"]
mod profiles;
#[path = "api/renewal_info.rs"]
mod renewal_info;
#[path = "api/restart.rs"]
mod restart;
#[path = "api/revocation.rs"]
mod revocation;
#[path = "api/tls.rs"]
mod tls;
#[path = "api/validation.rs"]
mod validation;
#[path = "api/validation_queue.rs"]
mod validation_queue;
