//! Authorizations (RFC 8555 §7.1.4, §7.5) and their challenges: creation (as part of an
//! order), reuse, lookup and deactivation. Validation work on challenges is in
//! `validation.rs`.

use basalt_protocol::{
    AuthorizationStatus, ChallengeStatus, ChallengeType, Identifier, OrderStatus, Problem,
    RawIdentifier,
};
use sea_orm::sea_query::{Expr, ExprTrait, IntoCondition, Query};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};
use time::OffsetDateTime;

use crate::Store;
use crate::codec::{from_json_opt, parse_enum};
use crate::entities::{authorizations, challenges};
use crate::error::{Error, corrupt};
use crate::links;
use crate::records::{AuthorizationRecord, ChallengeRecord, NewAuthorization};
use crate::time::{from_unix, from_unix_opt, to_unix};

const TABLE: &str = "authorizations";
const CHALLENGES: &str = "challenges";

impl Store {
    /// The authorization with this id, with its challenges ordered by id.
    pub async fn authorization(&self, id: i64) -> Result<Option<AuthorizationRecord>, Error> {
        load(&self.lookup, id).await
    }

    /// An authorization of this account for `identifier` (the base name for wildcards,
    /// with the same `wildcard` flag) that a new order can reuse: the newest valid one
    /// still valid at `valid_until_at_least`, else the newest pending unexpired one.
    /// Served by the (account, identifier, status) index.
    pub async fn reusable_authorization(
        &self,
        account_id: i64,
        identifier: &Identifier,
        wildcard: bool,
        now: OffsetDateTime,
        valid_until_at_least: OffsetDateTime,
    ) -> Result<Option<AuthorizationRecord>, Error> {
        // One statement for both kinds: valid ones sort first, then the newest.
        let reusable = Condition::any()
            .add(
                authorizations::Column::Status
                    .eq(AuthorizationStatus::Valid.as_str())
                    .and(authorizations::Column::ExpiresAt.gt(to_unix(valid_until_at_least))),
            )
            .add(
                authorizations::Column::Status
                    .eq(AuthorizationStatus::Pending.as_str())
                    .and(authorizations::Column::ExpiresAt.gt(to_unix(now))),
            );
        let valid_first: Expr = Expr::case(
            authorizations::Column::Status.eq(AuthorizationStatus::Valid.as_str()),
            0,
        )
        .finally(1)
        .into();
        let found = authorizations::Entity::find()
            .select_only()
            .column(authorizations::Column::Id)
            .filter(authorizations::Column::AccountId.eq(account_id))
            .filter(
                authorizations::Column::IdentifierType.eq(identifier.identifier_type().as_str()),
            )
            .filter(authorizations::Column::IdentifierValue.eq(identifier.value()))
            .filter(authorizations::Column::Wildcard.eq(wildcard))
            .filter(reusable)
            .order_by_asc(valid_first)
            .order_by_desc(authorizations::Column::Id)
            .limit(1)
            .into_tuple::<i64>()
            .one(&self.lookup)
            .await?;
        match found {
            Some(id) => load(&self.lookup, id).await,
            None => Ok(None),
        }
    }

    /// Deactivates an authorization (RFC 8555 §7.5.2): pending or valid → deactivated, and
    /// in the same transaction its linked pending or ready orders become invalid (they can
    /// no longer be finalized with it). `Error::WrongState` if the authorization is in
    /// another state.
    pub async fn deactivate_authorization(&self, id: i64) -> Result<AuthorizationRecord, Error> {
        let tx = self.db.begin().await?;
        let moved = authorizations::Entity::update_many()
            .col_expr(
                authorizations::Column::Status,
                Expr::value(AuthorizationStatus::Deactivated.as_str()),
            )
            .filter(authorizations::Column::Id.eq(id))
            .filter(authorizations::Column::Status.is_in([
                AuthorizationStatus::Pending.as_str(),
                AuthorizationStatus::Valid.as_str(),
            ]))
            .exec(&tx)
            .await?
            .rows_affected;
        if moved == 0 {
            let current = load(&tx, id).await?.ok_or(Error::NotFound)?;
            return Err(Error::WrongState {
                what: format!("authorization {id}"),
                current: current.status.to_string(),
            });
        }
        let active = [OrderStatus::Pending, OrderStatus::Ready];
        let problem =
            Problem::unauthorized(format!("authorization {id} of this order was deactivated"));
        links::invalidate_linked(&tx, Expr::val(id), &active, &problem).await?;
        let authorization = load(&tx, id).await?.ok_or(Error::NotFound)?;
        tx.commit().await?;
        Ok(authorization)
    }

    /// A challenge with its authorization (which lists all its challenges).
    pub async fn challenge(
        &self,
        id: i64,
    ) -> Result<Option<(ChallengeRecord, AuthorizationRecord)>, Error> {
        load_by_challenge(&self.lookup, id).await
    }
}

