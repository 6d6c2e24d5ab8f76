//! Challenge validation (RFC 8555 §7.5.1, §8.2): starting once, leases and sweeps,
//! and recorded results with their cascade to authorizations and orders.

use std::time::Duration;

use basalt_protocol::{
    AuthorizationStatus, ChallengeStatus, ChallengeType, Identifier, OrderStatus, Problem,
    ProblemType,
};
use basalt_storage::{Error, ValidationJob, ValidationResult};

use crate::support::{
    ACCOUNT_URI, DAY, account, at, job_for, new_authorization, on_every_backend,
    order_with_new_authorizations, validate,
};

#[tokio::test]
async fn valid_results_make_orders_ready_only_when_all_authorizations_are_valid() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let order = order_with_new_authorizations(s, a.id, &["a.test", "b.test"]).await;
        let [first, second] = order.authorization_ids[..] else {
            panic!()
        };

        validate(s, first, ValidationResult::Valid).await;
        let authorization = s.authorization(first).await.unwrap().unwrap();
        assert_eq!(authorization.status, AuthorizationStatus::Valid);
        assert_eq!(authorization.expires_at, at(30 * DAY));
        let challenge = &authorization.challenges[0];
        assert_eq!(challenge.status, ChallengeStatus::Valid);
        assert_eq!(challenge.validated_at, Some(at(70)));
        assert_eq!(
            challenge.validation_record.as_deref(),
            Some(r#"{"addr":"192.0.2.1"}"#)
        );
        assert_eq!(challenge.error, None);
        assert_eq!(authorization.challenges[1].status, ChallengeStatus::Pending);
        assert_eq!(
            s.order(order.id).await.unwrap().unwrap().status,
            OrderStatus::Pending
        );

        validate(s, second, ValidationResult::Valid).await;
        assert_eq!(
            s.order(order.id).await.unwrap().unwrap().status,
            OrderStatus::Ready
        );
    });
}

#[tokio::test]
async fn invalid_results_invalidate_authorization_and_orders() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let order = order_with_new_authorizations(s, a.id, &["a.test", "b.test"]).await;
        let problem = Problem::new(ProblemType::IncorrectResponse, "wrong key authorization");
        let recorded = validate(
            s,
            order.authorization_ids[0],
            ValidationResult::Invalid(problem.clone()),
        )
        .await;
        // The order is counted once, for the metrics of orders by final status.
        assert_eq!(recorded.orders_invalidated, 1);

        let authorization = s
            .authorization(order.authorization_ids[0])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(authorization.status, AuthorizationStatus::Invalid);
        assert_eq!(authorization.expires_at, at(7 * DAY));
        let challenge = &authorization.challenges[0];
        assert_eq!(challenge.status, ChallengeStatus::Invalid);
        assert_eq!(challenge.error, Some(problem.clone()));
        assert_eq!(challenge.validated_at, None);
        let order = s.order(order.id).await.unwrap().unwrap();
        assert_eq!(order.status, OrderStatus::Invalid);
        assert_eq!(order.error, Some(problem));
    });
}

#[tokio::test]
async fn a_second_result_changes_nothing() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let order = order_with_new_authorizations(s, a.id, &["a.test"]).await;
        let authorization_id = order.authorization_ids[0];
        validate(s, authorization_id, ValidationResult::Valid).await;
        let challenge_id = s
            .authorization(authorization_id)
            .await
            .unwrap()
            .unwrap()
            .challenges[0]
            .id;
        let job = job_for(s, challenge_id).await;
        let late = s
            .record_validation(
                &job,
                &ValidationResult::Invalid(Problem::new(ProblemType::Connection, "late")),
                None,
                at(80),
                at(30 * DAY),
            )
            .await
            .unwrap();
        assert_eq!(
            late, None,
            "the first result stands and is not reported as written"
        );
        let (challenge, authorization) = s.challenge(challenge_id).await.unwrap().unwrap();
        assert_eq!(challenge.status, ChallengeStatus::Valid);
        assert_eq!(challenge.error, None);
        assert_eq!(authorization.status, AuthorizationStatus::Valid);
        assert_eq!(authorization.challenges[0], challenge);
        assert_eq!(
            s.order(order.id).await.unwrap().unwrap().status,
            OrderStatus::Ready
        );
        assert_eq!(
            s.record_validation(
                &ValidationJob {
                    challenge_id: 9999,
                    ..job
                },
                &ValidationResult::Valid,
                None,
                at(80),
                at(DAY)
            )
            .await,
            Err(Error::NotFound)
        );
        assert_eq!(s.challenge(9999).await.unwrap(), None);
    });
}

