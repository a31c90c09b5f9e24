//! How each thing the server does for a connection ended, counted by provider and outcome. Each is
//! called once, where the outcome is decided; the pass-through ones hand their result back so the
//! call site stays one line.
//!
//! The provider label is a configured provider's id (operator configuration): every caller holds a
//! `Provider` found in the registry, so an id typed into a path never gets here.

use connections_wire::{GrantOutcome, GrantResponse};

use super::names;
use crate::providers::{ProviderError, Revocation, WebhookError, WebhookEvent};
use crate::services::connect::ConnectError;
use crate::services::tokens::{FreshToken, TokenError};

fn count(name: &'static str, provider: &str, outcome: &'static str) {
    metrics::counter!(name, "provider" => provider.to_owned(), "outcome" => outcome).increment(1);
}

// `ConnectError` and `TokenError` belong to the services, which grow: a variant added there counts as
// `other` until it is named here.

/// A posted grant, from its checks to the stored connection.
pub fn count_grant(provider: &str, result: Result<GrantResponse, ConnectError>) -> Result<GrantResponse, ConnectError> {
    #[allow(unreachable_patterns)]
    let outcome = match &result {
        Ok(response) if response.outcome == GrantOutcome::Created => "created",
        Ok(_) => "renewed",
        Err(ConnectError::Invalid(_) | ConnectError::UnregisteredReturnAddress) => "invalid_request",
        Err(ConnectError::UnknownAttempt | ConnectError::AttemptUsed | ConnectError::UnknownInstall) => "unknown_attempt",
        Err(ConnectError::AttemptExpired) => "attempt_expired",
        Err(ConnectError::PkceMismatch) => "pkce_mismatch",
        Err(ConnectError::AccountMismatch { .. }) => "account_mismatch",
        Err(ConnectError::Provider(error)) if error.is_unavailable() => "provider_unavailable",
        Err(ConnectError::Provider(_)) => "provider_rejected",
        Err(ConnectError::Database(_)) => "database_error",
        Err(_) => "other",
    };
    count(names::GRANTS, provider, outcome);
    result
}

/// A renewal this instance claimed and asked the provider for.
pub fn count_renewal(provider: &str, result: Result<FreshToken, TokenError>) -> Result<FreshToken, TokenError> {
    #[allow(unreachable_patterns)]
    let outcome = match &result {
        Ok(_) => "renewed",
        Err(TokenError::ReauthenticationRequired { .. }) => "refused",
        Err(TokenError::Provider(error)) if error.is_unavailable() => "provider_unavailable",
        Err(TokenError::Provider(_)) => "provider_rejected",
        Err(TokenError::NoTokens) => "no_tokens",
        Err(TokenError::Busy) => "busy",
        Err(TokenError::Undecryptable(_)) => "undecryptable",
        Err(TokenError::Database(_)) => "database_error",
        Err(_) => "other",
    };
    count(names::RENEWALS, provider, outcome);
    result
}

/// A health check's access test: the (possibly renewed) token the provider accepted, or why not.
pub fn count_health_check(provider: &str, result: Result<FreshToken, TokenError>) -> Result<FreshToken, TokenError> {
    #[allow(unreachable_patterns)]
    let outcome = match &result {
        Ok(fresh) if fresh.renewed => "renewed",
        Ok(_) => "healthy",
        Err(TokenError::ReauthenticationRequired { .. } | TokenError::NoTokens) => "reauthentication_required",
        Err(TokenError::Provider(error)) if error.is_unavailable() => "provider_unavailable",
        Err(TokenError::Provider(_)) => "provider_rejected",
        Err(TokenError::Busy) => "busy",
        Err(TokenError::Undecryptable(_)) => "undecryptable",
        Err(TokenError::Database(_)) => "database_error",
        Err(_) => "other",
    };
    count(names::HEALTH_CHECKS, provider, outcome);
    result
}

/// A disconnect's withdrawal at the provider (`local_only`: the dialect has no call for it).
pub fn count_disconnect(provider: &str, result: &Result<Revocation, ProviderError>) {
    let outcome = match result {
        Ok(Revocation::Revoked) => "revoked",
        Ok(Revocation::AlreadyRevoked) => "already_revoked",
        Ok(Revocation::NotSupported) => "local_only",
        Err(error) if error.is_unavailable() => "provider_unavailable",
        Err(_) => "provider_rejected",
    };
    count(names::DISCONNECTS, provider, outcome);
}

/// A disconnect that could not ask the provider: its stored tokens cannot be decrypted. `removed`:
/// the admin confirmed removing it here only.
pub fn count_undecryptable_disconnect(provider: &str, removed: bool) {
    count(names::DISCONNECTS, provider, if removed { "removed_locally" } else { "undecryptable" });
}

/// A webhook delivery, verified or refused.
pub fn count_webhook_event(provider: &str, event: Result<WebhookEvent, WebhookError>) -> Result<WebhookEvent, WebhookError> {
    let outcome = match &event {
        Ok(WebhookEvent::Revoked { .. }) => "revoked",
        Ok(WebhookEvent::Authorized { .. }) => "authorized",
        Ok(WebhookEvent::Ignored { .. }) => "ignored",
        Err(WebhookError::NotConfigured) => "not_configured",
        Err(WebhookError::Signature(_)) => "invalid_signature",
        Err(WebhookError::Malformed(_)) => "malformed",
    };
    count(names::WEBHOOK_EVENTS, provider, outcome);
    event
}

/// One attempt to deliver an outgoing webhook event (`delivered`, or `failed` and retried later).
pub fn count_webhook_delivery(delivered: bool) {
    metrics::counter!(names::WEBHOOK_DELIVERIES, "outcome" => if delivered { "delivered" } else { "failed" }).increment(1);
}
