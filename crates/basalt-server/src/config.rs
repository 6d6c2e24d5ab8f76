//! Typed configuration of the HTTP front end and the issuance policy of each ACME directory.
//!
//! The binary reads files, flags and environment variables and builds these structs; this
//! crate never reads configuration itself.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use basalt_protocol::ChallengeType;
use basalt_signer::{Issuer, KeyType};

use crate::policy::names::NamePolicy;

pub(crate) mod profiles;

use profiles::ProfileSet;

/// Everything `basalt serve` needs besides storage and validation settings.
#[derive(Clone)]
pub struct ServerConfig {
    /// Address the HTTPS listener binds.
    pub listen: SocketAddr,
    /// Extra names (DNS or IP) for the serving certificate, beside the listen host,
    /// `localhost`, `127.0.0.1` and `::1`.
    pub serving_names: Vec<String>,
    /// Lifetime of the serving certificate basalt issues to itself; renewed after two thirds.
    pub serving_certificate_lifetime: Duration,
    /// The areas: ACME directories served under `/acme/<name>/`, and the intermediates that
    /// still sign CRLs. `Server::new` moves them into its [`crate::AreaHandle`]; replaced
    /// while running with [`crate::AreaHandle::replace`].
    pub areas: AreaSet,
    /// The root certificate (PEM), served at `/acme/<name>/root`, the `rel="up"` of every
    /// certificate.
    pub root_pem: String,
    /// How long a nonce stays redeemable (RFC 8555 §6.5 leaves it to the server).
    pub nonce_lifetime: Duration,
    /// How long an account looked up for a `kid` request stays cached (zero: no cache).
    /// This process's own changes to an account apply at once; another replica's may be
    /// missed for up to this long.
    pub account_cache_ttl: Duration,
    /// Validations running at once in this process.
    pub validation_concurrency: usize,
    /// How long a replica owns a validation job before another may take it over.
    pub validation_lease: Duration,
    /// How long a valid authorization may be reused for new orders (all directories).
    pub valid_authorization_lifetime: Duration,
    /// How long an issuance may stay reserved but unstored before the recovery pass gives its
    /// order back (the process died between reserving and storing).
    pub issuance_stale_after: Duration,
    /// Orders per page of an account's orders list (RFC 8555 §7.1.2.1).
    pub orders_per_page: u64,
    /// Largest accepted request body, in bytes.
    pub max_request_bytes: usize,
    /// Timeouts and caps of the HTTPS listener.
    pub connections: ConnectionSettings,
    /// How many validations may wait or run at once in this process.
    pub validation_queue: ValidationQueueLimits,
    /// The process's metrics; the binary hands the same set to storage's query observer.
    pub metrics: crate::Metrics,
}

/// Timeouts and caps that keep slow or numerous clients from holding the listener (issue
/// 12, "anyone can lock clients out"). The defaults are safe for a public port.
#[derive(Debug, Clone)]
pub struct ConnectionSettings {
    /// From accept to the end of the TLS handshake.
    pub tls_handshake_timeout: Duration,
    /// From the end of the TLS handshake to a complete first request head, and for HTTP/1.1
    /// from the start of each later request head (which also closes keep-alive connections
    /// idle this long).
    pub header_read_timeout: Duration,
    /// HTTP/2 PING interval on an otherwise quiet connection.
    pub http2_keep_alive_interval: Duration,
    /// How long an HTTP/2 PING may go unanswered before the connection is closed.
    pub http2_keep_alive_timeout: Duration,
    /// HTTP/2 streams a client may have open at once (RFC 9113 §5.1.2).
    pub http2_max_concurrent_streams: u32,
    /// Connections open at once; more are closed at once, unread.
    pub max_connections: usize,
    /// Connections open at once from one source address (an IPv6 source by its /64).
    pub max_connections_per_ip: usize,
    /// On SIGTERM/SIGINT: how long open connections may take to finish the requests they
    /// are serving, and running validations to finish, before the process exits anyway.
    pub shutdown_timeout: Duration,
}

