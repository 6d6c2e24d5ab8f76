//! External Account Binding keys (RFC 8555 §7.3.4): create, list (no key material), revoke,
//! and binding a key in the account's insert transaction, also by two replicas at once.

use basalt_storage::{EAB_KID, EabBinding, Error, NewEabKey, Store};

use crate::support::{DAY, at, new_account, on_every_backend};

fn key(kid: &str, reusable: bool) -> NewEabKey {
    NewEabKey {
        kid: kid.into(),
        directory: "acme".into(),
        hmac_key: "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I".into(),
        reusable,
        note: Some("team a".into()),
        created_at: at(0),
        expires_at: Some(at(30 * DAY)),
    }
}

fn binding(kid: &str) -> EabBinding {
    EabBinding { kid: kid.into() }
}

async fn count_accounts(s: &Store) -> usize {
    s.list_accounts(&Default::default()).await.unwrap().len()
}

#[tokio::test]
async fn keys_are_created_listed_and_revoked() {
    on_every_backend!(|db| {
        let s = &db.store;
        let created = s.create_eab_key(&key("kid-a", false)).await.unwrap();
        assert_eq!(created.kid, "kid-a");
        assert_eq!(created.accounts_bound, 0);
        assert_eq!(created.expires_at, Some(at(30 * DAY)));
        assert_eq!(created.note.as_deref(), Some("team a"));
        let duplicate = s.create_eab_key(&key("kid-a", true)).await;
        assert!(
            matches!(&duplicate, Err(Error::Duplicate { what, .. }) if *what == EAB_KID),
            "{duplicate:?}"
        );
        s.create_eab_key(&NewEabKey {
            directory: "other".into(),
            expires_at: None,
            note: None,
            ..key("kid-b", true)
        })
        .await
        .unwrap();

        let all = s.list_eab_keys(None).await.unwrap();
        assert_eq!(
            all.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(),
            ["kid-b", "kid-a"]
        );
        let acme = s.list_eab_keys(Some("acme")).await.unwrap();
        assert_eq!(acme.len(), 1);
        assert_eq!(acme[0], created);

        let secret = s.eab_key("kid-a").await.unwrap().unwrap();
        assert_eq!(secret.hmac_key, key("kid-a", false).hmac_key);
        assert!(!format!("{secret:?}").contains(&secret.hmac_key));
        assert!(s.eab_key("nope").await.unwrap().is_none());

        let revoked = s.revoke_eab_key("kid-a", at(5)).await.unwrap();
        assert_eq!(revoked.revoked_at, Some(at(5)));
        let again = s.revoke_eab_key("kid-a", at(6)).await;
        assert!(matches!(again, Err(Error::WrongState { .. })), "{again:?}");
        let unknown = s.revoke_eab_key("nope", at(6)).await;
        assert_eq!(unknown, Err(Error::NotFound));
        let listed = s.list_eab_keys(Some("acme")).await.unwrap();
        assert_eq!(listed[0].revoked_at, Some(at(5)));
    });
}

#[tokio::test]
async fn a_single_use_key_binds_one_account() {
    on_every_backend!(|db| {
        let s = &db.store;
        s.create_eab_key(&key("once", false)).await.unwrap();
        let first = s
            .insert_account_bound(&new_account("thumb-1"), &binding("once"))
            .await
            .unwrap();
        assert_eq!(first.eab_kid.as_deref(), Some("once"));
        assert_eq!(
            s.account(first.id)
                .await
                .unwrap()
                .unwrap()
                .eab_kid
                .as_deref(),
            Some("once")
        );
        let second = s
            .insert_account_bound(&new_account("thumb-2"), &binding("once"))
            .await;
        assert!(
            matches!(second, Err(Error::WrongState { .. })),
            "{second:?}"
        );
        assert_eq!(
            count_accounts(s).await,
            1,
            "the refused account is not stored"
        );
        let stored = s.eab_key("once").await.unwrap().unwrap().key;
        assert_eq!(stored.accounts_bound, 1);
        assert_eq!(stored.last_used_at, Some(at(0)));
    });
}

