//! External Account Binding keys (RFC 8555 §7.3.4, issue 16).
//!
//! * `eab_keys`: one row per key an operator created with `basalt eab create`. `kid` is what
//!   clients send (unique, the one indexed lookup of newAccount); `hmac_key` is the MAC key
//!   as base64url: the server must keep it to check bindings (as Boulder's and Pebble's
//!   EAB do), so it is stored, never logged and never listed. `accounts_bound` counts the
//!   accounts the key created: a single-use key binds while it is 0, by compare-and-set in
//!   the account's insert transaction. `expires_at`/`revoked_at` are NULL until set.
//! * `accounts.eab_kid`: the key an account was created with (NULL: none). No foreign key,
//!   like the rest of the schema.

use sea_orm_migration::{prelude::*, schema::*};

use crate::mysql_tables::table_create;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// Key ids: basalt makes 22 characters (16 random bytes, base64url); room for imported ones.
const KID_LEN: u32 = 128;
/// Directory names, as in the initial migration.
const DIRECTORY_LEN: u32 = 64;

#[derive(DeriveIden)]
enum EabKeys {
    Table,
    Id,
    Kid,
    Directory,
    HmacKey,
    Reusable,
    Note,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
    AccountsBound,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    EabKid,
}

// `async_trait` cannot take `SchemaManager<'_>` (the trait declares the lifetime elided).
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                table_create(manager)
                    .table(EabKeys::Table)
                    .col(big_pk_auto(EabKeys::Id))
                    .col(string_len_uniq(EabKeys::Kid, KID_LEN))
                    .col(string_len(EabKeys::Directory, DIRECTORY_LEN))
                    .col(text(EabKeys::HmacKey))
                    .col(boolean(EabKeys::Reusable))
                    .col(text_null(EabKeys::Note))
                    .col(big_integer(EabKeys::CreatedAt))
                    .col(big_integer_null(EabKeys::ExpiresAt))
                    .col(big_integer_null(EabKeys::RevokedAt))
                    .col(big_integer(EabKeys::AccountsBound).default(0))
                    .col(big_integer_null(EabKeys::LastUsedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .add_column(string_len_null(Accounts::EabKid, KID_LEN))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .drop_column(Accounts::EabKid)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(EabKeys::Table).to_owned())
            .await
    }
}
