//! The test harness: a server on a temp data dir and a client that signs like an ACME client.

#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwk::Jwk as JoseJwk;
use josekit::jws::{ES256, JwsHeaderSet, JwsSigner, RS256};
use serde_json::{Value, json};
use tower::ServiceExt;

use basalt_server::SystemClock;
use basalt_server::{
    AreaHandle, AreaSet, ConnectionSettings, DirectoryConfig, DirectoryMetaConfig, ServerConfig,
    ValidationQueueLimits,
};
use basalt_server::{Server, SigningIntermediate, intermediate_record};
use basalt_signer::{
    InitOptions, IntermediateKeyAlgorithm, IntermediateOptions, Issuer, KeySource, NameConstraints,
    PkiPaths, create_intermediate, init_pki,
};
use basalt_storage::{NewIntermediate, StorageConfig, Store};
use basalt_testkit::dns::TestDns;
use basalt_validation::{EgressPolicy, ValidationConfig, Validator};

pub const ORIGIN: &str = "https://localhost:8443";
pub const HOST: &str = "localhost:8443";
/// The root key's passphrase `TestCa` gives `init_pki`.
pub const ROOT_PASSPHRASE: &str = "test root passphrase";

pub fn url(path: &str) -> String {
    area_url("default", path)
}

/// A URL of the ACME directory (area) `area`.
pub fn area_url(area: &str, path: &str) -> String {
    format!("{ORIGIN}/acme/{area}{path}")
}

/// Key authorizations the http-01 responder serves, by token.
pub type Responses = Arc<Mutex<HashMap<String, String>>>;

pub struct TestCa {
    pub router: Router,
    pub store: Store,
    pub data: tempfile::TempDir,
    pub dns: TestDns,
    pub responses: Responses,
    pub server_tasks: Vec<tokio::task::JoinHandle<()>>,
    pub resolver: Arc<basalt_server::ServingCertResolver>,
    pub http_port: u16,
    /// The running server's areas (tests replace them as a reload would).
    pub areas: AreaHandle,
    /// The plain-HTTP PKI listener's routes (CRLs, root, intermediates).
    pub pki_router: Router,
    /// The metrics listener's routes (`/metrics`, `/healthz`, `/readyz`).
    pub metrics_router: Router,
    /// The `default` area as the server started with it (after `Options::area`), for tests
    /// that build a replacement from it.
    pub default_area: DirectoryConfig,
    orders_per_page: u64,
}

impl Drop for TestCa {
    fn drop(&mut self) {
        for t in &self.server_tasks {
            t.abort();
        }
    }
}

pub struct Options {
    pub orders_per_page: u64,
    pub terms_of_service: Option<String>,
    /// A clock the test moves; the system clock when `None`.
    pub clock: Option<basalt_server::ManualClock>,
    /// Timeouts and caps of the listener (tests that serve TLS).
    pub connections: ConnectionSettings,
    pub validation_queue: ValidationQueueLimits,
    /// Port every http-01 fetch connects to; the test responder's when `None`.
    pub http01_port: Option<u16>,
    /// Deadline of one validation attempt.
    pub attempt_timeout: Duration,
    /// The directory's own egress policy; the validator's (loopback allowed) when `None`.
    pub directory_egress: Option<EgressPolicy>,
    /// The directory's `allow_reserved_identifiers`: tests that order 127.0.0.1 or ::1 (the
    /// only addresses their responders listen on) opt in; off, as in production, otherwise.
    pub allow_reserved_identifiers: bool,
    /// Adjusts the `default` area (its name policy, challenge or key types, PKI URLs, ...)
    /// after the fields above are applied.
    pub area: fn(DirectoryConfig) -> DirectoryConfig,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            orders_per_page: 100,
            terms_of_service: None,
            clock: None,
            connections: ConnectionSettings::default(),
            validation_queue: ValidationQueueLimits::default(),
            http01_port: None,
            attempt_timeout: Duration::from_secs(5),
            directory_egress: None,
            allow_reserved_identifiers: false,
            area: |area| area,
        }
    }
}

impl TestCa {
    pub async fn start() -> Self {
        Self::start_with(Options::default()).await
    }

    /// A CA whose directory allows reserved identifiers (`allow_reserved_identifiers`): the
    /// tests' responders listen on 127.0.0.1 and ::1 only, and no test may dial anything else.
    pub async fn start_allowing_reserved() -> Self {
        Self::start_with(Options {
            allow_reserved_identifiers: true,
            ..Options::default()
        })
        .await
    }

