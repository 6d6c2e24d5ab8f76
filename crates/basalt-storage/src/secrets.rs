//! Server secrets shared by all replicas (for example the nonce MAC key).
//!
//! Every replica proposes a freshly generated candidate; the first insert wins and every
//! replica then uses the stored value, so nonces issued by one replica verify on another.

use sea_orm::{ActiveValue::Set, EntityTrait};
use time::OffsetDateTime;

use crate::Store;
use crate::entities::server_secrets;
use crate::error::{Error, is_unique_violation};
use crate::time::to_unix;

impl Store {
    /// The secret called `name`: stores `candidate` if there is none yet, then returns
    /// whatever is stored (the candidate, or the value another replica stored first).
    pub async fn secret(
        &self,
        name: &str,
        candidate: &[u8],
        now: OffsetDateTime,
    ) -> Result<Vec<u8>, Error> {
        if let Some(existing) = server_secrets::Entity::find_by_id(name.to_owned())
            .one(&self.db)
            .await?
        {
            return Ok(existing.value);
        }
        let inserted = server_secrets::Entity::insert(server_secrets::ActiveModel {
            name: Set(name.to_owned()),
            value: Set(candidate.to_vec()),
            created_at: Set(to_unix(now)),
        })
        .exec_without_returning(&self.db)
        .await;
        match inserted {
            Ok(_) => {}
            // Another replica stored its candidate between our read and our insert.
            Err(e) if is_unique_violation(&e) => {}
            Err(e) => return Err(e.into()),
        }
        server_secrets::Entity::find_by_id(name.to_owned())
            .one(&self.db)
            .await?
            .map(|m| m.value)
            .ok_or_else(|| Error::Internal(format!("secret {name:?} vanished after insert")))
    }
}
