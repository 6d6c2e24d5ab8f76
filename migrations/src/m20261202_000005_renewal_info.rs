//! ACME Renewal Information (RFC 9773, issue 16): operator notices that move renewal
//! windows into the past, and the replacement orders of newOrder's `replaces`.
//!
//! * `renewal_notices`: one row per `basalt certs renew-early`: the operator's `note`
//!   (served as the explanationURL's text), what it selected (`scope`, for people) and how
//!   many certificates it marked.
//! * `certificates.renewal_notice_id`: the latest notice that asked this certificate to be
//!   renewed early (NULL: none). The renewalInfo GET reads it with the certificate, by
//!   serial, so every replica answers from the same row.
//! * `certificates.replaced_by_order_id`: the order that claimed to replace this certificate
//!   (RFC 9773 §5). newOrder sets it by compare-and-set on its previous value inside
//!   `create_order`'s transaction, so of two concurrent replacements exactly one wins on
//!   every engine; a claim whose order became invalid or expired unfinished may be taken
//!   over. No foreign key (SQLite cannot add one to an existing table) and no index: it is
//!   only read and written with its certificate row.
//! * `orders.replaces`: the CertID the order named, echoed on every fetch of the order.
//!   Not indexed: nothing looks orders up by it (the race is settled on the certificate).

use sea_orm_migration::{prelude::*, schema::*};

use crate::mysql_tables::table_create;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// A CertID: two base64url parts of at most 86 characters and a dot (basalt-protocol's
/// `MAX_CERT_ID_LEN`), with room to spare.
const CERT_ID_LEN: u32 = 255;

#[derive(DeriveIden)]
enum RenewalNotices {
    Table,
    Id,
    Note,
    Scope,
    Certificates,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Certificates {
    Table,
    RenewalNoticeId,
    ReplacedByOrderId,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    Replaces,
}

// `async_trait` cannot take `SchemaManager<'_>` (the trait declares the lifetime elided).
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                table_create(manager)
                    .table(RenewalNotices::Table)
                    .col(big_pk_auto(RenewalNotices::Id))
                    .col(text(RenewalNotices::Note))
                    .col(text(RenewalNotices::Scope))
                    .col(big_integer(RenewalNotices::Certificates))
                    .col(big_integer(RenewalNotices::CreatedAt))
                    .to_owned(),
            )
            .await?;
        // SQLite adds one column per ALTER TABLE.
        for column in [
            Certificates::RenewalNoticeId,
            Certificates::ReplacedByOrderId,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Certificates::Table)
                        .add_column(big_integer_null(column))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Orders::Table)
                    .add_column(string_len_null(Orders::Replaces, CERT_ID_LEN))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Orders::Table)
                    .drop_column(Orders::Replaces)
                    .to_owned(),
            )
            .await?;
        for column in [
            Certificates::ReplacedByOrderId,
            Certificates::RenewalNoticeId,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Certificates::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table(RenewalNotices::Table).to_owned())
            .await
    }
}