    pub async fn start_with(options: Options) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let data = tempfile::tempdir().unwrap();
        let paths = PkiPaths::new(data.path());
        init_pki(
            &paths,
            &InitOptions {
                root_password: Some(ROOT_PASSPHRASE.into()),
                organization: "basalt tests".into(),
                directory: "default".into(),
            },
        )
        .unwrap();
        let dns = TestDns::start("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let (responses, http_port) = start_http01_responder().await;
        Self::build(data, dns, responses, http_port, options).await
    }

    /// Stops this server and starts a new one on the same data directory and database, as
    /// a process restart would: nothing held in memory survives.
    pub async fn restart(self) -> Self {
        let mut this = self;
        for t in this.server_tasks.drain(..) {
            t.abort();
        }
        let data = std::mem::replace(&mut this.data, tempfile::tempdir().unwrap());
        let dns = std::mem::replace(
            &mut this.dns,
            TestDns::start("127.0.0.1:0".parse().unwrap())
                .await
                .unwrap(),
        );
        let responses = this.responses.clone();
        let port = this.http_port;
        let options = Options {
            orders_per_page: this.orders_per_page,
            ..Options::default()
        };
        drop(this);
        Self::build(data, dns, responses, port, options).await
    }

    async fn build(
        data: tempfile::TempDir,
        dns: TestDns,
        responses: Responses,
        http_port: u16,
        options: Options,
    ) -> Self {
        let paths = PkiPaths::new(data.path());
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
        let intermediate_id = store
            .adopt_intermediate(
                &intermediate_record(
                    "default",
                    &issuer,
                    "directories/default/intermediate-key.pem",
                ),
                time::OffsetDateTime::now_utc(),
            )
            .await
            .unwrap()[0]
            .id;
        let validator = Validator::new(ValidationConfig {
            http01_port: options.http01_port.unwrap_or(http_port),
            resolvers: vec![dns.addr()],
            connect_timeout: Duration::from_secs(2),
            attempt_timeout: options.attempt_timeout,
            // The responders and the test DNS's default answers are loopback, which the
            // default egress policy refuses.
            egress: EgressPolicy {
                allow: vec!["127.0.0.0/8".parse().unwrap(), "::1".parse().unwrap()],
                deny: vec![],
            },
            ..ValidationConfig::default()
        })
        .unwrap();
        let orders_per_page = options.orders_per_page;
        let default_area = (options.area)(DirectoryConfig {
            meta: DirectoryMetaConfig {
                terms_of_service: options.terms_of_service,
                website: None,
                caa_identities: vec!["basalt".into()],
            },
            egress: options.directory_egress,
            allow_reserved_identifiers: options.allow_reserved_identifiers,
            ..DirectoryConfig::new("default", Arc::new(issuer), intermediate_id)
        });
        let config = ServerConfig {
            root_pem: std::fs::read_to_string(paths.root_cert()).unwrap(),
            listen: "127.0.0.1:8443".parse().unwrap(),
            serving_names: vec![],
            serving_certificate_lifetime: Duration::from_secs(7 * 24 * 3600),
            areas: AreaSet {
                directories: vec![default_area.clone()],
                retiring: vec![],
            },
            nonce_lifetime: Duration::from_secs(3600),
            account_cache_ttl: Duration::from_secs(5),
            validation_concurrency: 8,
            validation_lease: Duration::from_secs(30),
            valid_authorization_lifetime: Duration::from_secs(30 * 24 * 3600),
            orders_per_page,
            issuance_stale_after: basalt_server::DEFAULT_ISSUANCE_STALE_AFTER,
            max_request_bytes: 64 * 1024,
            connections: options.connections,
            validation_queue: options.validation_queue,
            metrics: basalt_server::Metrics::new(),
        };
        let clock: Arc<dyn basalt_server::Clock> = match options.clock {
            Some(manual) => Arc::new(manual),
            None => Arc::new(SystemClock),
        };
        let server = Server::new(store.clone(), Arc::new(validator), config, clock)
            .await
            .unwrap();
        let router = server.router();
        let pki_router = server.pki_router();
        let metrics_router = server.metrics_router();
        let areas = server.areas();
        let resolver = server.serving_certificate();
        let server_tasks = server.spawn_background();
        Self {
            router,
            store,
            data,
            dns,
            responses,
            server_tasks,
            resolver,
            http_port,
            areas,
            pki_router,
            metrics_router,
            default_area,
            orders_per_page,
        }
    }

