//! `csr_check_and_sign`: the CPU work of finalize for one name: accepting the client's CSR
//! and signing the leaf with the intermediate. Also owns the throwaway PKI, which `orders.rs`
//! borrows for a certificate of real size.

use std::hint::black_box;
use std::sync::OnceLock;

use criterion::Criterion;
use rcgen::{CertificateParams, DistinguishedName, KeyPair, PKCS_ECDSA_P256_SHA256};
use time::{Duration, OffsetDateTime};

use basalt_protocol::Identifier;
use basalt_signer::{
    CheckedCsr, InitOptions, IssueRequest, IssuedCertificate, Issuer, PkiPaths, check_csr, init_pki,
};

/// The one name of the benchmark order.
const NAME: &str = "a.test";

/// An intermediate ready to sign, and a finalize request for one name.
pub(crate) struct Pki {
    issuer: Issuer,
    identifiers: Vec<Identifier>,
    /// DER PKCS#10 for [`NAME`] (SAN only, empty subject) from a fresh P-256 key.
    csr_der: Vec<u8>,
    checked: CheckedCsr,
}

impl Pki {
    /// Built once per process: `init_pki` runs scrypt for the root key, which takes a while.
    pub(crate) fn shared() -> &'static Self {
        static PKI: OnceLock<Pki> = OnceLock::new();
        PKI.get_or_init(Self::new)
    }

    fn new() -> Self {
        // The intermediate is loaded into memory; the directory is not needed afterwards.
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let paths = PkiPaths::new(dir.path());
        let options = InitOptions {
            root_password: Some("benchmark root password".into()),
            ..InitOptions::default()
        };
        init_pki(&paths, &options).expect("init a PKI");
        let issuer = Issuer::load(
            &paths.intermediate_cert(&options.directory),
            &paths.intermediate_key(&options.directory),
        )
        .expect("load the intermediate");

        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("generate a P-256 key");
        let mut params = CertificateParams::new(vec![NAME.to_owned()]).expect("CSR parameters");
        params.distinguished_name = DistinguishedName::new();
        let csr_der = params
            .serialize_request(&key)
            .expect("sign the CSR")
            .der()
            .to_vec();
        let identifiers = vec![Identifier::dns(NAME).unwrap()];
        let checked = check_csr(&csr_der, &identifiers).expect("the benchmark CSR is accepted");
        Self {
            issuer,
            identifiers,
            csr_der,
            checked,
        }
    }

    /// The accepted benchmark CSR.
    pub(crate) fn checked_csr(&self) -> &CheckedCsr {
        &self.checked
    }

    /// Signs a 90-day leaf, as finalize does once the CSR is accepted.
    pub(crate) fn issue(&self, csr: &CheckedCsr) -> IssuedCertificate {
        let not_before = OffsetDateTime::now_utc();
        let profile = basalt_signer::LeafProfile::acme_default("default");
        self.issuer
            .issue(&IssueRequest {
                serial: &basalt_signer::Serial::random().unwrap(),
                csr,
                identifiers: &self.identifiers,
                not_before,
                not_after: not_before + Duration::days(90),
                crl_url: None,
                ca_issuers_url: None,
                profile: &profile,
            })
            .expect("issue the leaf")
    }
}

/// Finalize runs once per certificate, and is the only request that signs:
///
/// * `check_csr`: `basalt_signer::check_csr` alone: DER parse, key policy, the CSR's
///   self-signature (one P-256 verification) and the name match.
/// * `issue`: `Issuer::issue` alone for an accepted CSR: serial, the leaf profile, DER
///   encoding, one P-256 signature by the intermediate, and the PEM chain.
/// * `check_and_issue`: both, as finalize runs them (without the database, see
///   `order_db_writes`, or the JWS, see `jws_verify`).
///
/// No tracing subscriber is installed, so the audit events around the signature cost nothing
/// here; in `serve` they are formatted and written.
pub(crate) fn csr_check_and_sign(c: &mut Criterion) {
    let pki = Pki::shared();
    let mut group = c.benchmark_group("csr_check_and_sign");
    group.bench_function("check_csr", |b| {
        b.iter(|| check_csr(black_box(&pki.csr_der), black_box(&pki.identifiers)));
    });
    group.bench_function("issue", |b| b.iter(|| pki.issue(black_box(&pki.checked))));
    group.bench_function("check_and_issue", |b| {
        b.iter(|| {
            let checked = check_csr(black_box(&pki.csr_der), black_box(&pki.identifiers))
                .expect("the benchmark CSR is accepted");
            pki.issue(&checked)
        });
    });
    group.finish();
}
