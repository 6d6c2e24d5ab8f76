//! `challenges`: challenges (RFC 8555 §7.1.5, §8), plus the validation lease that lets any
//! replica pick up an orphaned validation.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "challenges")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub authorization_id: i64,
    pub challenge_type: String,
    #[sea_orm(unique)]
    pub token: String,
    pub status: String,
    pub validated_at: Option<i64>,
    /// Problem document (JSON) once the challenge is invalid.
    #[sea_orm(column_type = "Text", nullable)]
    pub error: Option<String>,
    /// Opaque JSON the validator records (addresses used, URLs fetched).
    #[sea_orm(column_type = "Text", nullable)]
    pub validation_record: Option<String>,
    /// The account URL as the client saw it when it asked for validation (RFC 8657
    /// `accounturi` is matched against it, on whichever replica validates).
    #[sea_orm(column_type = "Text", nullable)]
    pub account_uri: Option<String>,
    /// The replica validating this challenge, until `lease_expires_at`.
    pub lease_holder: Option<String>,
    pub lease_expires_at: Option<i64>,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::authorizations::Entity",
        from = "Column::AuthorizationId",
        to = "super::authorizations::Column::Id"
    )]
    Authorization,
}

impl ActiveModelBehavior for ActiveModel {}

impl Related<super::authorizations::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Authorization.def()
    }
}
