//! `authorizations`: authorizations (RFC 8555 §7.1.4); wildcards are stored under their base
//! name with `wildcard` set.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "authorizations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    pub identifier_type: String,
    pub identifier_value: String,
    pub wildcard: bool,
    pub status: String,
    pub expires_at: i64,
    pub created_at: i64,
}

/// Declared so an authorization and its challenges load in one statement (a left join).
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::challenges::Entity")]
    Challenges,
}

impl Related<super::challenges::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Challenges.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
