//! Stored records turned into the wire objects of RFC 8555 §7.1. Rendering only: the
//! status shown is the effective one (`OrderStatus::at`, `AuthorizationStatus::at` in
//! basalt-protocol apply expiry, RFC 8555 §7.1.6).

use basalt_protocol::objects::{
    AccountObject, AuthorizationObject, ChallengeObject, OrderObject, format_timestamp,
};
use basalt_protocol::{OrderStatus, Problem, ProblemType};
use basalt_storage::{AccountRecord, AuthorizationRecord, ChallengeRecord, OrderRecord};
use time::OffsetDateTime;

use crate::urls::Urls;

pub(crate) fn account_object(urls: &Urls, account: &AccountRecord) -> AccountObject {
    AccountObject {
        status: account.status,
        contact: account.contact.clone(),
        terms_of_service_agreed: account.terms_of_service_agreed,
        orders: urls.account_orders(account.id),
    }
}

pub(crate) fn order_object(urls: &Urls, order: &OrderRecord, now: OffsetDateTime) -> OrderObject {
    let status = order.status.at(order.expires_at, now);
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
        // RFC 9773 §5, on every fetch (Boulder forgets it after the first: boulder #8272).
        replaces: order.replaces.clone(),
        // draft-ietf-acme-profiles-00 §4: on every fetch, not only the newOrder answer.
        profile: order.profile.clone(),
    }
}

pub(crate) fn authorization_object(
    urls: &Urls,
    authz: &AuthorizationRecord,
    now: OffsetDateTime,
) -> AuthorizationObject {
    AuthorizationObject {
        identifier: authz.identifier.clone(),
        status: authz.status.at(authz.expires_at, now),
        expires: format_timestamp(authz.expires_at),
        challenges: authz
            .challenges
            .iter()
            .map(|c| challenge_object(urls, c))
            .collect(),
        wildcard: authz.wildcard,
    }
}

pub(crate) fn challenge_object(urls: &Urls, challenge: &ChallengeRecord) -> ChallengeObject {
    ChallengeObject {
        challenge_type: challenge.challenge_type,
        url: urls.challenge(challenge.id),
        status: challenge.status,
        token: challenge.token.clone(),
        validated: challenge.validated_at.map(format_timestamp),
        error: challenge.error.clone(),
    }
}
