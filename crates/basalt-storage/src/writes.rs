//! A transaction that only writes, on either kind of writer: sea-orm's (every engine) or
//! SQLite's inline writer (`inline_sqlite.rs`). The issuance transactions are written once
//! against [`WriteTx`], with sea-orm's statement builders, so the SQL is the same whichever
//! runs it.

use sea_orm::{
    ActiveModelTrait, DatabaseTransaction, DbErr, EntityTrait, Insert, PrimaryKeyTrait, UpdateMany,
};

/// The primary-key type of the tables these transactions insert into.
pub(crate) type RowId = i64;

#[async_trait::async_trait]
pub(crate) trait WriteTx: Sync {
    /// Runs an `UPDATE`; returns the number of rows it matched.
    async fn update<E>(&self, update: UpdateMany<E>) -> Result<u64, DbErr>
    where
        E: EntityTrait,
        UpdateMany<E>: Send;

    /// Runs an `INSERT` of one row; returns its id.
    async fn insert<A>(&self, insert: Insert<A>) -> Result<RowId, DbErr>
    where
        A: ActiveModelTrait + Send,
        Insert<A>: Send,
        <<A::Entity as EntityTrait>::PrimaryKey as PrimaryKeyTrait>::ValueType: Into<RowId>;
}

#[async_trait::async_trait]
impl WriteTx for DatabaseTransaction {
    async fn update<E>(&self, update: UpdateMany<E>) -> Result<u64, DbErr>
    where
        E: EntityTrait,
        UpdateMany<E>: Send,
    {
        Ok(update.exec(self).await?.rows_affected)
    }

    async fn insert<A>(&self, insert: Insert<A>) -> Result<RowId, DbErr>
    where
        A: ActiveModelTrait + Send,
        Insert<A>: Send,
        <<A::Entity as EntityTrait>::PrimaryKey as PrimaryKeyTrait>::ValueType: Into<RowId>,
    {
        Ok(insert.exec(self).await?.last_insert_id.into())
    }
}
