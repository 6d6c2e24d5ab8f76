//! The finalize sequence without HTTP: which check answers first when several would fail,
//! and what a signing failure or a crash after reserving a serial leaves behind.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::OffsetDateTime;

use basalt_protocol::{ChallengeType, Identifier, Jwk, OrderStatus, ProblemType};
use basalt_signer::{InitOptions, Issuer, PkiPaths, Serial, check_csr, init_pki};
use basalt_storage::{
    AccountRecord, AuthorizationPlan, IssuanceStatus, NewAccount, NewAuthorization, NewChallenge,
    NewIssuance, NewOrder, OrderRecord, ReserveOutcome, StorageConfig, Store, ValidationJob,
    ValidationResult,
};
use basalt_validation::{ValidationConfig, Validator};

use super::{FinalizeInput, finalize, issue};
use crate::config::DirectoryConfig;
use crate::jobs::issuance_recovery;
use crate::problem::AcmeError;

const NAME: &str = "a.test";

struct Fixture {
    _data: tempfile::TempDir,
    /// The key every account signs with unless a test says otherwise.
    account_key: Jwk,
    store: Store,
    validator: Validator,
    directory: DirectoryConfig,
    now: OffsetDateTime,
}

impl Fixture {
    async fn new() -> Self {
        let data = tempfile::tempdir().unwrap();
        let paths = PkiPaths::new(data.path());
        init_pki(
            &paths,
            &InitOptions {
                root_password: Some("finalize test passphrase".into()),
                organization: "basalt finalize tests".into(),
                directory: "default".into(),
            },
        )
        .unwrap();
        let issuer = Issuer::load(
            &paths.intermediate_cert("default"),
            &paths.intermediate_key("default"),
        )
        .unwrap();
        let store = Store::connect(&StorageConfig {
            url: format!(
                "sqlite://{}?mode=rwc",
                data.path().join("basalt.db").display()
            ),
            max_connections: 1,
            acquire_timeout: Duration::from_secs(5),
        })
        .await
        .unwrap();
        let other = rcgen::KeyPair::generate().unwrap();
        let intermediate_id = register(&store, &issuer).await;
        Self {
            _data: data,
            account_key: basalt_signer::public_key_jwk(
                &rcgen::PublicKeyData::subject_public_key_info(&other),
            )
            .unwrap(),
            store,
            validator: Validator::new(ValidationConfig::default()).unwrap(),
            directory: DirectoryConfig {
                check_caa: false,
                ..DirectoryConfig::new("default", Arc::new(issuer), intermediate_id)
            },
            now: OffsetDateTime::now_utc().replace_nanosecond(0).unwrap(),
        }
    }

    /// An account whose key thumbprint is `thumbprint`.
    async fn account(&self, thumbprint: &str) -> AccountRecord {
        self.store
            .insert_account(&NewAccount {
                directory: "default".into(),
                key_thumbprint: thumbprint.into(),
                jwk: "{}".into(),
                contact: vec![],
                terms_of_service_agreed: true,
                now: self.now,
            })
            .await
            .unwrap()
    }

    /// A pending order for [`NAME`] with one http-01 challenge; `ready` validates it.
    async fn order(
        &self,
        account: &AccountRecord,
        not_after: Option<OffsetDateTime>,
        ready: bool,
    ) -> OrderRecord {
        let order = self
            .store
            .create_order(&NewOrder {
                account_id: account.id,
                directory: "default".into(),
                identifiers: vec![Identifier::dns(NAME).unwrap()],
                not_before: None,
                not_after,
                expires_at: self.now + Duration::from_secs(7 * 24 * 3600),
                authorizations: vec![AuthorizationPlan::Create(NewAuthorization {
                    identifier: Identifier::dns(NAME).unwrap(),
                    wildcard: false,
                    expires_at: self.now + Duration::from_secs(7 * 24 * 3600),
                    challenges: vec![NewChallenge {
                        challenge_type: ChallengeType::Http01,
                        token: format!("token-{}", account.id),
                    }],
                })],
                replaces: None,
                now: self.now,
                profile: Some("default".into()),
            })
            .await
            .unwrap();
        if ready {
            let authz = self
                .store
                .authorization(order.authorization_ids[0])
                .await
                .unwrap()
                .unwrap();
            let challenge = &authz.challenges[0];
            let lease = Duration::from_secs(30);
            assert!(
                self.store
                    .start_validation(challenge.id, "acct", "test", self.now, lease)
                    .await
                    .unwrap()
            );
            let job = ValidationJob::new(
                challenge,
                &authz,
                &account.key_thumbprint,
                "default",
                Some("acct".into()),
            );
            self.store
                .record_validation(
                    &job,
                    &ValidationResult::Valid,
                    None,
                    self.now,
                    self.now + Duration::from_secs(24 * 3600),
                )
                .await
                .unwrap();
        }
        self.store.order(order.id).await.unwrap().unwrap()
    }

