//! `renewal_notices`: operator notices asking certificates to renew early (RFC 9773 §4.2).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "renewal_notices")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The operator's explanation, served as the explanationURL's text.
    #[sea_orm(column_type = "Text")]
    pub note: String,
    /// What the notice selected, for people (`area prod`, `serial 0a1b`).
    #[sea_orm(column_type = "Text")]
    pub scope: String,
    /// How many certificates it marked.
    pub certificates: i64,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
