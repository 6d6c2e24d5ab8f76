//! An index on `certificates.not_after` (issue 17): the metrics scrape counts, per area, the
//! unrevoked certificates that expire within the next hour, a range on `not_after` that must
//! not scan every certificate ever issued each time Prometheus scrapes.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

const INDEX: &str = "ix_certificates_not_after";

// `async_trait` cannot take `SchemaManager<'_>` (the trait declares the lifetime elided).
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(Alias::new("certificates"))
                    .col(Alias::new("not_after"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(INDEX)
                    .table(Alias::new("certificates"))
                    .to_owned(),
            )
            .await
    }
}