    async fn finalize(
        &self,
        account: &AccountRecord,
        order_id: i64,
        csr: &str,
        now: OffsetDateTime,
    ) -> Result<OrderRecord, AcmeError> {
        self.finalize_as(account, &self.account_key, order_id, csr, now)
            .await
    }

    async fn finalize_as(
        &self,
        account: &AccountRecord,
        account_key: &Jwk,
        order_id: i64,
        csr: &str,
        now: OffsetDateTime,
    ) -> Result<OrderRecord, AcmeError> {
        let input = FinalizeInput {
            account,
            account_key,
            account_uri: "https://ca.test/acme/default/account/1",
            order_id,
            csr,
            metrics: &crate::Metrics::new(),
        };
        finalize(&self.store, &self.validator, &self.directory, input, now).await
    }

    async fn status(&self, order: &OrderRecord) -> OrderStatus {
        self.store.order(order.id).await.unwrap().unwrap().status
    }
}

/// A CSR for `names` with `key`, base64url as a client sends it.
fn csr(names: &[&str], key: &rcgen::KeyPair) -> String {
    let names = names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
    let mut params = rcgen::CertificateParams::new(names).unwrap();
    // rcgen's default subject is CN="rcgen self signed cert", which no order contains.
    params.distinguished_name = rcgen::DistinguishedName::new();
    let request = params.serialize_request(key).unwrap();
    URL_SAFE_NO_PAD.encode(request.der())
}

fn problem_type(result: Result<OrderRecord, AcmeError>) -> ProblemType {
    match result {
        Err(e) => e.to_problem().0.problem_type,
        Ok(order) => panic!("finalized: {order:?}"),
    }
}

#[tokio::test]
async fn ownership_is_checked_before_anything_else() {
    let f = Fixture::new().await;
    let owner = f.account("owner").await;
    let other = f.account("other").await;
    let order = f.order(&owner, None, false).await;
    // Not the caller's order, not ready, and a CSR that is not base64: 404 wins.
    let refused = f.finalize(&other, order.id, "%%%", f.now).await;
    let AcmeError::Problem(problem) = refused.unwrap_err() else {
        panic!("a problem")
    };
    assert_eq!(problem.status, 404);
}

#[tokio::test]
async fn readiness_is_checked_before_the_csr() {
    let f = Fixture::new().await;
    let account = f.account("acct").await;
    let pending = f.order(&account, None, false).await;
    let refused = f.finalize(&account, pending.id, "%%%", f.now).await;
    assert_eq!(problem_type(refused), ProblemType::OrderNotReady);
    assert_eq!(f.status(&pending).await, OrderStatus::Pending);
}

#[tokio::test]
async fn the_csr_is_checked_on_a_ready_order_and_a_refusal_leaves_it_ready() {
    let f = Fixture::new().await;
    let account = f.account("acct").await;
    let order = f.order(&account, None, true).await;
    assert_eq!(order.status, OrderStatus::Ready);
    let key = rcgen::KeyPair::generate().unwrap();
    for bad in ["%%%".to_owned(), csr(&["other.test"], &key)] {
        let refused = f.finalize(&account, order.id, &bad, f.now).await;
        assert_eq!(problem_type(refused), ProblemType::BadCsr);
    }
    assert_eq!(f.status(&order).await, OrderStatus::Ready);
}

#[tokio::test]
async fn the_account_key_is_refused_after_the_csr_is_parsed() {
    let f = Fixture::new().await;
    let key = rcgen::KeyPair::generate().unwrap();
    let csr = csr(&[NAME], &key);
    let der = URL_SAFE_NO_PAD.decode(&csr).unwrap();
    let key = check_csr(&der, &[Identifier::dns(NAME).unwrap()])
        .unwrap()
        .public_key;
    let account = f.account(&key.thumbprint()).await;
    let order = f.order(&account, None, true).await;
    let refused = f.finalize_as(&account, &key, order.id, &csr, f.now).await;
    assert_eq!(problem_type(refused), ProblemType::BadCsr);
    assert_eq!(f.status(&order).await, OrderStatus::Ready);
}