    /// A new intermediate for `area`, signed by the test root (as `basalt area add` / `area
    /// rotate` make one), its key written 0600 under the data directory; not yet registered
    /// in the database: returns the loaded issuer and the row to register.
    pub fn new_intermediate(
        &self,
        area: &str,
        name_constraints: Option<NameConstraints>,
    ) -> (Arc<Issuer>, NewIntermediate) {
        use std::os::unix::fs::PermissionsExt as _;
        let paths = PkiPaths::new(self.data.path());
        let created = create_intermediate(
            &paths,
            &paths.root_key(),
            &ROOT_PASSPHRASE.into(),
            &IntermediateOptions {
                area: area.into(),
                algorithm: IntermediateKeyAlgorithm::P256,
                name_constraints,
                key_passphrase: None,
            },
        )
        .unwrap();
        let key_ref = format!(
            "directories/{area}/intermediate-{}-key.pem",
            &created.key_id[..16]
        );
        let key_path = self.data.path().join(&key_ref);
        std::fs::create_dir_all(key_path.parent().unwrap()).unwrap();
        std::fs::write(&key_path, created.key_pem.as_bytes()).unwrap();
        std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let issuer = Issuer::from_certificate_pem(
            &created.certificate_pem,
            &KeySource::File {
                path: key_path.clone(),
                passphrase: None,
            },
        )
        .unwrap();
        assert_eq!(issuer.key_id(), created.key_id);
        let new = intermediate_record(area, &issuer, &key_ref);
        (Arc::new(issuer), new)
    }

    /// Rotates the `default` area as `basalt area rotate` and a reload would: a new
    /// intermediate becomes active in the database and in the server, the current one
    /// retiring. Returns the new issuer and both rows (retiring, active).
    pub async fn rotate_default(
        &self,
    ) -> (
        Arc<Issuer>,
        basalt_storage::IntermediateRecord,
        basalt_storage::IntermediateRecord,
    ) {
        let (new_issuer, new) = self.new_intermediate("default", None);
        let (retiring, active) = self
            .store
            .rotate_intermediate(&new, time::OffsetDateTime::now_utc())
            .await
            .unwrap();
        self.areas
            .replace(AreaSet {
                directories: vec![DirectoryConfig {
                    issuer: new_issuer.clone(),
                    intermediate_id: active.id,
                    ..self.default_area.clone()
                }],
                retiring: vec![SigningIntermediate {
                    id: retiring.id,
                    area: "default".into(),
                    issuer: self.default_area.issuer.clone(),
                }],
            })
            .unwrap();
        (new_issuer, retiring, active)
    }

    /// Sends a GET through the PKI listener's router.
    pub async fn pki_get(&self, path: &str) -> Reply {
        get_via(&self.pki_router, path).await
    }

    /// Sends a GET through the metrics listener's router.
    pub async fn metrics_get(&self, path: &str) -> Reply {
        get_via(&self.metrics_router, path).await
    }

    pub fn root_pem(&self) -> String {
        std::fs::read_to_string(PkiPaths::new(self.data.path()).root_cert()).unwrap()
    }

    pub fn intermediate_pem(&self) -> String {
        std::fs::read_to_string(PkiPaths::new(self.data.path()).intermediate_cert("default"))
            .unwrap()
    }

