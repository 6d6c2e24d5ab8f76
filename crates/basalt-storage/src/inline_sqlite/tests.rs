//! The inline writer's own rules: an uncommitted transaction leaves nothing behind, a
//! committed one is seen, and it waits for the process's other writer.

use std::time::Duration;

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::Store;
use crate::config::StorageConfig;
use crate::entities::server_secrets;
use crate::error::Error;
use crate::writes::write_transaction;

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

/// A store on a file with the secret `inline-test` set to one zero byte.
async fn store_with_a_secret() -> (tempfile::TempDir, Store) {
    let (dir, store) = store_on_a_file().await;
    store
        .db
        .execute_unprepared(
            "INSERT INTO server_secrets (name, value, created_at) VALUES ('inline-test', x'00', 0)",
        )
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
    let (_dir, store) = store_with_a_secret().await;
    let inline = store
        .inline
        .clone()
        .expect("a SQLite file gets the inline writer");
    let tx = inline.begin().await.unwrap();
    assert_eq!(
        set_secret("dropped")
            .exec(tx.connection())
            .await
            .unwrap()
            .rows_affected,
        1
    );
    drop(tx);
    assert_eq!(secret_in(&store.read).await.unwrap(), vec![0]);

    let tx = inline.begin().await.unwrap();
    assert_eq!(
        set_secret("kept")
            .exec(tx.connection())
            .await
            .unwrap()
            .rows_affected,
        1
    );
    tx.commit().unwrap();
    assert_eq!(secret_in(&store.read).await.unwrap(), b"kept".to_vec());
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

/// A secret's value as a body inside `write_transaction!` sees it: its own transaction's
/// writes included.
async fn secret_in(conn: &impl ConnectionTrait) -> Result<Vec<u8>, Error> {
    Ok(server_secrets::Entity::find()
        .filter(server_secrets::Column::Name.eq("inline-test"))
        .one(conn)
        .await?
        .map(|row| row.value)
        .unwrap_or_default())
}

/// Writes `value`, reads it back inside the transaction, and commits only if `keep`.
async fn write_secret(store: &Store, value: &str, keep: bool) -> Result<Vec<u8>, Error> {
    let seen = write_transaction!(
        store,
        |tx| {
            set_secret(value).exec(tx).await?;
            secret_in(tx).await?
        },
        commit_if |_: &Vec<u8>| keep
    );
    Ok(seen)
}

#[tokio::test]
async fn a_write_transaction_reads_its_own_writes_and_commits_only_when_told() {
    let (_dir, store) = store_with_a_secret().await;
    assert!(
        store.inline.is_some(),
        "a SQLite file gets the inline writer"
    );

    let seen = write_secret(&store, "rolled back", false).await.unwrap();
    assert_eq!(seen, b"rolled back".to_vec(), "the body sees its own write");
    assert_eq!(secret_in(&store.read).await.unwrap(), vec![0]);

    write_secret(&store, "committed", true).await.unwrap();
    assert_eq!(secret_in(&store.read).await.unwrap(), b"committed".to_vec());

    // An error inside the body (a statement SQLite refuses) leaves through `?`: nothing of
    // the transaction stays, and the next one runs normally.
    let failed: Result<(), Error> = async {
        write_transaction!(&store, |tx| {
            set_secret("lost").exec(tx).await?;
            tx.execute_unprepared("INSERT INTO no_such_table VALUES (1)")
                .await?;
        });
        Ok(())
    }
    .await;
    assert!(matches!(failed, Err(Error::Internal(_))), "{failed:?}");
    assert_eq!(secret_in(&store.read).await.unwrap(), b"committed".to_vec());
    write_secret(&store, "after", true).await.unwrap();
    assert_eq!(secret_in(&store.read).await.unwrap(), b"after".to_vec());
}
