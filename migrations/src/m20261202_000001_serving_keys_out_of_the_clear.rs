//! The serving certificate's private key no longer sits in the database in the clear
//! (issue 12, defect 6): `key_pem` held it as plain PKCS#8 PEM, so every database reader and
//! every backup could impersonate basalt's HTTPS endpoint, and superseded keys were kept.
//!
//! This migration blanks every stored key and drops the column; the new nullable
//! `sealed_key` column holds the key as the signer seals it (under a key derived from the
//! intermediate, which is not in the database), and only for the certificate being served.
//! Existing rows get no sealed key, so the first start after the upgrade issues a new serving
//! certificate with a new key: the old key, which backups may still hold, is retired.
//!
//! On SQLite the blanking and the column drop run with `secure_delete` on, so the freed
//! space that held the keys is overwritten rather than left in free pages (PostgreSQL and
//! MySQL reclaim the old row versions with VACUUM and purge; see docs/secrets.md).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::text_null;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

const TABLE: &str = "serving_certificates";

// `async_trait` cannot take `SchemaManager<'_>` (the trait declares the lifetime elided).
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let sqlite = manager.get_database_backend() == sea_orm::DbBackend::Sqlite;
        if sqlite {
            db.execute_unprepared("PRAGMA secure_delete = ON").await?;
        }
        // Portable SQL on all three engines (SQLite has DROP COLUMN since 3.35).
        db.execute_unprepared(&format!("UPDATE {TABLE} SET key_pem = ''"))
            .await?;
        db.execute_unprepared(&format!("ALTER TABLE {TABLE} DROP COLUMN key_pem"))
            .await?;
        if sqlite {
            db.execute_unprepared("PRAGMA secure_delete = OFF").await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new(TABLE))
                    .add_column(text_null(Alias::new("sealed_key")))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The keys are gone for good; going down restores the column, empty (NULL), so a
        // server of the previous version fails to load a key rather than serving one.
        let db = manager.get_connection();
        db.execute_unprepared(&format!("ALTER TABLE {TABLE} DROP COLUMN sealed_key"))
            .await?;
        db.execute_unprepared(&format!("ALTER TABLE {TABLE} ADD COLUMN key_pem TEXT"))
            .await?;
        Ok(())
    }
}
