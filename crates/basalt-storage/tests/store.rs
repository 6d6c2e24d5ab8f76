//! The storage API against real databases: a fresh SQLite file per test, and a fresh
//! database per test on each server named by an admin connection URL:
//! * `BASALT_TEST_POSTGRES_URL`, e.g. `postgres://postgres@127.0.0.1:25432/postgres`;
//! * `BASALT_TEST_MYSQL_URL` (MySQL or MariaDB), e.g.
//!   `mysql://basalt:basalt@127.0.0.1:23306/mysql`.
//!
//! `scripts/test-databases start` starts both servers; `scripts/test-databases env` prints
//! the variables. Every scenario runs on every configured backend. A failing test leaves
//! its server database (`basalt_test_*`) behind for inspection.
//!
//! One test binary; one module per area under `store/`, the shared harness and fixtures
//! in `store/support.rs`.

#[path = "store/support.rs"]
mod support;

#[path = "store/accounts.rs"]
mod accounts;
#[path = "store/areas.rs"]
mod areas;
#[path = "store/authorizations.rs"]
mod authorizations;
#[path = "store/certificates.rs"]
mod certificates;
#[path = "store/crls.rs"]
mod crls;
#[path = "store/eab.rs"]
mod eab;
#[path = "store/engines.rs"]
mod engines;
#[path = "store/expiry.rs"]
mod expiry;
#[path = "store/issuances.rs"]
mod issuances;
#[path = "store/leases.rs"]
mod leases;
#[path = "store/listing.rs"]
mod listing;
#[path = "store/nonces.rs"]
mod nonces;
#[path = "store/orders.rs"]
mod orders;
#[path = "store/profiles.rs"]
mod profiles;
#[path = "store/races.rs"]
mod races;
#[path = "store/renewal.rs"]
mod renewal;
#[path = "store/secrets.rs"]
mod secrets;
#[path = "store/serving.rs"]
mod serving;
#[path = "store/validation.rs"]
mod validation;
