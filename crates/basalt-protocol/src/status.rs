//! Object statuses (RFC 8555 §7.1.6) and the transitions the state diagrams allow.
//!
//! Storage keeps statuses as the same lower-case strings the wire uses; `as_str`/`parse`
//! are the one conversion.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

macro_rules! status_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "lowercase")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some(Self::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

status_enum!(
    /// RFC 8555 §7.1.6, account objects.
    AccountStatus { Valid => "valid", Deactivated => "deactivated", Revoked => "revoked" }
);

status_enum!(
    /// RFC 8555 §7.1.6, order objects: pending → ready → processing → valid, or invalid.
    OrderStatus {
        Pending => "pending",
        Ready => "ready",
        Processing => "processing",
        Valid => "valid",
        Invalid => "invalid",
    }
);

status_enum!(
    /// RFC 8555 §7.1.6, authorization objects.
    AuthorizationStatus {
        Pending => "pending",
        Valid => "valid",
        Invalid => "invalid",
        Deactivated => "deactivated",
        Expired => "expired",
        Revoked => "revoked",
    }
);

status_enum!(
    /// RFC 8555 §7.1.6, challenge objects: pending → processing → valid | invalid.
    ChallengeStatus {
        Pending => "pending",
        Processing => "processing",
        Valid => "valid",
        Invalid => "invalid",
    }
);

impl OrderStatus {
    /// The status an order stored as `self` has at `now`. RFC 8555 §7.1.6: a pending or
    /// ready order whose `expires` has passed is invalid. Storage keeps the status last
    /// written; this applies expiry on read, without a write.
    pub fn at(self, expires_at: OffsetDateTime, now: OffsetDateTime) -> Self {
        match self {
            Self::Pending | Self::Ready if expires_at <= now => Self::Invalid,
            status => status,
        }
    }

    /// RFC 8555 §7.1.6: the order states a client should keep polling (and that get
    /// `Retry-After`, §7.4).
    pub fn is_in_progress(self) -> bool {
        matches!(self, Self::Pending | Self::Processing)
    }
}

impl AuthorizationStatus {
    /// The status an authorization stored as `self` has at `now`. RFC 8555 §7.1.6: a
    /// pending or valid authorization whose `expires` has passed is expired.
    pub fn at(self, expires_at: OffsetDateTime, now: OffsetDateTime) -> Self {
        match self {
            Self::Pending | Self::Valid if expires_at <= now => Self::Expired,
            status => status,
        }
    }

    /// RFC 8555 §7.5.2: only pending and valid authorizations may be deactivated.
    pub fn may_deactivate(self) -> bool {
        matches!(self, Self::Pending | Self::Valid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(secs).expect("in range")
    }

    #[test]
    fn expiry_makes_pending_and_ready_orders_invalid() {
        for (stored, expected) in [
            (OrderStatus::Pending, OrderStatus::Invalid),
            (OrderStatus::Ready, OrderStatus::Invalid),
            (OrderStatus::Processing, OrderStatus::Processing),
            (OrderStatus::Valid, OrderStatus::Valid),
            (OrderStatus::Invalid, OrderStatus::Invalid),
        ] {
            assert_eq!(stored.at(at(100), at(100)), expected, "{stored} at expiry");
            assert_eq!(
                stored.at(at(101), at(100)),
                stored,
                "{stored} before expiry"
            );
        }
    }

    #[test]
    fn expiry_makes_pending_and_valid_authorizations_expired() {
        for (stored, expected) in [
            (AuthorizationStatus::Pending, AuthorizationStatus::Expired),
            (AuthorizationStatus::Valid, AuthorizationStatus::Expired),
            (AuthorizationStatus::Invalid, AuthorizationStatus::Invalid),
            (
                AuthorizationStatus::Deactivated,
                AuthorizationStatus::Deactivated,
            ),
            (AuthorizationStatus::Revoked, AuthorizationStatus::Revoked),
        ] {
            assert_eq!(stored.at(at(100), at(100)), expected, "{stored} at expiry");
            assert_eq!(
                stored.at(at(101), at(100)),
                stored,
                "{stored} before expiry"
            );
        }
    }
}