    /// Sends a request through the router and returns status, headers and body.
    pub async fn send(&self, request: Request<Body>) -> Reply {
        reply_of(&self.router, request).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(
            Request::builder()
                .method(Method::GET)
                .uri(path)
                .header("host", HOST)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    pub async fn nonce(&self) -> String {
        let reply = self
            .send(
                Request::builder()
                    .method(Method::HEAD)
                    .uri("/acme/default/new-nonce")
                    .header("host", HOST)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        reply
            .header("replay-nonce")
            .expect("newNonce gives a nonce")
    }

    /// POSTs a raw body with the ACME content type to a full URL of this server.
    pub async fn post_raw(&self, full_url: &str, body: Vec<u8>, content_type: &str) -> Reply {
        let path = full_url.strip_prefix(ORIGIN).expect("a URL of this server");
        self.send(
            Request::builder()
                .method(Method::POST)
                .uri(path)
                .header("host", HOST)
                .header("content-type", content_type)
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    pub fn links(&self) -> Vec<String> {
        self.headers
            .get_all("link")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_owned)
            .collect()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.body)))
    }

    /// Asserts the HTTP status, showing the body when it differs.
    #[track_caller]
    pub fn assert_status(&self, status: StatusCode) {
        assert_eq!(
            self.status,
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
    }

    /// Asserts a problem document of this type and status, with a fresh nonce.
    #[track_caller]
    pub fn assert_problem(&self, problem: &str, status: u16) -> Value {
        assert_eq!(
            self.header("content-type").as_deref(),
            Some("application/problem+json"),
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        let body = self.json();
        assert_eq!(
            body["type"],
            format!("urn:ietf:params:acme:error:{problem}"),
            "body: {body}"
        );
        assert_eq!(self.status.as_u16(), status, "body: {body}");
        assert!(
            body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "a detail: {body}"
        );
        body
    }
}

/// An ACME account key and what the client knows about its account.
pub struct Client {
    pub key: JoseJwk,
    pub public: JoseJwk,
    signer: Box<dyn JwsSigner>,
    pub kid: Option<String>,
    /// The same key as PKCS#8 PEM (for CSRs signed with the account key).
    pub pkcs8_pem: String,
}

pub enum Auth<'a> {
    Jwk,
    Kid(&'a str),
}

impl Client {
    pub fn new() -> Self {
        Self::from_pkcs8_pem(rcgen::KeyPair::generate().unwrap().serialize_pem())
    }

    /// A client signing with a given P-256 key (e.g. a certificate's key).
    pub fn from_pkcs8_pem(pkcs8_pem: String) -> Self {
        let pair = josekit::jwk::alg::ec::EcKeyPair::from_pem(pkcs8_pem.as_bytes(), None).unwrap();
        let key = pair.to_jwk_private_key();
        let signer = Box::new(ES256.signer_from_jwk(&key).unwrap());
        Self {
            public: pair.to_jwk_public_key(),
            key,
            signer,
            kid: None,
            pkcs8_pem,
        }
    }

    /// A client signing RS256 with a given RSA key (PKCS#8 PEM).
    pub fn from_rsa_pkcs8_pem(pkcs8_pem: &str) -> Self {
        let pair = josekit::jwk::alg::rsa::RsaKeyPair::from_pem(pkcs8_pem.as_bytes()).unwrap();
        let key = pair.to_jwk_private_key();
        let signer = Box::new(RS256.signer_from_jwk(&key).unwrap());
        Self {
            public: pair.to_jwk_public_key(),
            key,
            signer,
            kid: None,
            pkcs8_pem: pkcs8_pem.to_owned(),
        }
    }

    /// The same client sending `public` as its `jwk` (e.g. a re-encoding of its key, or
    /// another key altogether); it still signs with its own private key.
    pub fn with_public(mut self, public: Value) -> Self {
        self.public = JoseJwk::from_map(public.as_object().unwrap().clone()).unwrap();
        self
    }

    /// The private key's JWS signer.
    pub fn signer(&self) -> &dyn JwsSigner {
        &*self.signer
    }

    /// Another client with the same key (and the given account URL).
    pub fn same_key(&self, kid: Option<String>) -> Self {
        Self {
            key: self.key.clone(),
            public: self.public.clone(),
            signer: self.signer.box_clone(),
            kid,
            pkcs8_pem: self.pkcs8_pem.clone(),
        }
    }

    /// A flattened JWS with full control of the header.
    pub fn sign(&self, url: &str, payload: &[u8], nonce: Option<&str>, auth: Auth<'_>) -> Vec<u8> {
        let mut header = JwsHeaderSet::new();
        match auth {
            Auth::Jwk => header.set_jwk(self.public.clone(), true),
            Auth::Kid(kid) => header.set_key_id(kid, true),
        }
        header.set_url(url, true);
        if let Some(nonce) = nonce {
            header
                .set_claim("nonce", Some(Value::String(nonce.into())), true)
                .unwrap();
        }
        josekit::jws::serialize_flattened_json(payload, &header, &*self.signer)
            .unwrap()
            .into_bytes()
    }

    /// POSTs `payload` (None = POST-as-GET) signed with kid (or jwk before registration).
    pub async fn post(&self, ca: &TestCa, full_url: &str, payload: Option<Value>) -> Reply {
        let body = payload
            .map(|p| p.to_string().into_bytes())
            .unwrap_or_default();
        let nonce = ca.nonce().await;
        let auth = match &self.kid {
            Some(kid) => Auth::Kid(kid),
            None => Auth::Jwk,
        };
        let jws = self.sign(full_url, &body, Some(&nonce), auth);
        ca.post_raw(full_url, jws, "application/jose+json").await
    }

    /// Registers and remembers the account URL.
    pub async fn register(ca: &TestCa) -> Self {
        Self::register_at(ca, "default").await
    }

    /// Registers with the directory of `area` (accounts belong to one directory).
    pub async fn register_at(ca: &TestCa, area: &str) -> Self {
        let mut client = Self::new();
        let reply = client
            .post(
                ca,
                &area_url(area, "/new-account"),
                Some(
                    json!({"termsOfServiceAgreed": true, "contact": ["mailto:admin@example.org"]}),
                ),
            )
            .await;
        reply.assert_status(StatusCode::CREATED);
        client.kid = reply.header("location");
        client
    }

    /// The account's numeric id, from its URL.
    /// How many orders the store holds for this client's account (tests of refused orders
    /// check that nothing was stored).
    pub async fn stored_orders(&self, ca: &TestCa) -> usize {
        ca.store
            .order_ids_for_account(self.account_id(), None, 100)
            .await
            .unwrap()
            .len()
    }

    pub fn account_id(&self) -> i64 {
        last_segment(self.kid.as_deref().expect("registered"))
            .parse()
            .unwrap()
    }

    /// The RFC 7638 thumbprint of the `jwk` this client sends, computed as a client does:
    /// over the members as sent (so a non-minimal RSA encoding gives its own thumbprint).
    pub fn thumbprint(&self) -> String {
        let v: Value = serde_json::to_value(self.public.as_ref()).unwrap();
        // RFC 7638 §3.2: the required members, in lexicographic order.
        let members: &[&str] = match v["kty"].as_str() {
            Some("RSA") => &["e", "kty", "n"],
            Some("EC") => &["crv", "kty", "x", "y"],
            _ => &["crv", "kty", "x"],
        };
        let json = members
            .iter()
            .map(|m| format!("\"{m}\":{}", v[*m]))
            .collect::<Vec<_>>()
            .join(",");
        let digest = ring::digest::digest(&ring::digest::SHA256, format!("{{{json}}}").as_bytes());
        URL_SAFE_NO_PAD.encode(digest.as_ref())
    }

    /// POSTs a newOrder for `(type, value)` identifiers to the directory of `area`.
    pub async fn new_order_at(
        &self,
        ca: &TestCa,
        area: &str,
        identifiers: &[(&str, &str)],
    ) -> Reply {
        let identifiers: Vec<Value> = identifiers
            .iter()
            .map(|(t, v)| json!({"type": t, "value": v}))
            .collect();
        self.post(
            ca,
            &area_url(area, "/new-order"),
            Some(json!({"identifiers": identifiers})),
        )
        .await
    }

    /// Orders these DNS names; returns (order URL, order object).
    pub async fn order(&self, ca: &TestCa, names: &[&str]) -> (String, Value) {
        let identifiers: Vec<Value> = names
            .iter()
            .map(|n| json!({"type": "dns", "value": n}))
            .collect();
        let reply = self
            .post(
                ca,
                &url("/new-order"),
                Some(json!({"identifiers": identifiers})),
            )
            .await;
        reply.assert_status(StatusCode::CREATED);
        (reply.header("location").unwrap(), reply.json())
    }

    /// Serves the key authorization of an authorization's http-01 challenge and answers
    /// that challenge (`{}`); returns the challenge object it had before answering.
    pub async fn answer_http01(&self, ca: &TestCa, authz_url: &str) -> Value {
        let challenge = http01(&self.post(ca, authz_url, None).await.json());
        let token = challenge["token"].as_str().unwrap();
        ca.responses
            .lock()
            .unwrap()
            .insert(token.to_owned(), format!("{token}.{}", self.thumbprint()));
        let reply = self
            .post(ca, challenge["url"].as_str().unwrap(), Some(json!({})))
            .await;
        reply.assert_status(StatusCode::OK);
        challenge
    }

    /// Answers every pending authorization of an order by http-01 and waits until the order
    /// is ready.
    /// Answers the authorization's http-01 challenge without serving its key authorization
    /// (the responder answers 404 for the token); returns the challenge and the POST's reply.
    pub async fn answer_http01_unserved(&self, ca: &TestCa, authz_url: &str) -> (Value, Reply) {
        let challenge = http01(&self.post(ca, authz_url, None).await.json());
        let reply = self
            .post(ca, challenge["url"].as_str().unwrap(), Some(json!({})))
            .await;
        (challenge, reply)
    }

    pub async fn authorize(&self, ca: &TestCa, order_url: &str, order: &Value) {
        for authz_url in order["authorizations"].as_array().unwrap() {
            let authz_url = authz_url.as_str().unwrap();
            if self.post(ca, authz_url, None).await.json()["status"] == "pending" {
                self.answer_http01(ca, authz_url).await;
            }
        }
        self.poll_until(ca, order_url, &["ready"]).await;
    }

    /// Polls a resource until its status is one of `statuses`; panics after 10 s.
    pub async fn poll_until(&self, ca: &TestCa, resource: &str, statuses: &[&str]) -> Value {
        for _ in 0..200 {
            let body = self.post(ca, resource, None).await.json();
            if statuses.iter().any(|s| body["status"] == *s) {
                return body;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{resource} never reached {statuses:?}");
    }

    /// Finalizes with a fresh P-256 CSR for `names`; returns the order object.
    pub async fn finalize(&self, ca: &TestCa, order: &Value, names: &[&str]) -> Reply {
        self.finalize_with_key(ca, order, names, &rcgen::KeyPair::generate().unwrap())
            .await
    }

    /// Finalizes with a CSR for `names` signed by `key`.
    pub async fn finalize_with_key(
        &self,
        ca: &TestCa,
        order: &Value,
        names: &[&str],
        key: &rcgen::KeyPair,
    ) -> Reply {
        let csr = csr_with_key(names, key);
        self.post(
            ca,
            order["finalize"].as_str().unwrap(),
            Some(json!({"csr": URL_SAFE_NO_PAD.encode(csr)})),
        )
        .await
    }

    /// The whole flow for `names`; returns (order URL, certificate URL, PEM chain).
    pub async fn issue(&self, ca: &TestCa, names: &[&str]) -> (String, String, String) {
        let (order_url, order) = self.order(ca, names).await;
        self.authorize(ca, &order_url, &order).await;
        let reply = self.finalize(ca, &order, names).await;
        reply.assert_status(StatusCode::OK);
        let order = self.poll_until(ca, &order_url, &["valid"]).await;
        let cert_url = order["certificate"].as_str().unwrap().to_owned();
        let chain = String::from_utf8(self.post(ca, &cert_url, None).await.body).unwrap();
        (order_url, cert_url, chain)
    }
}

/// A GET of `path` through `router` (a listener other than the ACME one).
async fn get_via(router: &Router, path: &str) -> Reply {
    let request = Request::builder()
        .method(Method::GET)
        .uri(path)
        .body(Body::empty())
        .unwrap();
    reply_of(router, request).await
}

/// The http-01 challenge of an authorization object.
pub fn http01(authz: &Value) -> Value {
    authz["challenges"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "http-01"))
        .cloned()
        .expect("the authorization offers http-01")
}

/// The last path segment of a resource URL: its id or serial.
pub fn last_segment(resource_url: &str) -> &str {
    resource_url.rsplit('/').next().unwrap_or_default()
}

/// A CSR for `names` with a fresh P-256 key.
pub fn csr_der(names: &[&str]) -> Vec<u8> {
    let key = rcgen::KeyPair::generate().unwrap();
    csr_with_key(names, &key)
}

pub fn csr_with_key(names: &[&str], key: &rcgen::KeyPair) -> Vec<u8> {
    let mut params =
        rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .unwrap();
    // rcgen's default subject is CN="rcgen self signed cert", which no order contains.
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.serialize_request(key).unwrap().der().to_vec()
}

/// An http-01 responder on 127.0.0.1:0 serving the tokens in the returned map.
async fn start_http01_responder() -> (Responses, u16) {
    use axum::extract::{Path, State};
    use axum::routing::get;
    let responses: Responses = Arc::default();
    let app = Router::new()
        .route(
            "/.well-known/acme-challenge/{token}",
            get(
                |State(r): State<Responses>, Path(token): Path<String>| async move {
                    match r.lock().unwrap().get(&token) {
                        Some(ka) => (StatusCode::OK, ka.clone()),
                        None => (StatusCode::NOT_FOUND, String::new()),
                    }
                },
            ),
        )
        .with_state(responses.clone());
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (responses, port)
}

/// Sends `request` through `router`; status, headers and the whole body.
async fn reply_of(router: &Router, request: Request<Body>) -> Reply {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap()
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}
