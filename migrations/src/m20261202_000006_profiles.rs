//! Certificate profiles (issue 16, draft-ietf-acme-profiles): the profile each order was
//! placed under and each certificate was issued under.
//!
//! * `orders.profile`: the profile's name as the area defined it when the order was created
//!   (the area's default when the client named none), echoed on every fetch of the order and
//!   looked up again at finalize.
//! * `certificates.profile`: the profile its order had, for `basalt certs show`.
//!
//! Both are NULL for rows from before this migration: basalt then issued one fixed leaf,
//! the one the shipped `default` profile still describes, so NULL reads as the area's
//! default. Not indexed: nothing selects by profile. `VARCHAR(64)`: profile names are at most
//! 64 characters.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// The longest profile name.
const PROFILE_LEN: u32 = 64;

#[derive(DeriveIden)]
enum Orders {
    Table,
    Profile,
}

#[derive(DeriveIden)]
enum Certificates {
    Table,
    Profile,
}

// `async_trait` cannot take `SchemaManager<'_>` (the trait declares the lifetime elided).
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per ALTER TABLE: SQLite adds one column per statement.
        manager
            .alter_table(
                Table::alter()
                    .table(Orders::Table)
                    .add_column(string_len_null(Orders::Profile, PROFILE_LEN))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Certificates::Table)
                    .add_column(string_len_null(Certificates::Profile, PROFILE_LEN))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Certificates::Table)
                    .drop_column(Certificates::Profile)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Orders::Table)
                    .drop_column(Orders::Profile)
                    .to_owned(),
            )
            .await
    }
}
