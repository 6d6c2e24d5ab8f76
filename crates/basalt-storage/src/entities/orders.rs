//! `orders`: ACME orders (RFC 8555 §7.1.3).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    pub directory: String,
    pub status: String,
    /// JSON array of `{type, value}` identifiers, as requested.
    #[sea_orm(column_type = "Text")]
    pub identifiers: String,
    pub not_before: Option<i64>,
    pub not_after: Option<i64>,
    pub expires_at: i64,
    /// Problem document (JSON) once the order is invalid.
    #[sea_orm(column_type = "Text", nullable)]
    pub error: Option<String>,
    pub certificate_serial: Option<String>,
    pub created_at: i64,
    /// RFC 9773 §5: the CertID named by newOrder's `replaces`.
    pub replaces: Option<String>,
    /// The certificate profile (draft-ietf-acme-profiles); NULL for orders from before
    /// profiles, which read as the area's default.
    pub profile: Option<String>,
}

/// Declared so an order and its authorization links load in one statement (a left join).
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::order_authorizations::Entity")]
    Authorizations,
}

impl Related<super::order_authorizations::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Authorizations.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