#[tokio::test]
async fn a_reusable_key_binds_many_and_an_unbound_account_has_no_kid() {
    on_every_backend!(|db| {
        let s = &db.store;
        s.create_eab_key(&key("many", true)).await.unwrap();
        for i in 0..3 {
            s.insert_account_bound(&new_account(&format!("thumb-{i}")), &binding("many"))
                .await
                .unwrap();
        }
        assert_eq!(
            s.eab_key("many").await.unwrap().unwrap().key.accounts_bound,
            3
        );
        let plain = s.insert_account(&new_account("plain")).await.unwrap();
        assert_eq!(plain.eab_kid, None);
    });
}

#[tokio::test]
async fn revoked_expired_unknown_and_foreign_keys_bind_nothing() {
    on_every_backend!(|db| {
        let s = &db.store;
        s.create_eab_key(&key("revoked", true)).await.unwrap();
        s.revoke_eab_key("revoked", at(1)).await.unwrap();
        s.create_eab_key(&NewEabKey {
            expires_at: Some(at(10)),
            ..key("expired", true)
        })
        .await
        .unwrap();
        s.create_eab_key(&NewEabKey {
            directory: "other".into(),
            ..key("foreign", true)
        })
        .await
        .unwrap();
        for (kid, now) in [
            ("revoked", 2),
            ("expired", 10),
            ("foreign", 2),
            ("unknown", 2),
        ] {
            let new = basalt_storage::NewAccount {
                now: at(now),
                ..new_account(&format!("thumb-{kid}"))
            };
            let refused = s.insert_account_bound(&new, &binding(kid)).await;
            assert!(
                matches!(refused, Err(Error::WrongState { .. })),
                "{kid}: {refused:?}"
            );
        }
        assert_eq!(count_accounts(s).await, 0);
        for kid in ["revoked", "expired", "foreign"] {
            assert_eq!(s.eab_key(kid).await.unwrap().unwrap().key.accounts_bound, 0);
        }
    });
}

#[tokio::test]
async fn a_duplicate_account_key_does_not_use_up_the_binding() {
    on_every_backend!(|db| {
        let s = &db.store;
        s.create_eab_key(&key("once", false)).await.unwrap();
        s.insert_account(&new_account("taken")).await.unwrap();
        let duplicate = s
            .insert_account_bound(&new_account("taken"), &binding("once"))
            .await;
        assert!(
            matches!(duplicate, Err(Error::Duplicate { .. })),
            "{duplicate:?}"
        );
        assert_eq!(
            s.eab_key("once").await.unwrap().unwrap().key.accounts_bound,
            0
        );
        s.insert_account_bound(&new_account("fresh"), &binding("once"))
            .await
            .unwrap();
    });
}

/// Two replicas register two different keys with one single-use EAB key at the same
/// moment: exactly one account is created, on every engine.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_registrations_bind_a_single_use_key_once() {
    on_every_backend!(|db| {
        let s = &db.store;
        let replica = db.second_store().await;
        for round in 0..20 {
            let kid = format!("race-{round}");
            s.create_eab_key(&key(&kid, false)).await.unwrap();
            let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
            let tasks = [(s.clone(), "a"), (replica.clone(), "b")].map(|(store, side)| {
                let (kid, barrier) = (kid.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    store
                        .insert_account_bound(
                            &new_account(&format!("thumb-{kid}-{side}")),
                            &binding(&kid),
                        )
                        .await
                })
            });
            let mut created = 0;
            for task in tasks {
                match task.await.unwrap() {
                    Ok(account) => {
                        assert_eq!(account.eab_kid.as_deref(), Some(kid.as_str()));
                        created += 1;
                    }
                    Err(Error::WrongState { .. }) => {}
                    Err(e) => panic!("round {round}: {e:?}"),
                }
            }
            assert_eq!(created, 1, "round {round}");
            assert_eq!(
                s.eab_key(&kid).await.unwrap().unwrap().key.accounts_bound,
                1
            );
        }
        assert_eq!(count_accounts(s).await, 20);
    });
}
