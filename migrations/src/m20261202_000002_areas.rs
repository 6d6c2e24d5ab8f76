//! Areas (issue 14): the intermediates each ACME directory signs with, their CRLs, and the
//! revision counter replicas poll to notice a change.
//!
//! * `intermediates`: one row per intermediate certificate basalt has used. `status` is
//!   `active` (signs new certificates; one per area), `retiring` (replaced, still signs CRLs
//!   while certificates it issued are unexpired) or `retired`. `key_ref` says where the
//!   private key is (a file path relative to the data directory); the key itself is never in
//!   the database. The CRL of each intermediate lives in its row: `crl_number` only grows
//!   (stored by compare-and-set on it), `revocations` counts revocations of its certificates
//!   and `crl_revocations` is that count as the stored CRL saw it, so "a revocation since the
//!   last CRL" is one comparison.
//! * `pki_state`: a single row (`id = 1`) whose `revision` every change to areas or
//!   intermediates bumps in its own transaction; replicas poll it.
//! * `certificates.intermediate_id`: which intermediate signed the certificate (NULL for
//!   certificates issued before this migration, until `serve` adopts the area's intermediate
//!   and backfills them). No foreign key: SQLite cannot add one to an existing table. The
//!   index `(intermediate_id, revoked_at, not_after)` serves a CRL's revoked certificates,
//!   the retirement check ("any unexpired certificate left?") and the backfill
//!   (`intermediate_id IS NULL`).
//!
//! `crl_der` is a BLOB, on MySQL a MEDIUMBLOB (16 MiB): a plain MySQL BLOB holds 64 KiB,
//! about 1,500 revoked certificates' worth of CRL.

use sea_orm_migration::{prelude::*, schema::*};

use crate::mysql_tables::table_create;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// Directory names, as in the initial migration.
const AREA_LEN: u32 = 64;
/// Lowercase hex subject key identifiers (SHA-256: 64 digits; room for longer methods).
const KEY_ID_LEN: u32 = 128;
/// "active", "retiring", "retired".
const STATUS_LEN: u32 = 16;

#[derive(DeriveIden)]
enum Intermediates {
    Table,
    Id,
    Area,
    KeyId,
    Subject,
    CertificatePem,
    KeyRef,
    Status,
    NotBefore,
    NotAfter,
    CreatedAt,
    Revocations,
    CrlRevocations,
    CrlNumber,
    CrlDer,
    CrlThisUpdate,
    CrlNextUpdate,
}

#[derive(DeriveIden)]
enum PkiState {
    Table,
    Id,
    Revision,
}

#[derive(DeriveIden)]
enum Certificates {
    Table,
    IntermediateId,
}

// `async_trait` cannot take `SchemaManager<'_>` (the trait declares the lifetime elided).
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let crl_der = if manager.get_database_backend() == sea_orm::DbBackend::MySql {
            ColumnDef::new(Intermediates::CrlDer)
                .custom(Alias::new("MEDIUMBLOB"))
                .null()
                .to_owned()
        } else {
            blob_null(Intermediates::CrlDer)
        };
        manager
            .create_table(
                table_create(manager)
                    .table(Intermediates::Table)
                    .col(big_pk_auto(Intermediates::Id))
                    .col(string_len(Intermediates::Area, AREA_LEN))
                    .col(string_len_uniq(Intermediates::KeyId, KEY_ID_LEN))
                    .col(text(Intermediates::Subject))
                    .col(text(Intermediates::CertificatePem))
                    .col(text(Intermediates::KeyRef))
                    .col(string_len(Intermediates::Status, STATUS_LEN))
                    .col(big_integer(Intermediates::NotBefore))
                    .col(big_integer(Intermediates::NotAfter))
                    .col(big_integer(Intermediates::CreatedAt))
                    .col(big_integer(Intermediates::Revocations).default(0))
                    .col(big_integer(Intermediates::CrlRevocations).default(0))
                    .col(big_integer(Intermediates::CrlNumber).default(0))
                    .col(crl_der)
                    .col(big_integer_null(Intermediates::CrlThisUpdate))
                    .col(big_integer_null(Intermediates::CrlNextUpdate))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_intermediates_area_status")
                    .table(Intermediates::Table)
                    .col(Intermediates::Area)
                    .col(Intermediates::Status)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_intermediates_status")
                    .table(Intermediates::Table)
                    .col(Intermediates::Status)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                table_create(manager)
                    .table(PkiState::Table)
                    .col(big_integer(PkiState::Id).primary_key())
                    .col(big_integer(PkiState::Revision))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(PkiState::Table)
                    .columns([PkiState::Id, PkiState::Revision])
                    .values_panic([1i64.into(), 0i64.into()])
                    .to_owned(),
            )
            .await?;

        manager
            .alter_table(
                Table::alter()
                    .table(Certificates::Table)
                    .add_column(big_integer_null(Certificates::IntermediateId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_certificates_intermediate_revoked_not_after")
                    .table(Certificates::Table)
                    .col(Certificates::IntermediateId)
                    .col(Alias::new("revoked_at"))
                    .col(Alias::new("not_after"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_certificates_intermediate_revoked_not_after")
                    .table(Certificates::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Certificates::Table)
                    .drop_column(Certificates::IntermediateId)
                    .to_owned(),
            )
            .await?;
        for table in ["pki_state", "intermediates"] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
