//! `issuances`: every serial reserved for signing, before it is signed (docs/issuance.md).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "issuances")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub serial: String,
    pub order_id: i64,
    pub account_id: i64,
    pub directory: String,
    pub intermediate_id: i64,
    /// JSON array of the identifiers the certificate is for.
    #[sea_orm(column_type = "Text")]
    pub names: String,
    /// The CSR's SubjectPublicKeyInfo, DER: the key the serial certifies.
    #[sea_orm(column_type = "Blob")]
    pub spki: Vec<u8>,
    pub not_before: i64,
    pub not_after: i64,
    /// "pending", "issued", "failed" or "abandoned".
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
