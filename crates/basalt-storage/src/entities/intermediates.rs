//! `intermediates`: every intermediate an area has signed with, its status and its CRL.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "intermediates")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub area: String,
    #[sea_orm(unique)]
    pub key_id: String,
    #[sea_orm(column_type = "Text")]
    pub subject: String,
    #[sea_orm(column_type = "Text")]
    pub certificate_pem: String,
    #[sea_orm(column_type = "Text")]
    pub key_ref: String,
    /// "active", "retiring" or "retired".
    pub status: String,
    pub not_before: i64,
    pub not_after: i64,
    pub created_at: i64,
    /// Revocations of certificates this intermediate issued, ever.
    pub revocations: i64,
    /// `revocations` as the stored CRL saw it.
    pub crl_revocations: i64,
    /// 0 until the first CRL is stored.
    pub crl_number: i64,
    #[sea_orm(column_type = "Blob")]
    pub crl_der: Option<Vec<u8>>,
    pub crl_this_update: Option<i64>,
    pub crl_next_update: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Every column but `crl_der`: what listings and reloads read, without the CRL's bytes.
#[derive(Clone, Debug, PartialEq, Eq, DerivePartialModel)]
#[sea_orm(entity = "Entity")]
pub struct Summary {
    pub id: i64,
    pub area: String,
    pub key_id: String,
    pub subject: String,
    pub certificate_pem: String,
    pub key_ref: String,
    pub status: String,
    pub not_before: i64,
    pub not_after: i64,
    pub created_at: i64,
    pub revocations: i64,
    pub crl_revocations: i64,
    pub crl_number: i64,
    pub crl_this_update: Option<i64>,
    pub crl_next_update: Option<i64>,
}
