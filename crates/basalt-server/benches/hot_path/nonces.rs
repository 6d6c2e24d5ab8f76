//! `nonce_issue_redeem`: the anti-replay nonce work of every request, split into the part
//! without IO (issue, check) and the database insert that makes a nonce single-use (redeem).

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion};
use time::OffsetDateTime;

use basalt_server::nonces::{NonceRejection, Nonces};

use crate::sqlite::{BenchDb, runtime};

/// Every ACME response carries a fresh `Replay-Nonce` and every POST spends one (RFC 8555
/// §6.5), so this runs once or twice per request:
///
/// * `issue`: a new nonce (random bytes and an HMAC-SHA256, no database), for each response.
/// * `check`: MAC and expiry of the request's nonce, before its signature is verified.
/// * `redeem`: `check` again plus the `used_nonces` insert (`Store::consume_nonce`) on a
///   real SQLite file, after the signature: the one database write every POST makes.
/// * `store_ping`: `Store::ping`, a store call without SQL: the writer connection's `ping`,
///   then the ping sqlx always makes when a connection goes back to the pool, each a round
///   trip to the SQLite worker thread. `redeem` makes the same release ping after its
///   `INSERT`.
pub(crate) fn nonce_issue_redeem(c: &mut Criterion) {
    let rt = runtime();
    let db = rt.block_on(BenchDb::sqlite());
    let nonces = Nonces::with_key(&[0x42; 32], Duration::from_secs(3600));
    let now = OffsetDateTime::now_utc();

    // The redeem benchmark must measure successful redemptions, not rejections.
    let nonce = nonces.issue(now);
    let first = rt.block_on(nonces.redeem(&db.store, &nonce, now));
    assert_eq!(first.expect("redeem"), Ok(()));
    let replay = rt.block_on(nonces.redeem(&db.store, &nonce, now));
    assert_eq!(replay.expect("redeem"), Err(NonceRejection::Reused));

    let mut group = c.benchmark_group("nonce_issue_redeem");
    group.bench_function("issue", |b| b.iter(|| nonces.issue(black_box(now))));
    group.bench_function("check", |b| {
        b.iter(|| nonces.check(black_box(&nonce), black_box(now)));
    });
    group.bench_function("redeem", |b| {
        b.to_async(&rt).iter_batched(
            || nonces.issue(now),
            |fresh| {
                let (nonces, store) = (&nonces, &db.store);
                async move {
                    let redeemed = nonces.redeem(store, &fresh, now).await;
                    assert!(matches!(redeemed, Ok(Ok(()))), "{redeemed:?}");
                }
            },
            BatchSize::SmallInput,
        );
    });
    group.bench_function("store_ping", |b| {
        b.to_async(&rt).iter(|| db.store.ping());
    });
    group.finish();
}