#[tokio::test]
async fn a_requested_not_after_that_passed_makes_the_order_invalid_after_the_csr_checks() {
    let f = Fixture::new().await;
    let account = f.account("acct").await;
    let order = f
        .order(&account, Some(f.now + Duration::from_secs(3600)), true)
        .await;
    let later = f.now + Duration::from_secs(2 * 3600);
    // A bad CSR is still reported as such: the CSR checks come first.
    let refused = f.finalize(&account, order.id, "%%%", later).await;
    assert_eq!(problem_type(refused), ProblemType::BadCsr);
    assert_eq!(f.status(&order).await, OrderStatus::Ready);
    let key = rcgen::KeyPair::generate().unwrap();
    let refused = f
        .finalize(&account, order.id, &csr(&[NAME], &key), later)
        .await;
    assert_eq!(problem_type(refused), ProblemType::Malformed);
    assert_eq!(f.status(&order).await, OrderStatus::Invalid);
}

#[tokio::test]
async fn a_ready_order_with_a_good_csr_is_issued_and_stored() {
    let f = Fixture::new().await;
    let account = f.account("acct").await;
    let order = f.order(&account, None, true).await;
    let key = rcgen::KeyPair::generate().unwrap();
    let valid = f
        .finalize(&account, order.id, &csr(&[NAME], &key), f.now)
        .await
        .unwrap();
    assert_eq!(valid.status, OrderStatus::Valid);
    let serial = valid.certificate_serial.expect("a serial");
    let stored = f.store.certificate_by_serial(&serial).await.unwrap();
    assert!(stored.is_some(), "the certificate is in the database");
    // Its serial was reserved first, with the CSR's key.
    let issuance = f.store.issuance_by_serial(&serial).await.unwrap().unwrap();
    assert_eq!(issuance.status, IssuanceStatus::Issued);
    assert_eq!(issuance.order_id, order.id);
    assert_eq!(issuance.intermediate_id, f.directory.intermediate_id);
    assert_eq!(issuance.spki_der, spki(&key));
    // Finalizing again is orderNotReady: the order is valid now.
    let again = f
        .finalize(&account, order.id, &csr(&[NAME], &key), f.now)
        .await;
    assert_eq!(problem_type(again), ProblemType::OrderNotReady);
}

/// A reload removed the order's profile: `invalidProfile`, nothing reserved or signed, the
/// order stays ready (the profile may come back; the client may also order anew).
#[tokio::test]
async fn a_profile_removed_since_the_order_is_invalid_profile_and_the_order_stays_ready() {
    let mut f = Fixture::new().await;
    let account = f.account("acct").await;
    let order = f.order(&account, None, true).await;
    let shipped = crate::config::profiles::ProfileSet::shipped(&f.directory.policy);
    let (name, only) = shipped.get("tls-server").unwrap();
    f.directory.profiles = crate::config::profiles::ProfileSet::new(
        name.to_owned(),
        std::collections::BTreeMap::from([(name.to_owned(), only.clone())]),
    )
    .unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let refused = f
        .finalize(&account, order.id, &csr(&[NAME], &key), f.now)
        .await;
    assert_eq!(problem_type(refused), ProblemType::InvalidProfile);
    assert_eq!(f.status(&order).await, OrderStatus::Ready);
    let stored = f.store.order(order.id).await.unwrap().unwrap();
    assert_eq!(stored.certificate_serial, None);
}

