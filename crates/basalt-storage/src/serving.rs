//! The serving certificate: the HTTPS certificate basalt issues to itself. It is stored
//! (with its key) so every replica serves the same one and only one replica renews it
//! (under a lease); replicas poll for the latest.

use sea_orm::{
    ActiveValue::{NotSet, Set},
    EntityTrait, QueryOrder,
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

    /// Stores a newly issued serving certificate.
    pub async fn insert_serving_certificate(
        &self,
        new: &NewServingCertificate,
    ) -> Result<ServingCertificateRecord, Error> {
        let id = serving_certificates::Entity::insert(serving_certificates::ActiveModel {
            id: NotSet,
            chain_pem: Set(new.chain_pem.clone()),
            key_pem: Set(new.key_pem.clone()),
            names: Set(to_json(&new.names)?),
            not_after: Set(to_unix(new.not_after)),
            created_at: Set(to_unix(new.now)),
        })
        .exec(&self.db)
        .await?
        .last_insert_id;
        serving_certificates::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .map(record)
            .transpose()?
            .ok_or(Error::NotFound)
    }
}

fn record(m: serving_certificates::Model) -> Result<ServingCertificateRecord, Error> {
    Ok(ServingCertificateRecord {
        names: from_json(&m.names, TABLE, "names", m.id)?,
        not_after: from_unix(m.not_after, TABLE, "not_after", m.id)?,
        created_at: from_unix(m.created_at, TABLE, "created_at", m.id)?,
        id: m.id,
        chain_pem: m.chain_pem,
        key_pem: m.key_pem,
    })
}
