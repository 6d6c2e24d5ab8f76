//! External Account Binding keys (RFC 8555 §7.3.4): created, listed and revoked by the
//! operator (`basalt eab`), looked up once per bound newAccount, and counted on an account in
//! the account's insert transaction (`accounts.rs`).

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};
use time::OffsetDateTime;

use crate::Store;
use crate::entities::eab_keys;
use crate::error::Error;
use crate::records::{EabBinding, EabKeyRecord, EabKeySecret, NewEabKey};
use crate::time::{from_unix, from_unix_opt, to_unix, to_unix_opt};

const TABLE: &str = "eab_keys";

/// `Duplicate::what` when a key id is already taken.
pub const EAB_KID: &str = "EAB key id";

impl Store {
    /// Stores a new key. `Error::Duplicate` ([`EAB_KID`]) if the kid exists.
    pub async fn create_eab_key(&self, new: &NewEabKey) -> Result<EabKeyRecord, Error> {
        let model = eab_keys::ActiveModel {
            id: NotSet,
            kid: Set(new.kid.clone()),
            directory: Set(new.directory.clone()),
            hmac_key: Set(new.hmac_key.clone()),
            reusable: Set(new.reusable),
            note: Set(new.note.clone()),
            created_at: Set(to_unix(new.created_at)),
            expires_at: Set(to_unix_opt(new.expires_at)),
            revoked_at: Set(None),
            accounts_bound: Set(0),
            last_used_at: Set(None),
        };
        eab_keys::Entity::insert(model)
            .exec(&self.db)
            .await
            .map_err(|e| Error::from(e).duplicate_of(EAB_KID))?;
        let stored = find(&self.db, &new.kid).await?.ok_or(Error::NotFound)?;
        Ok(stored.key)
    }

    /// Every key (of `directory` if given), newest first, without MAC keys.
    pub async fn list_eab_keys(&self, directory: Option<&str>) -> Result<Vec<EabKeyRecord>, Error> {
        let mut query = eab_keys::Entity::find().order_by_desc(eab_keys::Column::Id);
        if let Some(directory) = directory {
            query = query.filter(eab_keys::Column::Directory.eq(directory));
        }
        query
            .all(&self.read)
            .await?
            .into_iter()
            .map(|m| secret(m).map(|s| s.key))
            .collect()
    }

    /// The key with this kid, with its MAC key: newAccount's one lookup (unique index). A
    /// revocation racing with it is caught by the compare-and-set in the account insert.
    pub async fn eab_key(&self, kid: &str) -> Result<Option<EabKeySecret>, Error> {
        find(&self.lookup, kid).await
    }

    /// Revokes a key: it binds no new account (accounts it created stay). `Error::NotFound`
    /// for an unknown kid, `Error::WrongState` if it was already revoked.
    pub async fn revoke_eab_key(
        &self,
        kid: &str,
        now: OffsetDateTime,
    ) -> Result<EabKeyRecord, Error> {
        let updated = eab_keys::Entity::update_many()
            .col_expr(eab_keys::Column::RevokedAt, Expr::value(to_unix(now)))
            .filter(eab_keys::Column::Kid.eq(kid))
            .filter(eab_keys::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await?
            .rows_affected;
        let stored = find(&self.db, kid).await?.ok_or(Error::NotFound)?;
        if updated == 0 {
            return Err(Error::WrongState {
                what: format!("EAB key {kid}"),
                current: "revoked".into(),
            });
        }
        Ok(stored.key)
    }
}

/// Counts one more account on the key, if it may still bind one: in `directory`, not
/// revoked, not expired at `now`, and reusable or unused (RFC 8555 §7.3.4). A compare-and-set,
/// so of two transactions racing for a single-use key only one binds it; `Error::WrongState`
/// for the other (the caller rolls back its account insert).
pub(crate) async fn bind(
    conn: &impl ConnectionTrait,
    binding: &EabBinding,
    directory: &str,
    now: OffsetDateTime,
) -> Result<(), Error> {
    let now = to_unix(now);
    let updated = eab_keys::Entity::update_many()
        .col_expr(
            eab_keys::Column::AccountsBound,
            Expr::col(eab_keys::Column::AccountsBound).add(1),
        )
        .col_expr(eab_keys::Column::LastUsedAt, Expr::value(now))
        .filter(eab_keys::Column::Kid.eq(binding.kid.as_str()))
        .filter(eab_keys::Column::Directory.eq(directory))
        .filter(eab_keys::Column::RevokedAt.is_null())
        .filter(
            Condition::any()
                .add(eab_keys::Column::ExpiresAt.is_null())
                .add(eab_keys::Column::ExpiresAt.gt(now)),
        )
        .filter(
            Condition::any()
                .add(eab_keys::Column::Reusable.eq(true))
                .add(eab_keys::Column::AccountsBound.eq(0)),
        )
        .exec(conn)
        .await?
        .rows_affected;
    if updated == 0 {
        return Err(Error::WrongState {
            what: format!("EAB key {}", binding.kid),
            current: "used, revoked, expired or of another area".into(),
        });
    }
    Ok(())
}

async fn find(conn: &impl ConnectionTrait, kid: &str) -> Result<Option<EabKeySecret>, Error> {
    eab_keys::Entity::find()
        .filter(eab_keys::Column::Kid.eq(kid))
        .one(conn)
        .await?
        .map(secret)
        .transpose()
}

fn secret(m: eab_keys::Model) -> Result<EabKeySecret, Error> {
    let id = m.id;
    Ok(EabKeySecret {
        key: EabKeyRecord {
            created_at: from_unix(m.created_at, TABLE, "created_at", id)?,
            expires_at: from_unix_opt(m.expires_at, TABLE, "expires_at", id)?,
            revoked_at: from_unix_opt(m.revoked_at, TABLE, "revoked_at", id)?,
            last_used_at: from_unix_opt(m.last_used_at, TABLE, "last_used_at", id)?,
            kid: m.kid,
            directory: m.directory,
            reusable: m.reusable,
            note: m.note,
            accounts_bound: m.accounts_bound,
        },
        hmac_key: m.hmac_key,
    })
}
