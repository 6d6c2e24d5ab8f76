//! An index for the expiry clean-up of orders: it deletes expired orders in every status but
//! `valid` (a valid order is the record of an issued certificate and stays with it), so
//! `(status, expires_at)` serves it as index range scans that never walk the valid orders it
//! keeps. It replaces the initial migration's `expires_at` index on orders, which no query
//! used. (Expired authorizations are deleted in every status: `ix_authorizations_expires_at`
//! already serves that.)

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// (table, old single-column index, new composite index)
const INDEXES: [(&str, &str, &str); 1] = [(
    "orders",
    "ix_orders_expires_at",
    "ix_orders_status_expires_at",
)];

// `async_trait` cannot take `SchemaManager<'_>` (the trait declares the lifetime elided).
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, old, new) in INDEXES {
            manager
                .create_index(
                    Index::create()
                        .name(new)
                        .table(Alias::new(table))
                        .col(Alias::new("status"))
                        .col(Alias::new("expires_at"))
                        .to_owned(),
                )
                .await?;
            manager
                .drop_index(Index::drop().name(old).table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, old, new) in INDEXES {
            manager
                .create_index(
                    Index::create()
                        .name(old)
                        .table(Alias::new(table))
                        .col(Alias::new("expires_at"))
                        .to_owned(),
                )
                .await?;
            manager
                .drop_index(Index::drop().name(new).table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
