//! `certificates`: issued certificates, keyed by serial for download and revocation.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "certificates")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub serial: String,
    pub directory: String,
    pub account_id: i64,
    pub order_id: i64,
    #[sea_orm(column_type = "Blob")]
    pub der: Vec<u8>,
    #[sea_orm(column_type = "Text")]
    pub chain_pem: String,
    /// JSON array of the identifiers in the certificate.
    #[sea_orm(column_type = "Text")]
    pub names: String,
    pub not_before: i64,
    pub not_after: i64,
    pub revoked_at: Option<i64>,
    /// RFC 5280 §5.3.1 CRLReason code.
    pub revocation_reason: Option<i16>,
    pub created_at: i64,
    /// The intermediate that signed it (`intermediates.id`); NULL for certificates issued
    /// before their area's intermediate was adopted.
    pub intermediate_id: Option<i64>,
    /// The latest `renewal_notices.id` that asked for early renewal (RFC 9773 §4.2).
    pub renewal_notice_id: Option<i64>,
    /// The order that claimed to replace this certificate (RFC 9773 §5), set by
    /// compare-and-set.
    pub replaced_by_order_id: Option<i64>,
    /// The profile it was issued under (its order's); NULL for certificates from before
    /// profiles.
    pub profile: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
