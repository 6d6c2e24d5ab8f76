//! The inline connections decode every row exactly as sqlx does (each column type, set and
//! NULL, through models and joins), bind values as SQLite stores them, classify their
//! errors as sqlx's are; the lookup connection sees what was committed, counts its
//! statements and refuses to write.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rusqlite::types::ValueRef;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Statement, Value,
};

use super::{Declared, InlineSqliteError, bind};
use crate::Store;
use crate::config::StorageConfig;
use crate::entities::{
    accounts, authorizations, certificates, challenges, eab_keys, order_authorizations, orders,
};
use crate::error::{Error, UNEXPECTED_DUPLICATE};

fn statement(values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Sqlite, "SELECT 1", values)
}

#[test]
fn values_bind_as_sqlite_stores_them() {
    use rusqlite::types::Value as Sql;
    let bound = bind(&statement(vec![
        true.into(),
        7i32.into(),
        Some(-3i64).into(),
        Option::<i64>::None.into(),
        "text".into(),
        vec![1u8, 2].into(),
        1.5f64.into(),
    ]))
    .unwrap();
    assert_eq!(
        bound,
        vec![
            Sql::Integer(1),
            Sql::Integer(7),
            Sql::Integer(-3),
            Sql::Null,
            Sql::Text("text".into()),
            Sql::Blob(vec![1, 2]),
            Sql::Real(1.5),
        ]
    );
    let too_big = bind(&statement(vec![u64::MAX.into()])).unwrap_err();
    assert!(too_big.to_string().contains("does not fit"), "{too_big}");
}

fn driver_error(code: i32) -> sea_orm::DbErr {
    let error = InlineSqliteError {
        code: Some(code),
        message: format!("code {code}"),
    };
    sea_orm::DbErr::Exec(sea_orm::RuntimeErr::SqlxError(Arc::new(
        sea_orm::sqlx::Error::Database(Box::new(error)),
    )))
}

#[test]
fn errors_are_classified_like_sqlx_sqlite_errors() {
    assert!(matches!(
        Error::from(driver_error(2067)),
        Error::Duplicate {
            what: UNEXPECTED_DUPLICATE,
            ..
        }
    ));
    assert!(matches!(
        Error::from(driver_error(1555)),
        Error::Duplicate { .. }
    ));
    for busy in [5, 261, 517, 6, 14] {
        assert!(
            matches!(Error::from(driver_error(busy)), Error::Unavailable(_)),
            "code {busy}"
        );
    }
    assert!(matches!(Error::from(driver_error(1)), Error::Internal(_)));
}

#[test]
fn declared_types_name_the_values_the_entities_decode() {
    assert_eq!(Declared::of(Some("bigint")), Declared::BigInt);
    assert_eq!(Declared::of(Some("INTEGER")), Declared::BigInt);
    assert_eq!(Declared::of(Some("smallint")), Declared::SmallInt);
    assert_eq!(Declared::of(Some("boolean")), Declared::Bool);
    assert_eq!(Declared::of(Some("varchar(255)")), Declared::Text);
    assert_eq!(Declared::of(Some("text")), Declared::Text);
    assert_eq!(Declared::of(Some("blob")), Declared::Bytes);
    assert_eq!(Declared::of(Some("binary(32)")), Declared::Bytes);
    assert_eq!(Declared::of(Some("double")), Declared::Double);
    assert_eq!(Declared::of(None), Declared::Untyped);

    assert_eq!(
        Declared::Bool.value(ValueRef::Integer(1)).unwrap(),
        Value::Bool(Some(true))
    );
    assert_eq!(
        Declared::SmallInt.value(ValueRef::Null).unwrap(),
        Value::SmallInt(None)
    );
    assert_eq!(
        Declared::Untyped.value(ValueRef::Integer(7)).unwrap(),
        Value::BigInt(Some(7))
    );
    assert_eq!(
        Declared::Untyped.value(ValueRef::Text(b"x")).unwrap(),
        Value::String(Some("x".into()))
    );
    // A value that does not fit its column is an error, never a wrapped number or a panic.
    let too_big = Declared::SmallInt
        .value(ValueRef::Integer(70_000))
        .unwrap_err();
    assert!(too_big.to_string().contains("smallint"), "{too_big}");
    assert!(Declared::BigInt.value(ValueRef::Text(b"7")).is_err());
}