#[tokio::test]
async fn a_signing_failure_leaves_the_order_ready_and_the_issuance_failed() {
    let f = Fixture::new().await;
    let account = f.account("acct").await;
    let order = f.order(&account, None, true).await;
    let serial = Serial::random().unwrap();
    let text = serial.text();
    let new = NewIssuance {
        serial: text.clone(),
        intermediate_id: f.directory.intermediate_id,
        spki_der: vec![0x30, 0x00],
        not_before: f.now,
        not_after: f.now + Duration::from_secs(3600),
    };
    let failed = issue::reserve_sign_store(
        &f.store,
        &order,
        serial,
        new,
        f.now,
        issue::Signing::Blocking,
        |_: &Serial| Err(basalt_signer::Error::Signing("the token went away".into())),
    )
    .await;
    assert!(matches!(failed, Err(AcmeError::Signer(_))), "{failed:?}");
    assert_eq!(f.status(&order).await, OrderStatus::Ready);
    let issuance = f.store.issuance_by_serial(&text).await.unwrap().unwrap();
    assert_eq!(issuance.status, IssuanceStatus::Failed);
    assert_eq!(f.store.certificate_by_serial(&text).await.unwrap(), None);
    // The client's retry is issued, under another serial.
    let key = rcgen::KeyPair::generate().unwrap();
    let valid = f
        .finalize(&account, order.id, &csr(&[NAME], &key), f.now)
        .await
        .unwrap();
    assert_ne!(valid.certificate_serial.as_deref(), Some(text.as_str()));
}

#[tokio::test]
async fn a_crash_after_reserving_is_recovered_and_both_serials_are_known() {
    let f = Fixture::new().await;
    let account = f.account("acct").await;
    let order = f.order(&account, None, true).await;
    let key = rcgen::KeyPair::generate().unwrap();
    // A finalization that reserved its serial and died before storing anything.
    let lost = Serial::random().unwrap().text();
    let reserved = f
        .store
        .reserve_issuance(
            &order,
            &NewIssuance {
                serial: lost.clone(),
                intermediate_id: f.directory.intermediate_id,
                spki_der: spki(&key),
                not_before: f.now,
                not_after: f.now + Duration::from_secs(3600),
            },
            f.now,
        )
        .await
        .unwrap();
    assert!(matches!(reserved, ReserveOutcome::Reserved(_)));
    // Meanwhile the order is processing: finalize answers orderNotReady.
    let refused = f
        .finalize(&account, order.id, &csr(&[NAME], &key), f.now)
        .await;
    assert_eq!(problem_type(refused), ProblemType::OrderNotReady);
    assert_eq!(f.status(&order).await, OrderStatus::Processing);

    // A pass before the issuance is stale leaves it alone.
    let early = f.now + Duration::from_secs(60);
    let pass =
        issuance_recovery::run_pass(&f.store, "replica", early, issuance_recovery::STALE_AFTER)
            .await;
    assert_eq!(pass.unwrap(), Some(vec![]));
    assert_eq!(f.status(&order).await, OrderStatus::Processing);

    let later = f.now + issuance_recovery::STALE_AFTER + Duration::from_secs(1);
    let abandoned =
        issuance_recovery::run_pass(&f.store, "replica", later, issuance_recovery::STALE_AFTER)
            .await
            .unwrap()
            .unwrap();
    assert_eq!(abandoned.len(), 1);
    assert_eq!(abandoned[0].serial, lost);
    assert_eq!(abandoned[0].order_id, order.id);
    assert_eq!(f.status(&order).await, OrderStatus::Ready);

    let valid = f
        .finalize(&account, order.id, &csr(&[NAME], &key), later)
        .await
        .unwrap();
    assert_eq!(valid.status, OrderStatus::Valid);
    let issued = valid.certificate_serial.unwrap();
    assert_ne!(issued, lost);
    let first = f.store.issuance_by_serial(&lost).await.unwrap().unwrap();
    assert_eq!(first.status, IssuanceStatus::Abandoned);
    assert_eq!(first.spki_der, spki(&key));
    let second = f.store.issuance_by_serial(&issued).await.unwrap().unwrap();
    assert_eq!(second.status, IssuanceStatus::Issued);
    assert!(
        f.store
            .certificate_by_serial(&issued)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(f.store.certificate_by_serial(&lost).await.unwrap(), None);
}

/// The DER SubjectPublicKeyInfo of `key`, as a CSR carries it.
fn spki(key: &rcgen::KeyPair) -> Vec<u8> {
    rcgen::PublicKeyData::subject_public_key_info(key)
}

/// Registers `issuer` as the `default` area's intermediate; its id.
async fn register(store: &Store, issuer: &Issuer) -> i64 {
    let new = crate::areas::intermediate_record(
        "default",
        issuer,
        "directories/default/intermediate-key.pem",
    );
    store
        .adopt_intermediate(&new, OffsetDateTime::now_utc())
        .await
        .unwrap()[0]
        .id
}
