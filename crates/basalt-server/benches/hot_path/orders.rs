//! `order_db_writes`: the database work of one certificate, from newOrder to finalize, on a
//! real SQLite file: the total per order, and each store call on its own.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode};
use time::OffsetDateTime;

use basalt_protocol::{ChallengeType, Identifier};
use basalt_signer::IssuedCertificate;
use basalt_storage::{
    AuthorizationPlan, NewAccount, NewAuthorization, NewCertificate, NewChallenge, NewIssuance,
    NewOrder, OrderRecord, ReserveOutcome, Store, ValidationJob, ValidationResult,
};

use crate::csr::Pki;
use crate::sqlite::{BenchDb, runtime};

/// The account URL the client used, stored on the challenge for CAA (RFC 8657).
const ACCOUNT_URI: &str = "https://localhost:8443/acme/default/account/1";
/// What the http-01 validator records about a successful fetch, roughly.
const VALIDATION_RECORD: &str = r#"{"url":"http://a.test/.well-known/acme-challenge/0123456789abcdef0123456789abcdef0123456789a","hostname":"a.test","port":80,"addresses_resolved":["192.0.2.1"],"address_used":"192.0.2.1"}"#;

/// The store calls of one order, in the order the flow makes them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    /// newOrder: the order, one authorization and its three challenges, in one transaction.
    CreateOrder,
    /// The authorization with its challenges: the read that tells which challenge to start
    /// (the client's authorization fetch and challenge POST read it too).
    AuthorizationRead,
    /// Challenge POST: pending → processing and claimed by this replica's lease, one
    /// compare-and-set.
    StartValidation,
    /// The worker records success: challenge, authorization and order (→ ready), one
    /// transaction.
    RecordValidation,
    /// Finalize's two commits (the signature between them is not timed): reserve the
    /// serial (ready → processing, insert the issuance, fsync), then store (issuance
    /// issued, certificate inserted, order valid, fsync). Named `finalize_order` as before
    /// so results compare across builds.
    FinalizeOrder,
}

impl Step {
    const ALL: [Self; 5] = [
        Self::CreateOrder,
        Self::AuthorizationRead,
        Self::StartValidation,
        Self::RecordValidation,
        Self::FinalizeOrder,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::CreateOrder => "create_order",
            Self::AuthorizationRead => "authorization_read",
            Self::StartValidation => "start_validation",
            Self::RecordValidation => "record_validation",
            Self::FinalizeOrder => "finalize_order",
        }
    }

    /// True for the four writes the total counts.
    fn is_write(self) -> bool {
        self != Self::AuthorizationRead
    }
}

/// How long each step of one order took.
#[derive(Default)]
struct Timings([Duration; Step::ALL.len()]);

impl Timings {
    fn of(&self, step: Step) -> Duration {
        self.0[step as usize]
    }

    fn writes(&self) -> Duration {
        Step::ALL
            .into_iter()
            .filter(|s| s.is_write())
            .map(|s| self.of(s))
            .sum()
    }
}

/// One account's orders, driven one after another through the store.
struct OrderFlow {
    store: Store,
    account_id: i64,
    /// Makes tokens and serials unique across every order of the run.
    counter: AtomicU64,
    /// A real leaf and chain, so the certificate row has the size it has in production.
    certificate: IssuedCertificate,
}

impl OrderFlow {
    async fn new(store: Store) -> Self {
        let pki = Pki::shared();
        let certificate = pki.issue(pki.checked_csr());
        let account = store
            .insert_account(&NewAccount {
                directory: "default".into(),
                key_thumbprint: "bench-account-thumbprint-0123456789abcdefghijk".into(),
                jwk: r#"{"crv":"P-256","kty":"EC","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#.into(),
                contact: vec!["mailto:admin@a.test".into()],
                terms_of_service_agreed: true,
                now: OffsetDateTime::now_utc(),
            })
            .await
            .expect("insert the benchmark account");
        Self {
            store,
            account_id: account.id,
            counter: AtomicU64::new(0),
            certificate,
        }
    }

