//! `eab_keys`: External Account Binding keys (RFC 8555 §7.3.4), unique by `kid`.

use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "eab_keys")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub kid: String,
    pub directory: String,
    /// base64url of the MAC key: kept because checking a binding needs it.
    #[sea_orm(column_type = "Text")]
    pub hmac_key: String,
    pub reusable: bool,
    #[sea_orm(column_type = "Text", nullable)]
    pub note: Option<String>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub accounts_bound: i64,
    pub last_used_at: Option<i64>,
}

// No derived Debug: a model printed in a log line would print the MAC key.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("eab_keys::Model")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
