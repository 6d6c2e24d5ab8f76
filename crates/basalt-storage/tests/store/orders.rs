//! Orders (RFC 8555 §7.4): creation with new and reused authorizations, paging.

use basalt_protocol::{
    AuthorizationStatus, ChallengeStatus, ChallengeType, Identifier, OrderStatus,
};
use basalt_storage::{AuthorizationPlan, Error, ValidationResult};

use crate::support::{
    DAY, account, at, create_plan, new_order, on_every_backend, order_with_new_authorizations,
    validate,
};

#[tokio::test]
async fn orders_create_new_and_reuse_authorizations() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let plans = vec![create_plan("a.test", false), create_plan("b.test", true)];
        let order = s
            .create_order(&new_order(a.id, &["a.test", "*.b.test"], plans))
            .await
            .unwrap();
        assert_eq!(order.status, OrderStatus::Pending);
        assert_eq!(order.account_id, a.id);
        assert_eq!(
            order.identifiers,
            vec![
                Identifier::dns("a.test").unwrap(),
                Identifier::dns("*.b.test").unwrap()
            ]
        );
        assert_eq!(order.not_after, Some(at(90 * DAY)));
        assert_eq!(order.not_before, None);
        assert_eq!(order.expires_at, at(7 * DAY));
        assert_eq!(order.authorization_ids.len(), 2);
        assert!(order.authorization_ids.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(s.order(order.id).await.unwrap(), Some(order.clone()));

        let wildcard = s
            .authorization(order.authorization_ids[1])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(wildcard.identifier, Identifier::dns("b.test").unwrap());
        assert!(wildcard.wildcard);
        assert_eq!(wildcard.status, AuthorizationStatus::Pending);
        assert_eq!(wildcard.challenges.len(), 2);
        assert_eq!(wildcard.challenges[0].challenge_type, ChallengeType::Http01);
        assert_eq!(wildcard.challenges[1].challenge_type, ChallengeType::Dns01);
        assert!(
            wildcard
                .challenges
                .iter()
                .all(|c| c.status == ChallengeStatus::Pending)
        );

        // Reuse: the pending authorization for a.test is found and linked.
        let reusable = s
            .reusable_authorization(
                a.id,
                &Identifier::dns("a.test").unwrap(),
                false,
                at(10),
                at(8 * DAY),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(reusable.id, order.authorization_ids[0]);
        // The wildcard flag must match.
        assert!(
            s.reusable_authorization(
                a.id,
                &Identifier::dns("b.test").unwrap(),
                false,
                at(10),
                at(8 * DAY)
            )
            .await
            .unwrap()
            .is_none()
        );
        let second = s
            .create_order(&new_order(
                a.id,
                &["a.test"],
                vec![AuthorizationPlan::Reuse(reusable.id)],
            ))
            .await
            .unwrap();
        assert_eq!(second.status, OrderStatus::Pending);
        assert_eq!(second.authorization_ids, vec![reusable.id]);

        // Once valid, an order made only of reused valid authorizations is ready at once.
        validate(s, reusable.id, ValidationResult::Valid).await;
        let valid = s
            .reusable_authorization(
                a.id,
                &Identifier::dns("a.test").unwrap(),
                false,
                at(100),
                at(8 * DAY),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(valid.status, AuthorizationStatus::Valid);
        // Not valid long enough: falls back to pending ones (none left for a.test).
        assert!(
            s.reusable_authorization(
                a.id,
                &Identifier::dns("a.test").unwrap(),
                false,
                at(100),
                at(31 * DAY)
            )
            .await
            .unwrap()
            .is_none()
        );
        let third = s
            .create_order(&new_order(
                a.id,
                &["a.test"],
                vec![AuthorizationPlan::Reuse(valid.id)],
            ))
            .await
            .unwrap();
        assert_eq!(third.status, OrderStatus::Ready);

        // A newer pending authorization for the same name: a valid one still comes first
        // while it lasts long enough, the pending one otherwise.
        let fourth = s
            .create_order(&new_order(
                a.id,
                &["a.test"],
                vec![create_plan("a.test", false)],
            ))
            .await
            .unwrap();
        let newer_pending = fourth.authorization_ids[0];
        assert!(newer_pending > valid.id);
        let name = Identifier::dns("a.test").unwrap();
        let reuse =
            |valid_until| s.reusable_authorization(a.id, &name, false, at(100), valid_until);
        assert_eq!(reuse(at(8 * DAY)).await.unwrap().unwrap().id, valid.id);
        assert_eq!(
            reuse(at(31 * DAY)).await.unwrap().unwrap().id,
            newer_pending
        );

        // An order with its authorizations in one read: by id, each with its challenges.
        let (loaded, authorizations) = s
            .order_with_authorizations(order.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(loaded, s.order(order.id).await.unwrap().unwrap());
        let mut expected = Vec::new();
        for id in &order.authorization_ids {
            expected.push(s.authorization(*id).await.unwrap().unwrap());
        }
        assert_eq!(authorizations, expected);
        assert_eq!(authorizations.len(), 2);
        assert!(authorizations.iter().all(|z| z.challenges.len() >= 2));
        assert_eq!(s.order_with_authorizations(9999).await.unwrap(), None);

        // Reuse of another account's authorization, or of an unknown one, is refused and
        // leaves nothing behind.
        let b = account(s, "thumb-b").await;
        let stolen = s
            .create_order(&new_order(
                b.id,
                &["a.test"],
                vec![AuthorizationPlan::Reuse(valid.id)],
            ))
            .await;
        assert!(
            matches!(stolen, Err(Error::WrongState { .. })),
            "{stolen:?}"
        );
        assert!(
            s.order_ids_for_account(b.id, None, 10)
                .await
                .unwrap()
                .is_empty()
        );
        // Expired authorizations cannot be reused either.
        let mut late = new_order(a.id, &["a.test"], vec![AuthorizationPlan::Reuse(valid.id)]);
        late.now = at(31 * DAY);
        assert!(matches!(
            s.create_order(&late).await,
            Err(Error::WrongState { current, .. }) if current == "expired"
        ));
        assert_eq!(
            s.order_ids_for_account(a.id, None, 10).await.unwrap().len(),
            4
        );
    });
}

#[tokio::test]
async fn order_ids_page_in_ascending_order() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let b = account(s, "thumb-b").await;
        let mut ids = Vec::new();
        for i in 0..5 {
            let name = format!("n{i}.test");
            ids.push(
                order_with_new_authorizations(s, a.id, &[name.as_str()])
                    .await
                    .id,
            );
            order_with_new_authorizations(s, b.id, &[name.as_str()]).await;
        }
        assert_eq!(
            s.order_ids_for_account(a.id, None, 2).await.unwrap(),
            ids[..2]
        );
        assert_eq!(
            s.order_ids_for_account(a.id, Some(ids[1]), 2)
                .await
                .unwrap(),
            ids[2..4]
        );
        assert_eq!(
            s.order_ids_for_account(a.id, Some(ids[3]), 2)
                .await
                .unwrap(),
            ids[4..]
        );
        assert!(
            s.order_ids_for_account(a.id, Some(ids[4]), 2)
                .await
                .unwrap()
                .is_empty()
        );
    });
}
