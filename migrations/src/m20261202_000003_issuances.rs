//! Issuances (issue 15): every serial basalt is about to sign, recorded before it is signed.
//!
//! Finalize reserves an `issuances` row (and moves its order `ready → processing`) in one
//! durable commit, signs outside any transaction, then stores the certificate and marks the
//! row `issued`. So every serial the signer ever saw is in this table, with the key (`spki`,
//! the CSR's SubjectPublicKeyInfo DER) and names it was for, even when the certificate never
//! reached the `certificates` table (a crash between signing and storing): see
//! docs/issuance.md.
//!
//! * `status`: `pending` (reserved, maybe being signed), `issued` (the certificate is in
//!   `certificates`), `failed` (the signer returned an error: nothing was signed) or
//!   `abandoned` (still pending long after any signature would have finished: the process
//!   died or lost the database; the serial may have been signed, never handed out).
//! * `serial` is unique: a serial is reserved once, whether or not it was ever signed.
//! * No foreign keys: rows are kept for good, as the record of what may have been signed,
//!   while expired orders (and, in time, accounts' other rows) are deleted around them.
//! * The index `(status, created_at)` serves the recovery pass ("pending, created before
//!   …").

use sea_orm_migration::{prelude::*, schema::*};

use crate::mysql_tables::table_create;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// Certificate serials as hex, as `certificates.serial`.
const SERIAL_LEN: u32 = 64;
/// Directory names, as in the initial migration.
const DIRECTORY_LEN: u32 = 64;
/// "pending", "issued", "failed", "abandoned".
const STATUS_LEN: u32 = 16;

#[derive(DeriveIden)]
enum Issuances {
    Table,
    Id,
    Serial,
    OrderId,
    AccountId,
    Directory,
    IntermediateId,
    Names,
    Spki,
    NotBefore,
    NotAfter,
    Status,
    CreatedAt,
    UpdatedAt,
}

// `async_trait` cannot take `SchemaManager<'_>` (the trait declares the lifetime elided).
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                table_create(manager)
                    .table(Issuances::Table)
                    .col(big_pk_auto(Issuances::Id))
                    .col(string_len_uniq(Issuances::Serial, SERIAL_LEN))
                    .col(big_integer(Issuances::OrderId))
                    .col(big_integer(Issuances::AccountId))
                    .col(string_len(Issuances::Directory, DIRECTORY_LEN))
                    .col(big_integer(Issuances::IntermediateId))
                    .col(text(Issuances::Names))
                    .col(blob(Issuances::Spki))
                    .col(big_integer(Issuances::NotBefore))
                    .col(big_integer(Issuances::NotAfter))
                    .col(string_len(Issuances::Status, STATUS_LEN))
                    .col(big_integer(Issuances::CreatedAt))
                    .col(big_integer(Issuances::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_issuances_status_created_at")
                    .table(Issuances::Table)
                    .col(Issuances::Status)
                    .col(Issuances::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Issuances::Table).to_owned())
            .await
    }
}
