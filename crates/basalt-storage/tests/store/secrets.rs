//! Shared secrets: the first value stored wins on every replica.

use crate::support::{at, on_every_backend};

#[tokio::test]
async fn every_replica_gets_the_first_secret() {
    on_every_backend!(|db| {
        let s = &db.store;
        let replica = db.second_store().await;
        assert_eq!(
            s.secret("nonce-key", b"first", at(0)).await.unwrap(),
            b"first"
        );
        assert_eq!(
            replica.secret("nonce-key", b"second", at(1)).await.unwrap(),
            b"first"
        );
        assert_eq!(
            s.secret("nonce-key", b"third", at(2)).await.unwrap(),
            b"first"
        );
        assert_eq!(replica.secret("other", b"x", at(2)).await.unwrap(), b"x");

        // Racing replicas agree too.
        let stores = [s.clone(), replica.clone(), s.clone(), replica];
        let racers = stores.into_iter().enumerate().map(|(i, store)| {
            tokio::spawn(async move {
                store
                    .secret("raced", format!("candidate-{i}").as_bytes(), at(3))
                    .await
            })
        });
        let mut values = Vec::new();
        for racer in racers.collect::<Vec<_>>() {
            values.push(racer.await.unwrap().unwrap());
        }
        assert!(values.windows(2).all(|w| w[0] == w[1]), "{values:?}");
    });
}
