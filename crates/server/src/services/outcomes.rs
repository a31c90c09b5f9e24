//! The metric label of every outcome the services count (`observability`), each given by a `match`
//! without a catch-all: a new variant does not compile until it is named here.

use connections_wire::{GrantOutcome, GrantResponse};

use super::connect::ConnectError;
use super::tokens::{FreshToken, TokenError};
use crate::providers::{ProviderError, ProviderEvent, Revocation, WebhookError};

/// A provider failure as the services count it: it could not be reached, or it said no.
fn provider_failure(error: &ProviderError) -> &'static str {
    if error.is_unavailable() {
        "provider_unavailable"
    } else {
        "provider_rejected"
    }
}

/// A posted grant, from its checks to the stored connection.
pub(crate) fn grant(result: &Result<GrantResponse, ConnectError>) -> &'static str {
    match result {
        Ok(response) => match response.outcome {
            GrantOutcome::Created => "created",
            GrantOutcome::Renewed => "renewed",
        },
        Err(ConnectError::Invalid(_) | ConnectError::UnregisteredReturnAddress | ConnectError::Mode(_)) => "invalid_request",
        Err(ConnectError::UnknownAttempt | ConnectError::AttemptUsed | ConnectError::UnknownInstall) => "unknown_attempt",
        Err(ConnectError::AttemptExpired) => "attempt_expired",
        Err(ConnectError::PkceMismatch) => "pkce_mismatch",
        Err(ConnectError::AccountMismatch { .. } | ConnectError::LinkWrongAccount { .. }) => "account_mismatch",
        Err(ConnectError::LinkClosed(_)) => "link_closed",
        Err(ConnectError::ModeChange { .. }) => "mode_change",
        Err(ConnectError::Provider(error)) => provider_failure(error),
        Err(ConnectError::Database(_)) => "database_error",
    }
}

/// A renewal this instance claimed and asked the provider for.
pub(crate) fn renewal(result: &Result<FreshToken, TokenError>) -> &'static str {
    match result {
        Ok(_) => "renewed",
        Err(TokenError::ReauthenticationRequired { .. }) => "refused",
        Err(TokenError::Provider(error)) => provider_failure(error),
        Err(TokenError::NoTokens) => "no_tokens",
        Err(TokenError::Busy) => "busy",
        Err(TokenError::Undecryptable(_)) => "undecryptable",
        Err(TokenError::Database(_)) => "database_error",
    }
}

/// A health check's access test: the (possibly renewed) token the provider accepted, or why not.
pub(crate) fn health_check(result: &Result<FreshToken, TokenError>) -> &'static str {
    match result {
        Ok(fresh) if fresh.renewed => "renewed",
        Ok(_) => "healthy",
        Err(TokenError::ReauthenticationRequired { .. } | TokenError::NoTokens) => "reauthentication_required",
        Err(TokenError::Provider(error)) => provider_failure(error),
        Err(TokenError::Busy) => "busy",
        Err(TokenError::Undecryptable(_)) => "undecryptable",
        Err(TokenError::Database(_)) => "database_error",
    }
}

/// A disconnect's withdrawal at the provider (`local_only`: the dialect has no call for it).
pub(crate) fn disconnect(result: &Result<Revocation, ProviderError>) -> &'static str {
    match result {
        Ok(Revocation::Revoked) => "revoked",
        Ok(Revocation::AlreadyRevoked) => "already_revoked",
        Ok(Revocation::NotSupported) => "local_only",
        Err(error) => provider_failure(error),
    }
}

/// A provider's webhook delivery, verified or refused.
pub(crate) fn provider_event(result: &Result<ProviderEvent, WebhookError>) -> &'static str {
    match result {
        Ok(ProviderEvent::Revoked { .. }) => "revoked",
        Ok(ProviderEvent::Authorized { .. }) => "authorized",
        Ok(ProviderEvent::Ignored { .. }) => "ignored",
        Err(WebhookError::NotConfigured) => "not_configured",
        Err(WebhookError::Signature(_)) => "invalid_signature",
        Err(WebhookError::Malformed(_)) => "malformed",
    }
}
