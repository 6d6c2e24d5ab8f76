//! A data directory whose SQLite database holds a known set of areas, accounts, orders and
//! certificates, written through basalt-storage as `serve` would, and a way to run the real
//! `basalt` binary against it.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use basalt_protocol::{ChallengeType, Identifier};
use basalt_storage::{
    AuthorizationPlan, IntermediateRecord, NewAccount, NewAuthorization, NewCertificate,
    NewChallenge, NewIntermediate, NewIssuance, NewOrder, ReserveOutcome, StorageConfig, Store,
    ValidationJob, ValidationResult,
};
use time::OffsetDateTime;

const DAY: time::Duration = time::Duration::days(1);

/// What the fixture stored.
pub(crate) struct Fixture {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) store: Store,
    pub(crate) prod: IntermediateRecord,
    /// Accounts: `alice` in prod, `bob` in dev.
    pub(crate) alice: i64,
    pub(crate) bob: i64,
    /// The order of certificate 0a1b.
    pub(crate) order_id: i64,
}

/// Certificates (serial, area, account, names, lifetime from now):
/// * `0a1b`: prod, alice, a.test + www.a.test, valid for 30 days;
/// * `0c`: prod, alice, b.test, expired a day ago;
/// * `0d`: dev, bob, a.test, valid for 2 hours (no intermediate: issued before adoption).
pub(crate) async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("basalt.db").display()
    );
    let store = Store::connect(&StorageConfig {
        url,
        max_connections: 2,
        acquire_timeout: Duration::from_secs(5),
    })
    .await
    .unwrap();
    let now = OffsetDateTime::now_utc();
    let prod = store
        .add_area(
            &NewIntermediate {
                area: "prod".into(),
                key_id: "ab".repeat(32),
                subject: "CN=basalt prod intermediate".into(),
                certificate_pem: "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n"
                    .into(),
                key_ref: "directories/prod/intermediate-key.pem".into(),
                not_before: now,
                not_after: now + 365 * DAY,
            },
            now,
        )
        .await
        .unwrap();
    let alice = account(&store, "prod", "alice", now).await;
    let bob = account(&store, "dev", "bob", now).await;
    let order_id = issue(
        &store,
        alice,
        "prod",
        "0a1b",
        &["a.test", "www.a.test"],
        now + 30 * DAY,
        Some(prod.id),
        now,
    )
    .await;
    issue(
        &store,
        alice,
        "prod",
        "0c",
        &["b.test"],
        now - DAY,
        Some(prod.id),
        now,
    )
    .await;
    issue(
        &store,
        bob,
        "dev",
        "0d",
        &["a.test"],
        now + time::Duration::hours(2),
        None,
        now,
    )
    .await;
    Fixture {
        dir,
        store,
        prod,
        alice,
        bob,
        order_id,
    }
}

async fn account(store: &Store, area: &str, name: &str, now: OffsetDateTime) -> i64 {
    store
        .insert_account(&NewAccount {
            directory: area.into(),
            key_thumbprint: format!("thumb-{name}"),
            jwk: format!(r#"{{"kty":"EC","crv":"P-256","x":"{name}","y":"{name}"}}"#),
            contact: vec![format!("mailto:{name}@example.test")],
            terms_of_service_agreed: true,
            now,
        })
        .await
        .unwrap()
        .id
}

/// Issues a certificate through a validated order, as finalize does; returns the order id.
#[allow(clippy::too_many_arguments)]
async fn issue(
    store: &Store,
    account_id: i64,
    area: &str,
    serial: &str,
    names: &[&str],
    not_after: OffsetDateTime,
    intermediate_id: Option<i64>,
    now: OffsetDateTime,
) -> i64 {
    let identifier = Identifier::dns(names[0]).unwrap();
    let order = store
        .create_order(&NewOrder {
            account_id,
            directory: area.into(),
            identifiers: vec![identifier.clone()],
            not_before: None,
            not_after: None,
            expires_at: now + 7 * DAY,
            authorizations: vec![AuthorizationPlan::Create(NewAuthorization {
                identifier,
                wildcard: false,
                expires_at: now + 7 * DAY,
                challenges: vec![NewChallenge {
                    challenge_type: ChallengeType::Http01,
                    token: format!("token-{serial}"),
                }],
            })],
            replaces: None,
            now,
            profile: Some("tls-server".into()),
        })
        .await
        .unwrap();
    let authorization = store
        .authorization(order.authorization_ids[0])
        .await
        .unwrap()
        .unwrap();
    let challenge = &authorization.challenges[0];
    let account_uri = format!("https://ca.test/acme/{area}/account/{account_id}");
    assert!(
        store
            .start_validation(
                challenge.id,
                &account_uri,
                "test",
                now,
                Duration::from_secs(30)
            )
            .await
            .unwrap()
    );
    let job = ValidationJob::new(
        challenge,
        &authorization,
        &format!("thumb-{account_id}"),
        area,
        Some(account_uri),
    );
    store
        .record_validation(&job, &ValidationResult::Valid, None, now, now + 30 * DAY)
        .await
        .unwrap();
    let order = store.order(order.id).await.unwrap().unwrap();
    let new = NewCertificate {
        serial: serial.into(),
        der: vec![0x30, 0x03, 0x02, 0x01, 0x01],
        chain_pem: format!("-----BEGIN CERTIFICATE-----\n{serial}==\n-----END CERTIFICATE-----\n"),
        names: names.iter().map(|n| Identifier::dns(n).unwrap()).collect(),
        not_before: now - DAY,
        not_after,
        intermediate_id,
        profile: Some("tls-server".into()),
    };
    let reservation = NewIssuance {
        serial: serial.into(),
        intermediate_id: intermediate_id.unwrap_or(1),
        spki_der: vec![0x30, 0x00],
        not_before: new.not_before,
        not_after: new.not_after,
    };
    let ReserveOutcome::Reserved(reserved) = store
        .reserve_issuance(&order, &reservation, now)
        .await
        .unwrap()
    else {
        panic!("order {} was not ready", order.id);
    };
    let (order, _) = store
        .complete_issuance(reserved.id, &new, now)
        .await
        .unwrap();
    order.id
}

/// Runs `basalt ARGS --data DIR` (with no database URL or data directory from the
/// environment).
pub(crate) fn basalt(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_basalt"))
        .args(args)
        .arg("--data")
        .arg(data)
        .env_remove("BASALT_DATABASE_URL")
        .env_remove("BASALT_DATA")
        .output()
        .expect("run basalt")
}

/// stdout of a run that must succeed.
pub(crate) fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "basalt failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// stderr of a run that must fail.
pub(crate) fn fails(output: &Output) -> String {
    assert!(
        !output.status.success(),
        "basalt succeeded: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// stdout of a successful `--json` run, parsed.
pub(crate) fn json(output: &Output) -> serde_json::Value {
    let text = ok(output);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}
