//! The label sets of basalt's metrics. Each value is bounded: a route template, a method, a
//! status, a configured area or profile name, an intermediate's key id, or a fixed word —
//! never a name, serial, account id or address.

use prometheus_client::encoding::EncodeLabelSet;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct RequestLabels {
    /// The route template (`/acme/{directory}/order/{id}`), or `unmatched`.
    pub(super) route: String,
    pub(super) method: String,
    pub(super) status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct RouteLabels {
    pub(super) route: String,
    pub(super) method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct OrderLabels {
    pub(super) area: String,
    /// `valid` or `invalid`.
    pub(super) status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct ValidationLabels {
    pub(super) challenge_type: &'static str,
    /// `valid`, or the ACME problem type of the failure (`connection`, `dns`, `caa`, ...).
    pub(super) result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct ValidationTypeLabels {
    pub(super) challenge_type: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct CaaLabels {
    /// `validation` (before an authorization becomes valid) or `finalize` (the recheck).
    pub(super) stage: &'static str,
    /// `allowed`, `refused` or `error` (the lookup failed: refused, fail closed).
    pub(super) result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct IssuedLabels {
    pub(super) area: String,
    /// The certificate profile (a configured name).
    pub(super) profile: String,
    /// The intermediate's key id (hex SKI), as in its PKI listener URLs.
    pub(super) intermediate: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct AreaLabels {
    pub(super) area: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct KeyKindLabels {
    /// `file`, `encrypted-file` or `pkcs11`.
    pub(super) key_kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct QueryLabels {
    /// `ok` or `error`.
    pub(super) outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct PoolLabels {
    /// `writer` or `reader` (the same pool on PostgreSQL and MySQL).
    pub(super) pool: &'static str,
    /// `idle` or `in_use`.
    pub(super) state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct CaLabels {
    /// `root` or `intermediate`.
    pub(super) role: &'static str,
    /// The area of an intermediate (empty for the root).
    pub(super) area: String,
    /// The certificate's key id (hex SKI).
    pub(super) key_id: String,
    /// `active`, `retiring` (an intermediate), or `root`.
    pub(super) status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct CrlLabels {
    pub(super) area: String,
    pub(super) key_id: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct BuildLabels {
    pub(super) version: &'static str,
}