#[tokio::test]
async fn challenges_start_once_and_only_for_open_authorizations() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let order = order_with_new_authorizations(s, a.id, &["a.test", "b.test", "c.test"]).await;
        let challenge_of = |authorization: i64| async move {
            s.authorization(authorization)
                .await
                .unwrap()
                .unwrap()
                .challenges[0]
                .id
        };
        let first = challenge_of(order.authorization_ids[0]).await;
        assert!(s.start_challenge(first, ACCOUNT_URI, at(10)).await.unwrap());
        assert!(!s.start_challenge(first, ACCOUNT_URI, at(11)).await.unwrap());
        assert_eq!(
            s.challenge(first).await.unwrap().unwrap().0.status,
            ChallengeStatus::Processing
        );

        // Expired authorization.
        let second = challenge_of(order.authorization_ids[1]).await;
        assert!(
            !s.start_challenge(second, ACCOUNT_URI, at(8 * DAY))
                .await
                .unwrap()
        );
        assert_eq!(
            s.challenge(second).await.unwrap().unwrap().0.status,
            ChallengeStatus::Pending
        );

        // Deactivated authorization.
        let third = challenge_of(order.authorization_ids[2]).await;
        s.deactivate_authorization(order.authorization_ids[2])
            .await
            .unwrap();
        assert!(!s.start_challenge(third, ACCOUNT_URI, at(10)).await.unwrap());
        assert!(!s.start_challenge(9999, ACCOUNT_URI, at(10)).await.unwrap());
    });
}

#[tokio::test]
async fn claims_are_exclusive_until_the_lease_expires() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let authorization = new_authorization(s, a.id, "a.test").await;
        let challenge = &authorization.challenges[0];
        let lease = Duration::from_secs(30);

        // Not processing yet: nothing to claim.
        assert!(
            s.claim_validation(challenge.id, "a", at(10), lease)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            s.start_challenge(challenge.id, ACCOUNT_URI, at(10))
                .await
                .unwrap()
        );

        let job = s
            .claim_validation(challenge.id, "a", at(10), lease)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(job.authorization_id, authorization.id);
        assert_eq!(job.challenge_type, ChallengeType::Http01);
        assert_eq!(job.token, challenge.token);
        assert_eq!(job.identifier, Identifier::dns("a.test").unwrap());
        assert!(!job.wildcard);
        assert_eq!(job.account_id, a.id);
        assert_eq!(job.account_key_thumbprint, "thumb-a");
        assert_eq!(job.account_uri.as_deref(), Some(ACCOUNT_URI));
        assert_eq!(job.directory, "acme");

        assert!(
            s.claim_validation(challenge.id, "b", at(20), lease)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            s.claim_validation(challenge.id, "b", at(40), lease)
                .await
                .unwrap()
                .is_none()
        );
        // The lease ran out at 40: replica b takes over, and a can no longer claim it.
        let taken = s
            .claim_validation(challenge.id, "b", at(41), lease)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(taken, job);
        assert!(
            s.claim_validation(challenge.id, "a", at(42), lease)
                .await
                .unwrap()
                .is_none()
        );
    });
}

#[tokio::test]
async fn starting_a_validation_claims_it_in_the_same_step() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let authorization = new_authorization(s, a.id, "a.test").await;
        let challenge = &authorization.challenges[0];
        let lease = Duration::from_secs(30);

        assert!(
            s.start_validation(challenge.id, ACCOUNT_URI, "a", at(10), lease)
                .await
                .unwrap()
        );
        // Once only, like start_challenge.
        assert!(
            !s.start_validation(challenge.id, ACCOUNT_URI, "b", at(11), lease)
                .await
                .unwrap()
        );
        let (started, _) = s.challenge(challenge.id).await.unwrap().unwrap();
        assert_eq!(started.status, ChallengeStatus::Processing);
        assert_eq!(started.account_uri.as_deref(), Some(ACCOUNT_URI));
        // Held by a until its lease runs out: neither a claim nor a sweep takes it.
        assert!(
            s.claim_validation(challenge.id, "b", at(20), lease)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            s.claim_validation_jobs("b", at(40), lease, 10)
                .await
                .unwrap()
                .is_empty()
        );
        let orphan = s
            .claim_validation_jobs("b", at(41), lease, 10)
            .await
            .unwrap();
        assert_eq!(orphan.len(), 1);
        assert_eq!(orphan[0].challenge_id, challenge.id);
        assert_eq!(orphan[0].account_uri.as_deref(), Some(ACCOUNT_URI));
    });
}

