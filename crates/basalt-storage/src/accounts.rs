//! Accounts (RFC 8555 §7.3): creation, lookup by id or key, contact updates,
//! deactivation, and key rollover.

use basalt_protocol::{AccountStatus, AuthorizationStatus, OrderStatus, Problem};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, TransactionTrait,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::Store;
use crate::codec::{from_json, parse_enum, to_json};
use crate::entities::{accounts, authorizations, orders};
use crate::error::Error;
use crate::records::{AccountRecord, EabBinding, NewAccount};
use crate::time::{from_unix, to_unix};

const TABLE: &str = "accounts";

/// The uniqueness rule of account keys: one account per key in each directory.
pub const ACCOUNT_KEY: &str = "account key";

impl Store {
    /// Creates an account. `Error::Duplicate` if the key already has an account in this
    /// directory (the caller then answers with the existing account, RFC 8555 §7.3.1).
    pub async fn insert_account(&self, new: &NewAccount) -> Result<AccountRecord, Error> {
        insert(&self.db, new, None).await
    }

    /// Creates an account bound to an External Account Binding key (RFC 8555 §7.3.4), in one
    /// transaction: first the key's compare-and-set (`Error::WrongState` if it is used up,
    /// revoked, expired or of another directory), then the insert (`Error::Duplicate` as for
    /// [`Store::insert_account`]). Either error rolls both back, so a refused request stores
    /// nothing and a single-use key binds exactly one account, whichever replica asks.
    pub async fn insert_account_bound(
        &self,
        new: &NewAccount,
        binding: &EabBinding,
    ) -> Result<AccountRecord, Error> {
        let tx = self.db.begin().await?;
        // The write first: it takes SQLite's write lock up front (see lib.rs).
        crate::eab::bind(&tx, binding, &new.directory, new.now).await?;
        let account = insert(&tx, new, Some(&binding.kid)).await?;
        tx.commit().await?;
        Ok(account)
    }

    /// The account with this id.
    pub async fn account(&self, id: i64) -> Result<Option<AccountRecord>, Error> {
        load(&self.lookup, id).await
    }

    /// The account of a key in a directory (served by the unique index).
    pub async fn account_by_thumbprint(
        &self,
        directory: &str,
        thumbprint: &str,
    ) -> Result<Option<AccountRecord>, Error> {
        accounts::Entity::find()
            .filter(accounts::Column::Directory.eq(directory))
            .filter(accounts::Column::KeyThumbprint.eq(thumbprint))
            .one(&self.lookup)
            .await?
            .map(record)
            .transpose()
    }

    /// Replaces the contact list (RFC 8555 §7.3.2).
    pub async fn update_account_contact(
        &self,
        id: i64,
        contact: &[String],
    ) -> Result<AccountRecord, Error> {
        let tx = self.db.begin().await?;
        let updated = accounts::Entity::update_many()
            .col_expr(accounts::Column::Contact, Expr::value(to_json(contact)?))
            .filter(accounts::Column::Id.eq(id))
            .exec(&tx)
            .await?
            .rows_affected;
        if updated == 0 {
            return Err(Error::NotFound);
        }
        let account = load(&tx, id).await?.ok_or(Error::NotFound)?;
        tx.commit().await?;
        Ok(account)
    }

