//! Used nonces (RFC 8555 §6.5): single use across replicas, batches, expiry.

use crate::support::{at, on_every_backend};

#[tokio::test]
async fn nonces_are_used_once_and_expire_in_bounded_batches() {
    on_every_backend!(|db| {
        let s = &db.store;
        assert!(s.consume_nonce("n-1", at(60)).await.unwrap());
        assert!(!s.consume_nonce("n-1", at(60)).await.unwrap());
        let replica = db.second_store().await;
        assert!(!replica.consume_nonce("n-1", at(60)).await.unwrap());

        for i in 0..5 {
            assert!(
                s.consume_nonce(&format!("old-{i}"), at(10 + i))
                    .await
                    .unwrap()
            );
        }
        // n-1 (60) and the old ones (10..=14) exist; at 30 only the old ones are expired.
        assert_eq!(s.delete_expired_nonces(at(30), 3).await.unwrap(), 3);
        assert_eq!(s.delete_expired_nonces(at(30), 3).await.unwrap(), 2);
        assert_eq!(s.delete_expired_nonces(at(30), 3).await.unwrap(), 0);
        assert!(!s.consume_nonce("n-1", at(60)).await.unwrap());
        // Expiring in second 60 means usable through second 60.
        assert_eq!(s.delete_expired_nonces(at(60), 3).await.unwrap(), 0);
        assert_eq!(s.delete_expired_nonces(at(61), 3).await.unwrap(), 1);
        assert!(s.consume_nonce("old-0", at(10)).await.unwrap());
    });
}

#[tokio::test]
async fn nonces_are_consumed_in_batches() {
    on_every_backend!(|db| {
        let s = &db.store;
        let batch = |names: &[&str]| {
            names
                .iter()
                .map(|n| ((*n).to_owned(), at(60)))
                .collect::<Vec<_>>()
        };
        assert_eq!(s.consume_nonces(&[]).await.unwrap(), Vec::<bool>::new());
        // Fresh nonces: one multi-row insert, every one a first use.
        assert_eq!(
            s.consume_nonces(&batch(&["b-1", "b-2", "b-3"]))
                .await
                .unwrap(),
            [true, true, true]
        );
        // Another replica used b-4; the batch repeats b-1 (stored), b-5 (within the batch).
        let replica = db.second_store().await;
        assert!(replica.consume_nonce("b-4", at(60)).await.unwrap());
        assert_eq!(
            s.consume_nonces(&batch(&["b-5", "b-1", "b-6", "b-5", "b-4", "b-7"]))
                .await
                .unwrap(),
            [true, false, true, false, false, true]
        );
        // The fresh ones of that batch were stored: now they are replays, on any replica.
        for nonce in ["b-5", "b-6", "b-7"] {
            assert!(
                !replica.consume_nonce(nonce, at(60)).await.unwrap(),
                "{nonce}"
            );
        }
        // Duplicates alone (no stored nonce) still leave exactly one first use.
        assert_eq!(
            s.consume_nonces(&batch(&["b-8", "b-8", "b-8"]))
                .await
                .unwrap(),
            [true, false, false]
        );
        // Larger than one statement carries, with a replay in the second statement.
        let mut many: Vec<String> = (0..300).map(|i| format!("m-{i:03}")).collect();
        many.push("b-2".to_owned());
        let many: Vec<_> = many.into_iter().map(|n| (n, at(60))).collect();
        let used = s.consume_nonces(&many).await.unwrap();
        assert_eq!(used.iter().filter(|u| **u).count(), 300);
        assert!(!used[300]);
    });
}