impl Default for ConnectionSettings {
    fn default() -> Self {
        Self {
            tls_handshake_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(10),
            http2_keep_alive_interval: Duration::from_secs(30),
            http2_keep_alive_timeout: Duration::from_secs(10),
            http2_max_concurrent_streams: 100,
            max_connections: 4096,
            max_connections_per_ip: 256,
            // Under Kubernetes' default terminationGracePeriodSeconds (30 s), so the drain
            // ends before the kubelet's SIGKILL.
            shutdown_timeout: Duration::from_secs(20),
        }
    }
}

/// Bounds on validations waiting or running in this process (issue 12): a challenge POST
/// over either bound is answered `rateLimited` and its challenge stays `pending`.
#[derive(Debug, Clone, Copy)]
pub struct ValidationQueueLimits {
    /// Validations waiting or running at once.
    pub total: usize,
    /// Validations of one account waiting or running at once, so one account cannot take
    /// the whole queue.
    pub per_account: usize,
}

impl Default for ValidationQueueLimits {
    fn default() -> Self {
        Self {
            total: 1024,
            // One order may hold 100 identifiers (`policy::identifiers::MAX_IDENTIFIERS`),
            // and clients answer all of its challenges at once.
            per_account: 100,
        }
    }
}

/// Every area at one moment, swapped as a whole when areas or intermediates change.
#[derive(Clone, Default)]
pub struct AreaSet {
    /// One per area; each signs with its active intermediate.
    pub directories: Vec<DirectoryConfig>,
    /// Intermediates being retired: they sign no certificate, but keep signing the CRL of
    /// the certificates they issued until the last of those expires.
    pub retiring: Vec<SigningIntermediate>,
}

/// An intermediate known to the database (`intermediates.id`) with its loaded key.
#[derive(Clone)]
pub struct SigningIntermediate {
    pub id: i64,
    pub area: String,
    pub issuer: Arc<Issuer>,
}

/// One area: an ACME directory with its own intermediate(s) and its own policy.
#[derive(Clone)]
pub struct DirectoryConfig {
    pub name: String,
    /// The active intermediate: every new certificate of the area is signed by it.
    pub issuer: Arc<Issuer>,
    /// The active intermediate's `intermediates.id`, recorded on each certificate it signs
    /// (which CRL lists it).
    pub intermediate_id: i64,
    pub policy: IssuancePolicy,
    /// Which identifiers the area certifies.
    pub names: NamePolicy,
    /// The challenge types its authorizations offer (a subset of what each identifier can
    /// use; RFC 8555 §7.1.4 leaves the choice to the server).
    pub challenge_types: Vec<ChallengeType>,
    /// Subject key types a CSR may carry.
    pub key_types: Vec<KeyType>,
    /// Base URL of the plain-HTTP PKI listener as relying parties reach it; set, leaves
    /// carry a CRL Distribution Point (when `crl` is on) and an AIA caIssuers URL.
    pub pki_base_url: Option<String>,
    /// CRL settings; `None`: no CRL (passive revocation, for short-lived certificates).
    pub crl: Option<CrlSettings>,
    pub meta: DirectoryMetaConfig,
    /// Check CAA (RFC 8659) against `meta.caa_identities` before an authorization becomes
    /// valid and again at finalize when the validation is older than 8 hours. Off only for
    /// internal zones that never publish CAA.
    pub check_caa: bool,
    /// Where this directory's validations may connect, when it differs from the
    /// validator's configured egress policy (`None`: the validator's).
    pub egress: Option<basalt_validation::EgressPolicy>,
    /// Accept orders for reserved identifiers (loopback, link-local, multicast and other
    /// special-purpose addresses, `localhost` names; `Identifier::reserved`). Off by default:
    /// a certificate for 127.0.0.1 or `localhost` under a fleet-wide root impersonates every
    /// machine's loopback services. For test set-ups only.
    pub allow_reserved_identifiers: bool,
    /// The renewal window ACME Renewal Information suggests (RFC 9773).
    pub renewal: RenewalSettings,
    /// Whether newAccount needs an External Account Binding (RFC 8555 §7.3.4).
    pub external_account_binding: EabMode,
    /// The certificate profiles offered (draft-ietf-acme-profiles) and the default one.
    pub profiles: ProfileSet,
}