/// Inserts a pending authorization and its pending challenges; returns its id.
pub(crate) async fn insert(
    conn: &impl ConnectionTrait,
    account_id: i64,
    new: &NewAuthorization,
    now: i64,
) -> Result<i64, Error> {
    let id = authorizations::Entity::insert(authorizations::ActiveModel {
        id: NotSet,
        account_id: Set(account_id),
        identifier_type: Set(new.identifier.identifier_type().as_str().to_owned()),
        identifier_value: Set(new.identifier.value().to_owned()),
        wildcard: Set(new.wildcard),
        status: Set(AuthorizationStatus::Pending.as_str().to_owned()),
        expires_at: Set(to_unix(new.expires_at)),
        created_at: Set(now),
    })
    .exec(conn)
    .await?
    .last_insert_id;
    if !new.challenges.is_empty() {
        challenges::Entity::insert_many(new.challenges.iter().map(|c| challenges::ActiveModel {
            id: NotSet,
            authorization_id: Set(id),
            challenge_type: Set(c.challenge_type.as_str().to_owned()),
            token: Set(c.token.clone()),
            status: Set(ChallengeStatus::Pending.as_str().to_owned()),
            validated_at: Set(None),
            error: Set(None),
            validation_record: Set(None),
            account_uri: Set(None),
            lease_holder: Set(None),
            lease_expires_at: Set(None),
            created_at: Set(now),
        }))
        .exec_without_returning(conn)
        .await?;
    }
    Ok(id)
}

/// Reads one authorization and its challenges through `conn`, in one statement.
pub(crate) async fn load(
    conn: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<AuthorizationRecord>, Error> {
    Ok(load_where(conn, authorizations::Column::Id.eq(id))
        .await?
        .pop())
}

/// The authorizations matching `condition`, by id, each with its challenges by id: one
/// statement (a left join), because every statement is a round trip to the database (on
/// SQLite a hand-off to sqlx's connection thread and back), which costs far more than the
/// rows.
async fn load_where(
    conn: &impl ConnectionTrait,
    condition: impl IntoCondition,
) -> Result<Vec<AuthorizationRecord>, Error> {
    authorizations::Entity::find()
        .filter(condition)
        .find_with_related(challenges::Entity)
        .order_by_asc(challenges::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(|(m, challenges)| record(m, challenges))
        .collect()
}

pub(crate) fn record(
    m: authorizations::Model,
    challenges: Vec<challenges::Model>,
) -> Result<AuthorizationRecord, Error> {
    let challenges = challenges
        .into_iter()
        .map(challenge_record)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(AuthorizationRecord {
        // Through `Identifier::parse`, the one way to make an identifier: a stored value that
        // no longer passes it is reported as corrupt, never used.
        identifier: Identifier::parse(&RawIdentifier {
            identifier_type: m.identifier_type,
            value: m.identifier_value,
        })
        .map_err(|refused| corrupt(TABLE, "identifier_value", m.id, refused.detail))?,
        status: parse_enum(&m.status, AuthorizationStatus::parse, TABLE, "status", m.id)?,
        expires_at: from_unix(m.expires_at, TABLE, "expires_at", m.id)?,
        created_at: from_unix(m.created_at, TABLE, "created_at", m.id)?,
        id: m.id,
        account_id: m.account_id,
        wildcard: m.wildcard,
        challenges,
    })
}

/// The authorization holding challenge `challenge_id`, with all its challenges, in one
/// statement; `None` if there is no such challenge.
pub(crate) async fn load_by_challenge(
    conn: &impl ConnectionTrait,
    challenge_id: i64,
) -> Result<Option<(ChallengeRecord, AuthorizationRecord)>, Error> {
    let owner = Query::select()
        .column(challenges::Column::AuthorizationId)
        .from(challenges::Entity)
        .and_where(challenges::Column::Id.eq(challenge_id))
        .to_owned();
    let Some(authorization) = load_where(conn, authorizations::Column::Id.in_subquery(owner))
        .await?
        .pop()
    else {
        return Ok(None);
    };
    let challenge = authorization
        .challenges
        .iter()
        .find(|c| c.id == challenge_id)
        .cloned()
        .ok_or_else(|| {
            Error::Internal(format!(
                "challenge {challenge_id} vanished from its authorization's join"
            ))
        })?;
    Ok(Some((challenge, authorization)))
}

fn challenge_record(m: challenges::Model) -> Result<ChallengeRecord, Error> {
    Ok(ChallengeRecord {
        challenge_type: parse_enum(
            &m.challenge_type,
            ChallengeType::parse,
            CHALLENGES,
            "challenge_type",
            m.id,
        )?,
        status: parse_enum(
            &m.status,
            ChallengeStatus::parse,
            CHALLENGES,
            "status",
            m.id,
        )?,
        validated_at: from_unix_opt(m.validated_at, CHALLENGES, "validated_at", m.id)?,
        error: from_json_opt(m.error.as_deref(), CHALLENGES, "error", m.id)?,
        created_at: from_unix(m.created_at, CHALLENGES, "created_at", m.id)?,
        id: m.id,
        authorization_id: m.authorization_id,
        token: m.token,
        validation_record: m.validation_record,
        account_uri: m.account_uri,
    })
}
