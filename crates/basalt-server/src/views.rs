//! Stored records turned into the wire objects of RFC 8555 §7.1, with expiry applied.
//!
//! Storage keeps the status last written; an object whose `expires` has passed is shown
//! with the status RFC 8555 §7.1.6 gives it (orders become invalid, authorizations
//! expired) without a write.

use basalt_protocol::objects::{
    AccountObject, AuthorizationObject, ChallengeObject, OrderObject, format_timestamp,
};
use basalt_protocol::{AuthorizationStatus, OrderStatus, Problem, ProblemType};
use basalt_storage::{AccountRecord, AuthorizationRecord, ChallengeRecord, OrderRecord};
use time::OffsetDateTime;

use crate::urls::Urls;

/// RFC 8555 §7.1.6: pending and ready orders past `expires` are invalid.
pub fn order_status(order: &OrderRecord, now: OffsetDateTime) -> OrderStatus {
    match order.status {
        OrderStatus::Pending | OrderStatus::Ready if order.expires_at <= now => {
            OrderStatus::Invalid
        }
        status => status,
    }
}

/// RFC 8555 §7.1.6: pending and valid authorizations past `expires` are expired.
pub fn authorization_status(
    authz: &AuthorizationRecord,
    now: OffsetDateTime,
) -> AuthorizationStatus {
    match authz.status {
        AuthorizationStatus::Pending | AuthorizationStatus::Valid if authz.expires_at <= now => {
            AuthorizationStatus::Expired
        }
        status => status,
    }
}

pub fn account_object(urls: &Urls, account: &AccountRecord) -> AccountObject {
    AccountObject {
        status: account.status,
        contact: account.contact.clone(),
        terms_of_service_agreed: account.terms_of_service_agreed,
        orders: urls.account_orders(account.id),
    }
}

pub fn order_object(urls: &Urls, order: &OrderRecord, now: OffsetDateTime) -> OrderObject {
    let status = order_status(order, now);
    let error = match (&order.error, status) {
        (Some(problem), _) => Some(problem.clone()),
        (None, OrderStatus::Invalid) => Some(Problem::new(
            ProblemType::Malformed,
            "the order expired before it was finalized",
        )),
        (None, _) => None,
    };
    OrderObject {
        status,
        expires: format_timestamp(order.expires_at),
        identifiers: order.identifiers.clone(),
        not_before: order.not_before.map(format_timestamp),
        not_after: order.not_after.map(format_timestamp),
        error,
        authorizations: order
            .authorization_ids
            .iter()
            .map(|id| urls.authorization(*id))
            .collect(),
        finalize: urls.finalize(order.id),
        certificate: order
            .certificate_serial
            .as_deref()
            .filter(|_| status == OrderStatus::Valid)
            .map(|serial| urls.certificate(serial)),
    }
}

pub fn authorization_object(
    urls: &Urls,
    authz: &AuthorizationRecord,
    now: OffsetDateTime,
) -> AuthorizationObject {
    AuthorizationObject {
        identifier: authz.identifier.clone(),
        status: authorization_status(authz, now),
        expires: format_timestamp(authz.expires_at),
        challenges: authz
            .challenges
            .iter()
            .map(|c| challenge_object(urls, c))
            .collect(),
        wildcard: authz.wildcard,
    }
}

pub fn challenge_object(urls: &Urls, challenge: &ChallengeRecord) -> ChallengeObject {
    ChallengeObject {
        challenge_type: challenge.challenge_type,
        url: urls.challenge(challenge.id),
        status: challenge.status,
        token: challenge.token.clone(),
        validated: challenge.validated_at.map(format_timestamp),
        error: challenge.error.clone(),
    }
}
