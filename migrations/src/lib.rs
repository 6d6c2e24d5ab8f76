//! basalt's schema history, applied at startup by `basalt-storage`.
//!
//! Invariants:
//! * Migrations are frozen history: once released, a migration file never changes; schema
//!   changes are new migrations. That is why this crate never imports the storage entities —
//!   they describe the *current* schema, while each migration describes one step.
//! * Every statement must run on SQLite, PostgreSQL and MySQL/MariaDB: portable column types
//!   only (BIGINT unix seconds for time, TEXT for JSON, bounded `VARCHAR(n)` for indexed text).
//! * sea-orm-migration takes no lock. Callers running several replicas against one
//!   PostgreSQL or MySQL must serialise `Migrator::up` themselves (basalt-storage holds
//!   `pg_advisory_xact_lock` in the migrating transaction, or MySQL's `GET_LOCK` on the
//!   migrating connection).
//! * MySQL tables get engine, charset and collation options (InnoDB, `utf8mb4_bin`): later
//!   migrations that create tables use `mysql_tables::table_create`.

pub use sea_orm_migration::{MigrationTrait, MigratorTrait};

mod m20261123_000001_initial;
mod m20261124_000001_expiry_indexes;
mod m20261202_000001_serving_keys_out_of_the_clear;
mod m20261202_000002_areas;
mod m20261202_000003_issuances;
mod m20261202_000004_eab_keys;
mod m20261202_000005_renewal_info;
mod m20261202_000006_profiles;
mod m20261202_000007_certificate_expiry_index;
mod mysql_tables;

/// All of basalt's migrations, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_initial::Migration),
            Box::new(m20261124_000001_expiry_indexes::Migration),
            Box::new(m20261202_000001_serving_keys_out_of_the_clear::Migration),
            Box::new(m20261202_000002_areas::Migration),
            Box::new(m20261202_000003_issuances::Migration),
            Box::new(m20261202_000004_eab_keys::Migration),
            Box::new(m20261202_000005_renewal_info::Migration),
            Box::new(m20261202_000006_profiles::Migration),
            Box::new(m20261202_000007_certificate_expiry_index::Migration),
        ]
    }
}