    /// Deactivates an account (RFC 8555 §7.3.6) and, in the same transaction, cancels its
    /// pending operations as the RFC recommends: pending authorizations become deactivated,
    /// pending and ready orders become invalid. `Error::WrongState` if the account is not
    /// valid.
    pub async fn deactivate_account(
        &self,
        id: i64,
        now: OffsetDateTime,
    ) -> Result<AccountRecord, Error> {
        let tx = self.db.begin().await?;
        let updated = accounts::Entity::update_many()
            .col_expr(
                accounts::Column::Status,
                Expr::value(AccountStatus::Deactivated.as_str()),
            )
            .filter(accounts::Column::Id.eq(id))
            .filter(accounts::Column::Status.eq(AccountStatus::Valid.as_str()))
            .exec(&tx)
            .await?
            .rows_affected;
        if updated == 0 {
            let current = load(&tx, id).await?.ok_or(Error::NotFound)?;
            return Err(Error::WrongState {
                what: format!("account {id}"),
                current: current.status.to_string(),
            });
        }
        // Authorizations before orders: the lock order every transaction follows.
        authorizations::Entity::update_many()
            .col_expr(
                authorizations::Column::Status,
                Expr::value(AuthorizationStatus::Deactivated.as_str()),
            )
            .filter(authorizations::Column::AccountId.eq(id))
            .filter(authorizations::Column::Status.eq(AuthorizationStatus::Pending.as_str()))
            .exec(&tx)
            .await?;
        let when = now
            .format(&Rfc3339)
            .unwrap_or_else(|_| to_unix(now).to_string());
        let problem = Problem::unauthorized(format!(
            "the account that created this order was deactivated at {when}"
        ));
        orders::Entity::update_many()
            .col_expr(
                orders::Column::Status,
                Expr::value(OrderStatus::Invalid.as_str()),
            )
            .col_expr(orders::Column::Error, Expr::value(to_json(&problem)?))
            .filter(orders::Column::AccountId.eq(id))
            .filter(
                orders::Column::Status
                    .is_in([OrderStatus::Pending.as_str(), OrderStatus::Ready.as_str()]),
            )
            .exec(&tx)
            .await?;
        let account = load(&tx, id).await?.ok_or(Error::NotFound)?;
        tx.commit().await?;
        Ok(account)
    }

    /// Key rollover (RFC 8555 §7.3.5): compare-and-set on the old thumbprint, so of two
    /// concurrent rollovers only one succeeds. `Error::NotFound` if the account no longer
    /// has `old_thumbprint`; `Error::Duplicate` if the new key already belongs to an account
    /// in the same directory (the unique index decides, race-free).
    pub async fn change_account_key(
        &self,
        id: i64,
        old_thumbprint: &str,
        new_thumbprint: &str,
        new_jwk: &str,
    ) -> Result<AccountRecord, Error> {
        let tx = self.db.begin().await?;
        let updated = accounts::Entity::update_many()
            .col_expr(accounts::Column::KeyThumbprint, Expr::value(new_thumbprint))
            .col_expr(accounts::Column::Jwk, Expr::value(new_jwk))
            .filter(accounts::Column::Id.eq(id))
            .filter(accounts::Column::KeyThumbprint.eq(old_thumbprint))
            .exec(&tx)
            .await
            .map_err(|e| Error::from(e).duplicate_of(ACCOUNT_KEY))?
            .rows_affected;
        if updated == 0 {
            return Err(Error::NotFound);
        }
        let account = load(&tx, id).await?.ok_or(Error::NotFound)?;
        tx.commit().await?;
        Ok(account)
    }
}

/// Inserts an account through `conn` (the pool, or the caller's transaction).
async fn insert(
    conn: &impl ConnectionTrait,
    new: &NewAccount,
    eab_kid: Option<&str>,
) -> Result<AccountRecord, Error> {
    let model = accounts::ActiveModel {
        id: NotSet,
        directory: Set(new.directory.clone()),
        key_thumbprint: Set(new.key_thumbprint.clone()),
        jwk: Set(new.jwk.clone()),
        status: Set(AccountStatus::Valid.as_str().to_owned()),
        contact: Set(to_json(&new.contact)?),
        terms_of_service_agreed: Set(new.terms_of_service_agreed),
        created_at: Set(to_unix(new.now)),
        eab_kid: Set(eab_kid.map(str::to_owned)),
    };
    let id = accounts::Entity::insert(model)
        .exec(conn)
        .await
        .map_err(|e| Error::from(e).duplicate_of(ACCOUNT_KEY))?
        .last_insert_id;
    load(conn, id).await?.ok_or(Error::NotFound)
}

/// Reads one account through `conn` (the pool, or the caller's transaction).
pub(crate) async fn load(
    conn: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<AccountRecord>, Error> {
    accounts::Entity::find_by_id(id)
        .one(conn)
        .await?
        .map(record)
        .transpose()
}

pub(crate) fn record(m: accounts::Model) -> Result<AccountRecord, Error> {
    Ok(AccountRecord {
        status: parse_enum(&m.status, AccountStatus::parse, TABLE, "status", m.id)?,
        contact: from_json(&m.contact, TABLE, "contact", m.id)?,
        created_at: from_unix(m.created_at, TABLE, "created_at", m.id)?,
        id: m.id,
        directory: m.directory,
        key_thumbprint: m.key_thumbprint,
        jwk: m.jwk,
        terms_of_service_agreed: m.terms_of_service_agreed,
        eab_kid: m.eab_kid,
    })
}
