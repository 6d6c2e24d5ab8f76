//! The inline writer's own rules: values bind as SQLite stores them, its errors are
//! classified like sqlx's, an uncommitted transaction leaves nothing behind, and it waits
//! for the process's other writer.

use std::time::Duration;

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Statement};

use super::{InlineSqliteError, bind};
use crate::Store;
use crate::config::StorageConfig;
use crate::entities::server_secrets;
use crate::error::{Error, UNEXPECTED_DUPLICATE};
use crate::writes::WriteTx;

fn statement(values: Vec<sea_orm::Value>) -> Statement {
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
    sea_orm::DbErr::Exec(sea_orm::RuntimeErr::SqlxError(std::sync::Arc::new(
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

async fn store_on_a_file() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&StorageConfig {
        url: format!("sqlite://{}?mode=rwc", dir.path().join("ca.db").display()),
        max_connections: 4,
        acquire_timeout: Duration::from_secs(5),
    })
    .await
    .unwrap();
    (dir, store)
}

fn set_secret(value: &str) -> sea_orm::UpdateMany<server_secrets::Entity> {
    server_secrets::Entity::update_many()
        .col_expr(
            server_secrets::Column::Value,
            Expr::value(value.as_bytes().to_vec()),
        )
        .filter(server_secrets::Column::Name.eq("inline-test"))
}

#[tokio::test]
async fn a_transaction_dropped_uncommitted_writes_nothing_and_a_committed_one_is_seen() {
    let (_dir, store) = store_on_a_file().await;
    store
        .db
        .execute_unprepared(
            "INSERT INTO server_secrets (name, value, created_at) VALUES ('inline-test', x'00', 0)",
        )
        .await
        .unwrap();
    let inline = store
        .inline
        .clone()
        .expect("a SQLite file gets the inline writer");
    let value = |store: Store| async move {
        server_secrets::Entity::find()
            .filter(server_secrets::Column::Name.eq("inline-test"))
            .one(&store.read)
            .await
            .unwrap()
            .unwrap()
            .value
    };

    let tx = inline.begin().await.unwrap();
    assert_eq!(tx.update(set_secret("dropped")).await.unwrap(), 1);
    drop(tx);
    assert_eq!(value(store.clone()).await, vec![0]);

    let tx = inline.begin().await.unwrap();
    assert_eq!(tx.update(set_secret("kept")).await.unwrap(), 1);
    tx.commit().unwrap();
    assert_eq!(value(store.clone()).await, b"kept".to_vec());
}

#[tokio::test]
async fn it_waits_for_the_process_s_other_writer() {
    let (_dir, store) = store_on_a_file().await;
    let inline = store.inline.clone().unwrap();
    // sqlx's writer inside a transaction holds the only writer connection.
    let sqlx_tx = sea_orm::TransactionTrait::begin(&store.db).await.unwrap();
    let waiting = tokio::spawn(async move { inline.begin().await.map(|tx| tx.commit()) });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !waiting.is_finished(),
        "the inline writer did not wait for sqlx's transaction"
    );
    sqlx_tx.commit().await.unwrap();
    waiting.await.unwrap().unwrap().unwrap();
}
