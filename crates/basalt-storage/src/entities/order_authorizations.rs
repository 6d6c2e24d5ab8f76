//! `order_authorizations`: the many-to-many link between orders and authorizations
//! (authorizations are reused across orders).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "order_authorizations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub order_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub authorization_id: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::orders::Entity",
        from = "Column::OrderId",
        to = "super::orders::Column::Id"
    )]
    Order,
    #[sea_orm(
        belongs_to = "super::authorizations::Entity",
        from = "Column::AuthorizationId",
        to = "super::authorizations::Column::Id"
    )]
    Authorization,
}

impl ActiveModelBehavior for ActiveModel {}

impl Related<super::orders::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Order.def()
    }
}

impl Related<super::authorizations::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Authorization.def()
    }
}
