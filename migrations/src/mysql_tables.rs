//! `Table::create()` with the MySQL options every basalt table has: InnoDB, `utf8mb4` with
//! the binary collation, so text compares byte-wise on every engine. The initial migration
//! has its own copy (frozen history); later migrations that create tables use this one.

use sea_orm_migration::prelude::*;

pub(crate) fn table_create(manager: &SchemaManager<'_>) -> TableCreateStatement {
    let mut table = Table::create();
    if manager.get_database_backend() == sea_orm::DbBackend::MySql {
        table
            .engine("InnoDB")
            .character_set("utf8mb4")
            .collate("utf8mb4_bin");
    }
    table
}
