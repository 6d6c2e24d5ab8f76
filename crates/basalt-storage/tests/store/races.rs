//! Races between replicas: two stores on one database doing the same work at once.

use basalt_protocol::OrderStatus;
use basalt_storage::ValidationResult;

use crate::support::{
    ACCOUNT_URI, DAY, account, at, certificate, finalize, job_for, on_every_backend,
    order_with_new_authorizations, ready_order,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_validations_of_one_order_leave_it_ready() {
    on_every_backend!(|db| {
        let s = &db.store;
        let replica = db.second_store().await;
        let a = account(s, "thumb-a").await;
        let mut orders = Vec::new();
        for i in 0..30 {
            let (x, y) = (format!("x{i}.test"), format!("y{i}.test"));
            orders.push(order_with_new_authorizations(s, a.id, &[x.as_str(), y.as_str()]).await);
        }
        let mut challenge_ids = Vec::new();
        for order in &orders {
            for authorization_id in &order.authorization_ids {
                let challenge = s
                    .authorization(*authorization_id)
                    .await
                    .unwrap()
                    .unwrap()
                    .challenges[0]
                    .id;
                assert!(
                    s.start_challenge(challenge, ACCOUNT_URI, at(10))
                        .await
                        .unwrap()
                );
                challenge_ids.push(job_for(s, challenge).await);
            }
        }
        // Both authorizations of each order are recorded at the same time, by two replicas.
        let tasks = challenge_ids.chunks(2).flat_map(|pair| {
            [
                (s.clone(), pair[0].clone()),
                (replica.clone(), pair[1].clone()),
            ]
            .map(|(store, job)| {
                tokio::spawn(async move {
                    store
                        .record_validation(
                            &job,
                            &ValidationResult::Valid,
                            None,
                            at(20),
                            at(30 * DAY),
                        )
                        .await
                })
            })
        });
        for task in tasks.collect::<Vec<_>>() {
            task.await.unwrap().unwrap();
        }
        for order in &orders {
            assert_eq!(
                s.order(order.id).await.unwrap().unwrap().status,
                OrderStatus::Ready,
                "order {}",
                order.id
            );
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_finalizations_issue_exactly_once() {
    on_every_backend!(|db| {
        let s = &db.store;
        let replica = db.second_store().await;
        let a = account(s, "thumb-a").await;
        let order = ready_order(s, a.id).await;
        let tasks = [s.clone(), replica.clone(), s.clone(), replica]
            .into_iter()
            .enumerate()
            .map(|(i, store)| {
                let order = order.clone();
                tokio::spawn(async move {
                    finalize(&store, &order, &certificate(&format!("serial{i}")), at(100)).await
                })
            });
        let mut issued = 0;
        for task in tasks.collect::<Vec<_>>() {
            match task.await.unwrap().unwrap() {
                Ok(_) => issued += 1,
                // The winner may not have stored its certificate yet.
                Err(o) => assert!(
                    matches!(o.status, OrderStatus::Processing | OrderStatus::Valid),
                    "{o:?}"
                ),
            }
        }
        assert_eq!(issued, 1);
    });
}