/// A store on a SQLite file (the inline reader is for files only), with its statements
/// counted.
async fn counted_store() -> (tempfile::TempDir, Store, Arc<AtomicU64>) {
    let dir = tempfile::tempdir().unwrap();
    let statements = Arc::new(AtomicU64::new(0));
    let counter = statements.clone();
    let store = Store::connect_observed(
        &StorageConfig {
            url: format!("sqlite://{}?mode=rwc", dir.path().join("ca.db").display()),
            max_connections: 4,
            acquire_timeout: Duration::from_secs(5),
        },
        Some(Arc::new(move |_, _| {
            counter.fetch_add(1, Ordering::Relaxed);
        })),
    )
    .await
    .unwrap();
    (dir, store, statements)
}

/// Two of everything the hot lookups read: one with every optional column set, one with
/// every optional column NULL.
async fn populate(db: &DatabaseConnection) {
    for (id, full) in [(1, true), (2, false)] {
        let some = |v: &str| full.then(|| v.to_owned());
        let some_i64 = |v: i64| full.then_some(v);
        accounts::Model {
            id,
            directory: "default".into(),
            key_thumbprint: format!("thumb-{id}"),
            jwk: "{\"kty\":\"EC\"}".into(),
            status: "valid".into(),
            contact: "[\"mailto:a@b.test\"]".into(),
            terms_of_service_agreed: full,
            created_at: 1_700_000_000,
            eab_kid: some("kid"),
        }
        .into_active_model()
        .insert(db)
        .await
        .unwrap();
        orders::Model {
            id,
            account_id: id,
            directory: "default".into(),
            status: "valid".into(),
            identifiers: "[{\"type\":\"dns\",\"value\":\"a.test\"}]".into(),
            not_before: some_i64(1),
            not_after: some_i64(2),
            expires_at: 1_800_000_000,
            error: some("{\"type\":\"x\"}"),
            certificate_serial: some(&format!("0{id}")),
            created_at: 1_700_000_000,
            replaces: some("aki.serial"),
            profile: some("default"),
        }
        .into_active_model()
        .insert(db)
        .await
        .unwrap();
        authorizations::Model {
            id,
            account_id: id,
            identifier_type: "dns".into(),
            identifier_value: "a.test".into(),
            wildcard: full,
            status: "valid".into(),
            expires_at: 1_800_000_000,
            created_at: 1_700_000_000,
        }
        .into_active_model()
        .insert(db)
        .await
        .unwrap();
        for n in 0..2 {
            challenges::Model {
                id: id * 10 + n,
                authorization_id: id,
                challenge_type: "http-01".into(),
                token: format!("token-{id}-{n}"),
                status: "valid".into(),
                validated_at: some_i64(3),
                error: some("{}"),
                validation_record: some("[]"),
                account_uri: some("https://ca.test/acct/1"),
                lease_holder: some("replica"),
                lease_expires_at: some_i64(4),
                created_at: 1_700_000_000,
            }
            .into_active_model()
            .insert(db)
            .await
            .unwrap();
        }
        order_authorizations::Model {
            order_id: id,
            authorization_id: id,
        }
        .into_active_model()
        .insert(db)
        .await
        .unwrap();
        certificates::Model {
            id,
            serial: format!("0{id}"),
            directory: "default".into(),
            account_id: id,
            order_id: id,
            der: vec![0x30, 0x82, 0, id as u8],
            chain_pem: "-----BEGIN CERTIFICATE-----".into(),
            names: "[\"a.test\"]".into(),
            not_before: 1_700_000_000,
            not_after: 1_700_086_400,
            revoked_at: some_i64(5),
            revocation_reason: full.then_some(4),
            created_at: 1_700_000_000,
            intermediate_id: None,
            renewal_notice_id: None,
            replaced_by_order_id: some_i64(id),
            profile: some("default"),
        }
        .into_active_model()
        .insert(db)
        .await
        .unwrap();
        eab_keys::Model {
            id,
            kid: format!("kid-{id}"),
            directory: "default".into(),
            hmac_key: "c2VjcmV0".into(),
            reusable: full,
            note: some("note"),
            created_at: 1_700_000_000,
            expires_at: some_i64(6),
            revoked_at: some_i64(7),
            accounts_bound: 3,
            last_used_at: some_i64(8),
        }
        .into_active_model()
        .insert(db)
        .await
        .unwrap();
    }
}

