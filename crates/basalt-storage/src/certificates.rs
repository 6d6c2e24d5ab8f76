//! Issued certificates (RFC 8555 §7.4.2 download, §7.6 revocation), and the authorization
//! check that lets an account revoke a certificate it did not order.

use std::collections::HashSet;

use basalt_protocol::{AuthorizationStatus, Identifier};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::NotSet, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QuerySelect, TransactionTrait,
};
use time::OffsetDateTime;

use crate::Store;
use crate::codec::{from_json, to_json};
use crate::entities::{authorizations, certificates, intermediates};
use crate::error::{Error, corrupt};
use crate::records::{CertificateRecord, NewCertificate, OrderRecord, RevokeOutcome};
use crate::time::{from_unix, from_unix_opt, to_unix};

const TABLE: &str = "certificates";

impl Store {
    /// The certificate with this serial (served by the unique index).
    pub async fn certificate_by_serial(
        &self,
        serial: &str,
    ) -> Result<Option<CertificateRecord>, Error> {
        certificates::Entity::find()
            .filter(certificates::Column::Serial.eq(serial))
            .one(&self.lookup)
            .await?
            .map(record)
            .transpose()
    }

    /// Revokes a certificate: compare-and-set on `revoked_at IS NULL`, so the first
    /// revocation (time and reason) stands and later ones get `AlreadyRevoked`
    /// (RFC 8555 §7.6 `alreadyRevoked`). `Error::NotFound` if there is no such serial.
    ///
    /// In the same transaction the signing intermediate's `revocations` counter grows by
    /// one, which is how the CRL job learns that its CRL is stale: a revocation is never
    /// committed without it.
    pub async fn revoke_certificate(
        &self,
        serial: &str,
        reason: u8,
        now: OffsetDateTime,
    ) -> Result<RevokeOutcome, Error> {
        let tx = self.db.begin().await?;
        // Certificate, then intermediate: the lock order of every transaction here.
        let moved = certificates::Entity::update_many()
            .col_expr(certificates::Column::RevokedAt, Expr::value(to_unix(now)))
            .col_expr(
                certificates::Column::RevocationReason,
                Expr::value(i16::from(reason)),
            )
            .filter(certificates::Column::Serial.eq(serial))
            .filter(certificates::Column::RevokedAt.is_null())
            .exec(&tx)
            .await?
            .rows_affected;
        let certificate = certificates::Entity::find()
            .filter(certificates::Column::Serial.eq(serial))
            .one(&tx)
            .await?
            .map(record)
            .transpose()?
            .ok_or(Error::NotFound)?;
        if moved != 1 {
            return Ok(RevokeOutcome::AlreadyRevoked(certificate));
        }
        if let Some(intermediate_id) = certificate.intermediate_id {
            intermediates::Entity::update_many()
                .col_expr(
                    intermediates::Column::Revocations,
                    Expr::col(intermediates::Column::Revocations).add(1),
                )
                .filter(intermediates::Column::Id.eq(intermediate_id))
                .exec(&tx)
                .await?;
        }
        tx.commit().await?;
        Ok(RevokeOutcome::Revoked(certificate))
    }

    /// True if, for every identifier, this account holds a valid, unexpired authorization
    /// (RFC 8555 §7.6: such an account may revoke the certificate). A wildcard name needs
    /// an authorization for its base name. An empty list is never authorized.
    pub async fn account_holds_valid_authorizations(
        &self,
        account_id: i64,
        identifiers: &[Identifier],
        now: OffsetDateTime,
    ) -> Result<bool, Error> {
        let needed: HashSet<Identifier> = identifiers
            .iter()
            .map(Identifier::authorization_identifier)
            .collect();
        if needed.is_empty() {
            return Ok(false);
        }
        let mut any_of = Condition::any();
        for identifier in &needed {
            any_of = any_of.add(
                Condition::all()
                    .add(
                        authorizations::Column::IdentifierType
                            .eq(identifier.identifier_type().as_str()),
                    )
                    .add(authorizations::Column::IdentifierValue.eq(identifier.value())),
            );
        }
        let held: HashSet<(String, String)> = authorizations::Entity::find()
            .select_only()
            .column(authorizations::Column::IdentifierType)
            .column(authorizations::Column::IdentifierValue)
            .filter(authorizations::Column::AccountId.eq(account_id))
            .filter(any_of)
            .filter(authorizations::Column::Status.eq(AuthorizationStatus::Valid.as_str()))
            .filter(authorizations::Column::ExpiresAt.gt(to_unix(now)))
            .into_tuple::<(String, String)>()
            .all(&self.db)
            .await?
            .into_iter()
            .collect();
        Ok(needed.iter().all(|identifier| {
            held.contains(&(
                identifier.identifier_type().as_str().to_owned(),
                identifier.value().to_owned(),
            ))
        }))
    }
}

/// Inserts the certificate issued for `order` and returns it as stored, built from the row
/// written rather than read back (one round trip less while finalization holds the write
/// lock). A duplicate serial is `Error::Duplicate` (the caller's transaction then rolls
/// back).
pub(crate) async fn insert(
    tx: &impl ConnectionTrait,
    order: &OrderRecord,
    new: &NewCertificate,
    now: i64,
) -> Result<CertificateRecord, Error> {
    let mut row = certificates::Model {
        id: 0,
        serial: new.serial.clone(),
        directory: order.directory.clone(),
        account_id: order.account_id,
        order_id: order.id,
        der: new.der.clone(),
        chain_pem: new.chain_pem.clone(),
        names: to_json(&new.names)?,
        not_before: to_unix(new.not_before),
        not_after: to_unix(new.not_after),
        revoked_at: None,
        revocation_reason: None,
        created_at: now,
        intermediate_id: new.intermediate_id,
        renewal_notice_id: None,
        replaced_by_order_id: None,
        profile: new.profile.clone(),
    };
    let mut insert: certificates::ActiveModel = row.clone().into();
    insert.id = NotSet;
    row.id = certificates::Entity::insert(insert)
        .exec(tx)
        .await
        .map_err(|e| Error::from(e).duplicate_of("certificate serial"))?
        .last_insert_id;
    record(row)
}

pub(crate) fn record(m: certificates::Model) -> Result<CertificateRecord, Error> {
    let revocation_reason = m
        .revocation_reason
        .map(|r| u8::try_from(r).map_err(|e| corrupt(TABLE, "revocation_reason", m.id, e)))
        .transpose()?;
    Ok(CertificateRecord {
        names: from_json(&m.names, TABLE, "names", m.id)?,
        not_before: from_unix(m.not_before, TABLE, "not_before", m.id)?,
        not_after: from_unix(m.not_after, TABLE, "not_after", m.id)?,
        revoked_at: from_unix_opt(m.revoked_at, TABLE, "revoked_at", m.id)?,
        created_at: from_unix(m.created_at, TABLE, "created_at", m.id)?,
        revocation_reason,
        id: m.id,
        serial: m.serial,
        directory: m.directory,
        account_id: m.account_id,
        order_id: m.order_id,
        der: m.der,
        chain_pem: m.chain_pem,
        intermediate_id: m.intermediate_id,
        profile: m.profile,
    })
}
