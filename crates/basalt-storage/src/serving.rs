//! The serving certificate: the HTTPS certificate basalt issues to itself. It is stored
//! (with its key, sealed by the signer under a key that is not in the database) so every
//! replica serves the same one and only one replica renews it (under a lease); replicas poll
//! for the latest. A superseded certificate's sealed key is purged when its successor is
//! stored, so the table keeps no key that is no longer served.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};

use crate::Store;
use crate::codec::{from_json, to_json};
use crate::entities::serving_certificates;
use crate::error::Error;
use crate::records::{NewServingCertificate, ServingCertificateRecord};
use crate::time::{from_unix, to_unix};

const TABLE: &str = "serving_certificates";

impl Store {
    /// The serving certificate that expires last (served by the `not_after` index).
    pub async fn latest_serving_certificate(
        &self,
    ) -> Result<Option<ServingCertificateRecord>, Error> {
        serving_certificates::Entity::find()
            .order_by_desc(serving_certificates::Column::NotAfter)
            .order_by_desc(serving_certificates::Column::Id)
            .one(&self.db)
            .await?
            .map(record)
            .transpose()
    }

    /// Stores a newly issued serving certificate and, in the same transaction, purges the
    /// sealed keys of the certificates it supersedes (those expiring no later than it) and of
    /// expired ones. A certificate expiring later than the new one is still the latest and
    /// keeps its key.
    pub async fn insert_serving_certificate(
        &self,
        new: &NewServingCertificate,
    ) -> Result<ServingCertificateRecord, Error> {
        let names = to_json(&new.names)?;
        let not_after = to_unix(new.not_after);
        let created_at = to_unix(new.now);
        let tx = self.db.begin().await?;
        let id = serving_certificates::Entity::insert(serving_certificates::ActiveModel {
            id: NotSet,
            chain_pem: Set(new.chain_pem.clone()),
            sealed_key: Set(Some(new.sealed_key.clone())),
            names: Set(names),
            not_after: Set(not_after),
            created_at: Set(created_at),
        })
        .exec(&tx)
        .await?
        .last_insert_id;
        serving_certificates::Entity::update_many()
            .col_expr(
                serving_certificates::Column::SealedKey,
                Expr::value(Option::<String>::None),
            )
            .filter(serving_certificates::Column::Id.ne(id))
            .filter(serving_certificates::Column::SealedKey.is_not_null())
            .filter(
                Condition::any()
                    .add(serving_certificates::Column::NotAfter.lte(not_after))
                    .add(serving_certificates::Column::NotAfter.lt(created_at)),
            )
            .exec(&tx)
            .await?;
        tx.commit().await?;
        Ok(ServingCertificateRecord {
            id,
            chain_pem: new.chain_pem.clone(),
            sealed_key: Some(new.sealed_key.clone()),
            names: new.names.clone(),
            not_after: from_unix(not_after, TABLE, "not_after", id)?,
            created_at: from_unix(created_at, TABLE, "created_at", id)?,
        })
    }
}

fn record(m: serving_certificates::Model) -> Result<ServingCertificateRecord, Error> {
    Ok(ServingCertificateRecord {
        names: from_json(&m.names, TABLE, "names", m.id)?,
        not_after: from_unix(m.not_after, TABLE, "not_after", m.id)?,
        created_at: from_unix(m.created_at, TABLE, "created_at", m.id)?,
        id: m.id,
        chain_pem: m.chain_pem,
        sealed_key: m.sealed_key,
    })
}
