//! `serving_certificates`: the HTTPS certificates basalt issues to itself, shared by replicas.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "serving_certificates")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(column_type = "Text")]
    pub chain_pem: String,
    /// The private key sealed by the signer; NULL once superseded (see `serving.rs`).
    #[sea_orm(column_type = "Text", nullable)]
    pub sealed_key: Option<String>,
    /// JSON array of DNS names / IP addresses.
    #[sea_orm(column_type = "Text")]
    pub names: String,
    pub not_after: i64,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
