//! `nonce_issue_redeem`: the anti-replay nonce work of every request, split into the part
//! without IO (issue, check) and the database insert that makes a nonce single-use (redeem),
//! which goes through the batching redemption task.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput};
use time::OffsetDateTime;
use tokio::task::JoinSet;

use basalt_server::{NonceRejection, Nonces};

use crate::sqlite::{BenchDb, runtime};

/// Redemptions in flight at once in `redeem_concurrent`: about a loaded server's worth.
const CONCURRENT: usize = 64;

/// Every ACME response carries a fresh `Replay-Nonce` and every POST spends one (RFC 8555
/// §6.5), so this runs once or twice per request:
///
/// * `issue`: a new nonce (random bytes and an HMAC-SHA256, no database), for each response.
/// * `check`: MAC and expiry of the request's nonce, before its signature is verified.
/// * `redeem`: `check` again, then the nonce goes to the redemption task, which inserts it
///   into `used_nonces` (`Store::consume_nonces`) on a real SQLite file, after the
///   signature: the one database write every POST makes. One redemption at a time, so each
///   batch is one nonce: the cost at low load, including the hop to the task.
/// * `store_ping`: `Store::ping`, a store call without SQL: the writer connection's `ping`,
///   then the ping sqlx always makes when a connection goes back to the pool, each a round
///   trip to the SQLite worker thread. A batch's `INSERT` makes the same release ping.
/// * `redeem_concurrent`: [`CONCURRENT`] redemptions at once, each in its own task as
///   requests are; batches form while a statement runs, so the time per element is the
///   cost of a redemption under load.
pub(crate) fn nonce_issue_redeem(c: &mut Criterion) {
    let rt = runtime();
    let db = rt.block_on(BenchDb::sqlite());
    // `with_key` spawns the redemption task onto this runtime.
    let nonces = {
        let _entered = rt.enter();
        Arc::new(Nonces::with_key(
            db.store.clone(),
            &[0x42; 32],
            Duration::from_secs(3600),
        ))
    };
    let now = OffsetDateTime::now_utc();

    // The redeem benchmarks must measure successful redemptions, not rejections.
    let nonce = nonces.issue(now);
    let first = rt.block_on(nonces.redeem(&nonce, now));
    assert_eq!(first.expect("redeem"), Ok(()));
    let replay = rt.block_on(nonces.redeem(&nonce, now));
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
                let nonces = &nonces;
                async move {
                    let redeemed = nonces.redeem(&fresh, now).await;
                    assert!(matches!(redeemed, Ok(Ok(()))), "{redeemed:?}");
                }
            },
            BatchSize::SmallInput,
        );
    });
    group.bench_function("store_ping", |b| {
        b.to_async(&rt).iter(|| db.store.ping());
    });
    // Last, so the per-element throughput applies to this benchmark only.
    group.throughput(Throughput::Elements(CONCURRENT as u64));
    group.bench_function(format!("redeem_concurrent/{CONCURRENT}"), |b| {
        b.to_async(&rt).iter_batched(
            || {
                (0..CONCURRENT)
                    .map(|_| nonces.issue(now))
                    .collect::<Vec<_>>()
            },
            |fresh| {
                let nonces = nonces.clone();
                async move {
                    let mut requests = JoinSet::new();
                    for nonce in fresh {
                        let nonces = nonces.clone();
                        requests.spawn(async move { nonces.redeem(&nonce, now).await });
                    }
                    while let Some(redeemed) = requests.join_next().await {
                        let redeemed = redeemed.expect("the redemption task");
                        assert!(matches!(redeemed, Ok(Ok(()))), "{redeemed:?}");
                    }
                }
            },
            BatchSize::SmallInput,
        );
    });
    group.finish();
}