#[tokio::test]
async fn sweeping_claims_orphaned_and_unclaimed_validations() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let order =
            order_with_new_authorizations(s, a.id, &["a.test", "b.test", "c.test", "d.test"]).await;
        let mut challenges = Vec::new();
        for id in &order.authorization_ids {
            challenges.push(s.authorization(*id).await.unwrap().unwrap().challenges[0].id);
        }
        let lease = Duration::from_secs(30);
        for c in &challenges[..3] {
            assert!(s.start_challenge(*c, ACCOUNT_URI, at(0)).await.unwrap());
        }
        // challenges[0]: held by a; [1], [2]: never claimed; [3]: still pending.
        s.claim_validation(challenges[0], "a", at(0), lease)
            .await
            .unwrap()
            .unwrap();

        let jobs = s
            .claim_validation_jobs("sweeper", at(5), lease, 1)
            .await
            .unwrap();
        assert_eq!(
            jobs.iter().map(|j| j.challenge_id).collect::<Vec<_>>(),
            vec![challenges[1]]
        );
        let jobs = s
            .claim_validation_jobs("sweeper", at(5), lease, 10)
            .await
            .unwrap();
        assert_eq!(
            jobs.iter().map(|j| j.challenge_id).collect::<Vec<_>>(),
            vec![challenges[2]]
        );
        assert!(
            s.claim_validation_jobs("other", at(6), lease, 10)
                .await
                .unwrap()
                .is_empty()
        );

        // After every lease ran out (a's at 30, the sweeper's at 35), all three are orphaned.
        let jobs = s
            .claim_validation_jobs("other", at(36), lease, 10)
            .await
            .unwrap();
        assert_eq!(
            jobs.iter().map(|j| j.challenge_id).collect::<Vec<_>>(),
            challenges[..3].to_vec()
        );
        // Recorded results leave the pool.
        let written = s
            .record_validation(&jobs[0], &ValidationResult::Valid, None, at(40), at(DAY))
            .await
            .unwrap()
            .expect("recorded")
            .challenge;
        // What it returns is what a later read finds.
        let (stored, _) = s.challenge(challenges[0]).await.unwrap().unwrap();
        assert_eq!(written, stored);
        let jobs = s
            .claim_validation_jobs("third", at(100), lease, 10)
            .await
            .unwrap();
        assert_eq!(jobs.len(), 2);
    });
}

/// A replica shutting down gives back what it claimed and did not finish: another replica's
/// sweep takes it at once, long before the lease would have run out. Others' claims and
/// recorded results are untouched.
#[tokio::test]
async fn released_claims_are_swept_at_once_and_only_the_holders() {
    on_every_backend!(|db| {
        let s = &db.store;
        let a = account(s, "thumb-a").await;
        let order = order_with_new_authorizations(s, a.id, &["a.test", "b.test", "c.test"]).await;
        let mut challenges = Vec::new();
        for id in &order.authorization_ids {
            challenges.push(s.authorization(*id).await.unwrap().unwrap().challenges[0].id);
        }
        let lease = Duration::from_secs(600);
        // [0] and [1] held by the stopping replica, [2] by another.
        for (c, holder) in challenges.iter().zip(["stopping", "stopping", "other"]) {
            assert!(
                s.start_validation(*c, ACCOUNT_URI, holder, at(0), lease)
                    .await
                    .unwrap()
            );
        }
        // The stopping replica finished [0] before its shutdown.
        let (challenge, authorization) = s.challenge(challenges[0]).await.unwrap().unwrap();
        let job = ValidationJob::new(
            &challenge,
            &authorization,
            "thumb-a",
            "default",
            Some(ACCOUNT_URI.to_owned()),
        );
        s.record_validation(&job, &ValidationResult::Valid, None, at(1), at(DAY))
            .await
            .unwrap()
            .expect("recorded");

        assert_eq!(s.release_validation_claims("stopping").await.unwrap(), 1);
        let swept = s
            .claim_validation_jobs("survivor", at(2), lease, 10)
            .await
            .unwrap();
        assert_eq!(
            swept.iter().map(|j| j.challenge_id).collect::<Vec<_>>(),
            vec![challenges[1]],
            "only the released claim is free; the other replica's is still held"
        );
        let (recorded, _) = s.challenge(challenges[0]).await.unwrap().unwrap();
        assert_eq!(recorded.status, ChallengeStatus::Valid);
        assert_eq!(s.release_validation_claims("stopping").await.unwrap(), 0);
    });
}