type Joined = (
    orders::Model,
    Option<order_authorizations::Model>,
    Option<authorizations::Model>,
    Option<challenges::Model>,
);

/// Every order with its authorizations and their challenges, as finalize reads them.
async fn joined(db: &DatabaseConnection) -> Vec<Joined> {
    orders::Entity::find()
        .find_also_related(order_authorizations::Entity)
        .find_also(order_authorizations::Entity, authorizations::Entity)
        .find_also(authorizations::Entity, challenges::Entity)
        .order_by_asc(orders::Column::Id)
        .order_by_asc(challenges::Column::Id)
        .into_model::<orders::Model, order_authorizations::Model, authorizations::Model, challenges::Model>()
        .all(db)
        .await
        .unwrap()
}

async fn order_ids(db: &DatabaseConnection) -> Vec<i64> {
    orders::Entity::find()
        .select_only()
        .column(orders::Column::Id)
        .order_by_asc(orders::Column::Id)
        .into_tuple::<i64>()
        .all(db)
        .await
        .unwrap()
}

#[tokio::test]
async fn rows_decode_exactly_as_through_sqlx() {
    let (_dir, store, _) = counted_store().await;
    assert!(
        matches!(store.lookup.get_database_backend(), DbBackend::Sqlite),
        "a SQLite file's lookups are SQLite's"
    );
    populate(&store.db).await;

    macro_rules! same_rows {
        ($entity:ty, $rows:expr) => {{
            let inline = <$entity>::find().all(&store.lookup).await.unwrap();
            let sqlx = <$entity>::find().all(&store.read).await.unwrap();
            assert_eq!(inline.len(), $rows, "{}", stringify!($entity));
            assert_eq!(inline, sqlx, "{}", stringify!($entity));
        }};
    }
    same_rows!(accounts::Entity, 2);
    same_rows!(orders::Entity, 2);
    same_rows!(authorizations::Entity, 2);
    same_rows!(challenges::Entity, 4);
    same_rows!(certificates::Entity, 2);
    same_rows!(eab_keys::Entity, 2);

    // A join decodes each side by its prefixed column names.
    let inline = joined(&store.lookup).await;
    assert_eq!(inline.len(), 4);
    assert_eq!(inline, joined(&store.read).await);

    // A single-column tuple, and a lookup that finds nothing.
    assert_eq!(order_ids(&store.lookup).await, vec![1, 2]);
    assert_eq!(
        certificates::Entity::find()
            .filter(certificates::Column::Serial.eq("missing"))
            .one(&store.lookup)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn a_lookup_sees_every_commit_and_is_counted() {
    let (_dir, store, statements) = counted_store().await;
    let account = |store: &Store| {
        let store = store.clone();
        async move { store.account(1).await.unwrap() }
    };
    assert!(account(&store).await.is_none());
    populate(&store.db).await;
    // A statement started after the commit sees it (no read transaction is left open).
    let before = statements.load(Ordering::Relaxed);
    assert_eq!(account(&store).await.unwrap().id, 1);
    assert_eq!(statements.load(Ordering::Relaxed), before + 1);
}

#[tokio::test]
async fn the_lookup_connection_never_writes() {
    let (_dir, store, _) = counted_store().await;
    let refused = accounts::Entity::delete_many()
        .exec(&store.lookup)
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("read-only"), "{refused}");
    // Even a write that reaches SQLite is refused by the read-only connection.
    let refused = store
        .lookup
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "DELETE FROM accounts RETURNING id",
        ))
        .await
        .unwrap_err();
    assert!(
        refused.to_string().to_lowercase().contains("readonly"),
        "{refused}"
    );
}