    /// Runs one new order through the store up to and including `last`, timing each call.
    /// Everything the server computes without the database (tokens, the certificate) is
    /// prepared outside the timed calls.
    async fn run(&self, last: Step) -> Timings {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let now = OffsetDateTime::now_utc();
        let mut times = Timings::default();

        let new_order = self.new_order(n, now);
        let order = timed(
            &mut times,
            Step::CreateOrder,
            self.store.create_order(&new_order),
        )
        .await
        .expect("create_order");
        if last == Step::CreateOrder {
            return times;
        }

        let authorization = timed(
            &mut times,
            Step::AuthorizationRead,
            self.store.authorization(order.authorization_ids[0]),
        )
        .await
        .expect("authorization")
        .expect("the order's authorization exists");
        let http01 = authorization
            .challenges
            .iter()
            .find(|c| c.challenge_type == ChallengeType::Http01)
            .expect("an http-01 challenge");
        let challenge = http01.id;
        // What the challenge POST hands the worker (built from records it already holds).
        let job = ValidationJob::new(
            http01,
            &authorization,
            "bench",
            &order.directory,
            Some(ACCOUNT_URI.to_owned()),
        );
        if last == Step::AuthorizationRead {
            return times;
        }

        let started = timed(
            &mut times,
            Step::StartValidation,
            self.store.start_validation(
                challenge,
                ACCOUNT_URI,
                "bench",
                now,
                Duration::from_secs(30),
            ),
        )
        .await
        .expect("start_validation");
        assert!(started, "the challenge was pending");
        if last == Step::StartValidation {
            return times;
        }

        timed(
            &mut times,
            Step::RecordValidation,
            self.store.record_validation(
                &job,
                &ValidationResult::Valid,
                Some(VALIDATION_RECORD),
                now,
                now + Duration::from_secs(30 * 24 * 3600),
            ),
        )
        .await
        .expect("record_validation");
        if last == Step::RecordValidation {
            return times;
        }

        let serial = format!("{n:040x}");
        let new_certificate = self.new_certificate(&order, serial.clone());
        let reservation = NewIssuance {
            serial,
            intermediate_id: 1,
            spki_der: self.certificate.der.clone(),
            not_before: self.certificate.not_before,
            not_after: self.certificate.not_after,
        };
        let issued = timed(&mut times, Step::FinalizeOrder, async {
            let ReserveOutcome::Reserved(reserved) = self
                .store
                .reserve_issuance(&order, &reservation, now)
                .await
                .expect("reserve_issuance")
            else {
                panic!("the order was ready");
            };
            self.store
                .complete_issuance(reserved.id, &new_certificate, now)
                .await
        })
        .await
        .expect("complete_issuance");
        assert_eq!(issued.0.status, basalt_protocol::OrderStatus::Valid);
        times
    }

    /// newOrder for one DNS name: one new authorization with the three challenges basalt
    /// offers for it (`challenge_types`), tokens of the real length (43 characters).
    fn new_order(&self, n: u64, now: OffsetDateTime) -> NewOrder {
        let identifier = Identifier::dns("a.test").unwrap();
        let week = now + Duration::from_secs(7 * 24 * 3600);
        let challenges = [
            ChallengeType::Http01,
            ChallengeType::Dns01,
            ChallengeType::TlsAlpn01,
        ]
        .into_iter()
        .enumerate()
        .map(|(i, challenge_type)| NewChallenge {
            challenge_type,
            token: format!("{:043}", n * 3 + i as u64),
        })
        .collect();
        NewOrder {
            account_id: self.account_id,
            directory: "default".into(),
            identifiers: vec![identifier.clone()],
            not_before: None,
            not_after: None,
            expires_at: week,
            authorizations: vec![AuthorizationPlan::Create(NewAuthorization {
                identifier,
                wildcard: false,
                expires_at: week,
                challenges,
            })],
            replaces: None,
            now,
            profile: Some("default".into()),
        }
    }

    fn new_certificate(&self, order: &OrderRecord, serial: String) -> NewCertificate {
        NewCertificate {
            serial,
            der: self.certificate.der.clone(),
            chain_pem: self.certificate.chain_pem.clone(),
            names: order.identifiers.clone(),
            not_before: self.certificate.not_before,
            not_after: self.certificate.not_after,
            intermediate_id: None,
            profile: order.profile.clone(),
        }
    }
}

/// Awaits `call`, recording how long it took as `step`.
async fn timed<T>(times: &mut Timings, step: Step, call: impl Future<Output = T>) -> T {
    let start = Instant::now();
    let output = call.await;
    times.0[step as usize] = start.elapsed();
    output
}

/// The database cost of one certificate for one name, on SQLite:
///
/// * `total`: the four writes of an order's life (create_order, start_validation,
///   record_validation, finalize_order: reserve + complete), summed per order. The one read between them is
///   timed separately and left out.
/// * `kid_account_read`: `Store::account`, the lookup a `kid` POST makes before its
///   signature can be checked when the account is not in the server's account cache (then
///   `account_key` parses the stored JWK, see `jws_verify`).
/// * `step/<call>`: each store call alone (orders are driven up to that call; only the call
///   is timed). Short windows (1 s of timed calls, 10 samples): each sample also runs the
///   untimed earlier steps, and these numbers are for proportions, not for the total.
///
/// Not included: the nonce insert every POST makes (`nonce_issue_redeem`), the reads of
/// polling, and finalize's signature (made between the reservation and the store in `serve`,
/// here a ready-made certificate).
pub(crate) fn order_db_writes(c: &mut Criterion) {
    let rt = runtime();
    let db = rt.block_on(BenchDb::sqlite());
    let flow = rt.block_on(OrderFlow::new(db.store.clone()));
    let mut group = c.benchmark_group("order_db_writes");
    // Milliseconds per iteration: flat sampling, so 20 samples fit the 3 s window.
    group.sampling_mode(SamplingMode::Flat).sample_size(20);
    group.bench_function("total", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let flow = &flow;
            async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += flow.run(Step::FinalizeOrder).await.writes();
                }
                total
            }
        });
    });
    group.bench_function("kid_account_read", |b| {
        b.to_async(&rt).iter(|| async {
            let account = flow.store.account(flow.account_id).await;
            assert!(matches!(account, Ok(Some(_))), "{account:?}");
        });
    });
    // Each sample also runs the untimed earlier steps, so a window of 1 s of timed calls takes
    // up to 5 s of wall time.
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    for step in Step::ALL {
        group.bench_function(format!("step/{}", step.name()), |b| {
            b.to_async(&rt).iter_custom(|iters| {
                let flow = &flow;
                async move {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        total += flow.run(step).await.of(step);
                    }
                    total
                }
            });
        });
    }
    group.finish();
}
