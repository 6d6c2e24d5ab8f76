//! The initial schema: accounts, orders, authorizations, challenges, certificates, and the
//! small shared tables (used nonces, server secrets, leases, serving certificates) that let
//! several stateless replicas share one database.
//!
//! Conventions (see the crate doc): ids are BIGINT auto-increment; times are BIGINT unix
//! seconds (UTC), so comparisons and indexes behave the same on every engine; JSON is TEXT;
//! indexed text columns are `VARCHAR(n)` with lengths MySQL can index (with utf8mb4, up to
//! 4 bytes a character, the widest index is 8 + 4·(16 + 255 + 16) = 1156 bytes, within
//! InnoDB's 3072). On MySQL, TEXT and BLOB hold up to 64 KiB; with strict mode (which
//! basalt-storage sets) a longer value is an error, never truncated.
//!
//! MySQL support was added after this migration was written but before any MySQL database
//! existed, so the MySQL-only table options in [`table_create`] change nothing for SQLite
//! and PostgreSQL databases that ran it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// Length of indexed status columns ("processing" is the longest status).
const STATUS_LEN: u32 = 16;
/// Directory names (the path segment that selects a CA profile).
const DIRECTORY_LEN: u32 = 64;
/// RFC 7638 SHA-256 thumbprints, base64url: 43 characters.
const THUMBPRINT_LEN: u32 = 64;
/// RFC 1035: a DNS name is at most 253 characters as text; IPv6 text is shorter.
const IDENTIFIER_LEN: u32 = 255;
/// Identifier and challenge type names ("dns", "tls-alpn-01").
const TYPE_LEN: u32 = 16;
/// Challenge tokens (RFC 8555 §8.1: at least 128 bits of entropy, base64url).
const TOKEN_LEN: u32 = 128;
/// Certificate serials as hex (RFC 5280: at most 20 octets = 40 hex digits).
const SERIAL_LEN: u32 = 64;
/// Used nonces (base64url of a MAC-authenticated blob).
const NONCE_LEN: u32 = 128;
/// Names of secrets and leases, and lease holders.
const NAME_LEN: u32 = 128;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
    Directory,
    KeyThumbprint,
    Jwk,
    Status,
    Contact,
    TermsOfServiceAgreed,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
    AccountId,
    Directory,
    Status,
    Identifiers,
    NotBefore,
    NotAfter,
    ExpiresAt,
    Error,
    CertificateSerial,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Authorizations {
    Table,
    Id,
    AccountId,
    IdentifierType,
    IdentifierValue,
    Wildcard,
    Status,
    ExpiresAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OrderAuthorizations {
    Table,
    OrderId,
    AuthorizationId,
}

#[derive(DeriveIden)]
enum Challenges {
    Table,
    Id,
    AuthorizationId,
    ChallengeType,
    Token,
    Status,
    ValidatedAt,
    Error,
    ValidationRecord,
    AccountUri,
    LeaseHolder,
    LeaseExpiresAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Certificates {
    Table,
    Id,
    Serial,
    Directory,
    AccountId,
    OrderId,
    Der,
    ChainPem,
    Names,
    NotBefore,
    NotAfter,
    RevokedAt,
    RevocationReason,
    CreatedAt,
}

#[derive(DeriveIden)]
enum UsedNonces {
    Table,
    Nonce,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum ServerSecrets {
    Table,
    Name,
    Value,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Leases {
    Table,
    Name,
    Holder,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum ServingCertificates {
    Table,
    Id,
    ChainPem,
    KeyPem,
    Names,
    NotAfter,
    CreatedAt,
}

/// `Table::create()`, with MySQL/MariaDB table options: InnoDB (transactions, row locks,
/// foreign keys), `utf8mb4`, and the binary collation `utf8mb4_bin`, so that comparisons
/// and unique indexes are byte-wise and case-sensitive as on SQLite and PostgreSQL (nonces,
/// tokens and thumbprints are base64url, where `a` and `A` differ). Without them the tables
/// would take the server's defaults, typically a case-insensitive collation (or latin1).
/// `utf8mb4_bin` is PAD SPACE (trailing spaces are ignored when comparing); none of the
/// indexed values can end in a space. Other engines get no options.
fn table_create(manager: &SchemaManager<'_>) -> TableCreateStatement {
    let mut table = Table::create();
    if manager.get_database_backend() == sea_orm::DbBackend::MySql {
        table
            .engine("InnoDB")
            .character_set("utf8mb4")
            .collate("utf8mb4_bin");
    }
    table
}

/// A named foreign key `from_table.from_col → to_table.id`. The default action (no
/// cascade) is deliberate: basalt never deletes parents that still have children.
fn fk(
    name: &str,
    from_table: impl IntoIden,
    from_col: impl IntoIden,
    to_table: impl IntoIden,
    to_col: impl IntoIden,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from_table, from_col)
        .to(to_table, to_col)
        .to_owned()
}

/// A named index; names are global per schema on PostgreSQL, hence the table prefix.
fn index(name: &str, table: impl IntoIden, cols: &[&str]) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for col in cols {
        index.col(Alias::new(*col));
    }
    index.to_owned()
}

// `async_trait` cannot take `SchemaManager<'_>` (the trait declares the lifetime elided).
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                table_create(manager)
                    .table(Accounts::Table)
                    .col(big_pk_auto(Accounts::Id))
                    .col(string_len(Accounts::Directory, DIRECTORY_LEN))
                    .col(string_len(Accounts::KeyThumbprint, THUMBPRINT_LEN))
                    .col(text(Accounts::Jwk))
                    .col(string_len(Accounts::Status, STATUS_LEN))
                    .col(text(Accounts::Contact))
                    .col(boolean(Accounts::TermsOfServiceAgreed))
                    .col(big_integer(Accounts::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "ux_accounts_directory_key_thumbprint",
                    Accounts::Table,
                    &["directory", "key_thumbprint"],
                )
                .unique()
                .to_owned(),
            )
            .await?;

        manager
            .create_table(
                table_create(manager)
                    .table(Orders::Table)
                    .col(big_pk_auto(Orders::Id))
                    .col(big_integer(Orders::AccountId))
                    .col(string_len(Orders::Directory, DIRECTORY_LEN))
                    .col(string_len(Orders::Status, STATUS_LEN))
                    .col(text(Orders::Identifiers))
                    .col(big_integer_null(Orders::NotBefore))
                    .col(big_integer_null(Orders::NotAfter))
                    .col(big_integer(Orders::ExpiresAt))
                    .col(text_null(Orders::Error))
                    .col(string_len_null(Orders::CertificateSerial, SERIAL_LEN))
                    .col(big_integer(Orders::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_orders_account_id",
                        Orders::Table,
                        Orders::AccountId,
                        Accounts::Table,
                        Accounts::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_orders_account_id_id",
                Orders::Table,
                &["account_id", "id"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_orders_expires_at",
                Orders::Table,
                &["expires_at"],
            ))
            .await?;

        manager
            .create_table(
                table_create(manager)
                    .table(Authorizations::Table)
                    .col(big_pk_auto(Authorizations::Id))
                    .col(big_integer(Authorizations::AccountId))
                    .col(string_len(Authorizations::IdentifierType, TYPE_LEN))
                    .col(string_len(Authorizations::IdentifierValue, IDENTIFIER_LEN))
                    .col(boolean(Authorizations::Wildcard))
                    .col(string_len(Authorizations::Status, STATUS_LEN))
                    .col(big_integer(Authorizations::ExpiresAt))
                    .col(big_integer(Authorizations::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_authorizations_account_id",
                        Authorizations::Table,
                        Authorizations::AccountId,
                        Accounts::Table,
                        Accounts::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_authorizations_account_identifier_status",
                Authorizations::Table,
                &[
                    "account_id",
                    "identifier_type",
                    "identifier_value",
                    "status",
                ],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_authorizations_expires_at",
                Authorizations::Table,
                &["expires_at"],
            ))
            .await?;

        manager
            .create_table(
                table_create(manager)
                    .table(OrderAuthorizations::Table)
                    .col(big_integer(OrderAuthorizations::OrderId))
                    .col(big_integer(OrderAuthorizations::AuthorizationId))
                    .primary_key(
                        Index::create()
                            .name("pk_order_authorizations")
                            .col(OrderAuthorizations::OrderId)
                            .col(OrderAuthorizations::AuthorizationId),
                    )
                    .foreign_key(&mut fk(
                        "fk_order_authorizations_order_id",
                        OrderAuthorizations::Table,
                        OrderAuthorizations::OrderId,
                        Orders::Table,
                        Orders::Id,
                    ))
                    .foreign_key(&mut fk(
                        "fk_order_authorizations_authorization_id",
                        OrderAuthorizations::Table,
                        OrderAuthorizations::AuthorizationId,
                        Authorizations::Table,
                        Authorizations::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_order_authorizations_authorization_id",
                OrderAuthorizations::Table,
                &["authorization_id"],
            ))
            .await?;

        manager
            .create_table(
                table_create(manager)
                    .table(Challenges::Table)
                    .col(big_pk_auto(Challenges::Id))
                    .col(big_integer(Challenges::AuthorizationId))
                    .col(string_len(Challenges::ChallengeType, TYPE_LEN))
                    .col(string_len_uniq(Challenges::Token, TOKEN_LEN))
                    .col(string_len(Challenges::Status, STATUS_LEN))
                    .col(big_integer_null(Challenges::ValidatedAt))
                    .col(text_null(Challenges::Error))
                    .col(text_null(Challenges::ValidationRecord))
                    .col(text_null(Challenges::AccountUri))
                    .col(string_len_null(Challenges::LeaseHolder, NAME_LEN))
                    .col(big_integer_null(Challenges::LeaseExpiresAt))
                    .col(big_integer(Challenges::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_challenges_authorization_id",
                        Challenges::Table,
                        Challenges::AuthorizationId,
                        Authorizations::Table,
                        Authorizations::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_challenges_authorization_id",
                Challenges::Table,
                &["authorization_id"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_challenges_status_lease_expires_at",
                Challenges::Table,
                &["status", "lease_expires_at"],
            ))
            .await?;

        manager
            .create_table(
                table_create(manager)
                    .table(Certificates::Table)
                    .col(big_pk_auto(Certificates::Id))
                    .col(string_len_uniq(Certificates::Serial, SERIAL_LEN))
                    .col(string_len(Certificates::Directory, DIRECTORY_LEN))
                    .col(big_integer(Certificates::AccountId))
                    .col(big_integer(Certificates::OrderId))
                    .col(blob(Certificates::Der))
                    .col(text(Certificates::ChainPem))
                    .col(text(Certificates::Names))
                    .col(big_integer(Certificates::NotBefore))
                    .col(big_integer(Certificates::NotAfter))
                    .col(big_integer_null(Certificates::RevokedAt))
                    .col(small_integer_null(Certificates::RevocationReason))
                    .col(big_integer(Certificates::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_certificates_account_id",
                        Certificates::Table,
                        Certificates::AccountId,
                        Accounts::Table,
                        Accounts::Id,
                    ))
                    .foreign_key(&mut fk(
                        "fk_certificates_order_id",
                        Certificates::Table,
                        Certificates::OrderId,
                        Orders::Table,
                        Orders::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_certificates_account_id",
                Certificates::Table,
                &["account_id"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_certificates_order_id",
                Certificates::Table,
                &["order_id"],
            ))
            .await?;

        manager
            .create_table(
                table_create(manager)
                    .table(UsedNonces::Table)
                    .col(string_len(UsedNonces::Nonce, NONCE_LEN).primary_key())
                    .col(big_integer(UsedNonces::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_used_nonces_expires_at",
                UsedNonces::Table,
                &["expires_at"],
            ))
            .await?;

        manager
            .create_table(
                table_create(manager)
                    .table(ServerSecrets::Table)
                    .col(string_len(ServerSecrets::Name, NAME_LEN).primary_key())
                    .col(blob(ServerSecrets::Value))
                    .col(big_integer(ServerSecrets::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                table_create(manager)
                    .table(Leases::Table)
                    .col(string_len(Leases::Name, NAME_LEN).primary_key())
                    .col(string_len(Leases::Holder, NAME_LEN))
                    .col(big_integer(Leases::ExpiresAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                table_create(manager)
                    .table(ServingCertificates::Table)
                    .col(big_pk_auto(ServingCertificates::Id))
                    .col(text(ServingCertificates::ChainPem))
                    .col(text(ServingCertificates::KeyPem))
                    .col(text(ServingCertificates::Names))
                    .col(big_integer(ServingCertificates::NotAfter))
                    .col(big_integer(ServingCertificates::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_serving_certificates_not_after",
                ServingCertificates::Table,
                &["not_after"],
            ))
            .await?;

        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Children before parents, so foreign keys never block a drop.
        for table in [
            "serving_certificates",
            "leases",
            "server_secrets",
            "used_nonces",
            "certificates",
            "challenges",
            "order_authorizations",
            "authorizations",
            "orders",
            "accounts",
        ] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
