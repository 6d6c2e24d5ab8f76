//! `accounts`: one row per ACME account (RFC 8555 §7.1.2), unique per (directory, key thumbprint).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub directory: String,
    /// RFC 7638 thumbprint of `jwk`; the lookup key for JWS with an embedded `jwk`.
    pub key_thumbprint: String,
    #[sea_orm(column_type = "Text")]
    pub jwk: String,
    pub status: String,
    /// JSON array of contact URLs.
    #[sea_orm(column_type = "Text")]
    pub contact: String,
    pub terms_of_service_agreed: bool,
    pub created_at: i64,
    /// The EAB key the account was created with (RFC 8555 §7.3.4), if any.
    pub eab_kid: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