/// An area's External Account Binding mode (RFC 8555 §7.3.4, `external_account_binding`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EabMode {
    /// Bindings are ignored (as by a server that does not support EAB); accounts bind to no
    /// key.
    #[default]
    Off,
    /// A binding, when present, is checked and recorded; accounts may register without one.
    Optional,
    /// Every new account needs a valid binding (`meta.externalAccountRequired`).
    Required,
}

impl DirectoryConfig {
    /// An area with the defaults of a fresh `[directories.NAME]` table: every identifier,
    /// challenge and key type, CAA checked against `basalt`, CRLs made but not linked from
    /// certificates (no `pki_base_url`), the shipped profiles.
    pub fn new(name: &str, issuer: Arc<Issuer>, intermediate_id: i64) -> Self {
        Self {
            name: name.to_owned(),
            issuer,
            intermediate_id,
            policy: IssuancePolicy::default(),
            names: NamePolicy::default(),
            challenge_types: vec![
                ChallengeType::Http01,
                ChallengeType::Dns01,
                ChallengeType::TlsAlpn01,
            ],
            key_types: KeyType::ALL.to_vec(),
            pki_base_url: None,
            crl: Some(CrlSettings::default()),
            meta: DirectoryMetaConfig {
                caa_identities: vec!["basalt".to_owned()],
                ..DirectoryMetaConfig::default()
            },
            check_caa: true,
            egress: None,
            allow_reserved_identifiers: false,
            external_account_binding: EabMode::Off,
            profiles: ProfileSet::shipped(&IssuancePolicy::default()),
            renewal: RenewalSettings::default(),
        }
    }
}

/// How an area's renewalInfo (RFC 9773 §4.2) places the suggested window of a certificate
/// that needs no early renewal. The defaults are Boulder's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RenewalSettings {
    /// Fraction of the lifetime after which renewing is ideal (strictly between 0 and 1);
    /// `None`: Boulder's, two thirds, or one half for lifetimes under ten days.
    pub ideal_at: Option<f64>,
    /// Half the window's width, as a fraction of the lifetime (Boulder: 1 %).
    pub margin: f64,
    /// `Retry-After` of renewalInfo answers: how long a client should wait before asking
    /// again (Boulder: about six hours).
    pub retry_after: Duration,
}

impl Default for RenewalSettings {
    fn default() -> Self {
        Self {
            ideal_at: None,
            margin: 0.01,
            retry_after: Duration::from_secs(6 * 3600),
        }
    }
}

/// How an area's CRLs are made.
#[derive(Debug, Clone)]
pub struct CrlSettings {
    /// nextUpdate − thisUpdate; a CRL is remade when less than half of it is left, and
    /// within seconds of a revocation.
    pub lifetime: Duration,
}

impl Default for CrlSettings {
    fn default() -> Self {
        Self {
            lifetime: Duration::from_secs(24 * 3600),
        }
    }
}

/// What certificates and orders of a directory look like.
#[derive(Debug, Clone)]
pub struct IssuancePolicy {
    /// Default certificate lifetime (notAfter − notBefore + 1 s, RFC 5280 §4.1.2.5 counts
    /// both ends).
    pub certificate_lifetime: Duration,
    /// Longest lifetime a client may ask for with notBefore/notAfter (RFC 8555 §7.4).
    pub max_certificate_lifetime: Duration,
    /// How far notBefore is set into the past to absorb clock skew.
    pub backdate: Duration,
    /// How long a new order stays open.
    pub order_lifetime: Duration,
    /// How long a pending authorization stays open.
    pub pending_authorization_lifetime: Duration,
}

/// RFC 8555 §7.1.1 `meta` values.
#[derive(Debug, Clone, Default)]
pub struct DirectoryMetaConfig {
    pub terms_of_service: Option<String>,
    pub website: Option<String>,
    pub caa_identities: Vec<String>,
}

impl Default for IssuancePolicy {
    fn default() -> Self {
        const HOUR: u64 = 3600;
        Self {
            certificate_lifetime: Duration::from_secs(24 * HOUR),
            max_certificate_lifetime: Duration::from_secs(24 * HOUR),
            backdate: Duration::from_secs(60),
            order_lifetime: Duration::from_secs(7 * 24 * HOUR),
            pending_authorization_lifetime: Duration::from_secs(7 * 24 * HOUR),
        }
    }
}
