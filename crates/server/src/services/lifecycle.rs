//! After connecting: does a connection still work (health check, on demand and periodically),
//! disconnecting it, and what the provider's webhooks say happened to it.

use chrono::Utc;
use connections_wire::{AuditAction, ConnectionStatus, ConnectionView};

use super::tokens::{self, TokenError};
use crate::error::ApiError;
use crate::providers::{Provider, ProviderError, Revocation, WebhookEvent};
use crate::storage::{ConnectionRecord, NewEvent};
use crate::AppState;

pub const HEALTH_CHECK_ACTOR: &str = "Health check";

#[derive(Debug, PartialEq, Eq)]
pub enum CheckOutcome {
    Healthy,
    /// The access token had expired or was refused; a new one was obtained with the refresh token.
    Renewed,
    ReauthenticationRequired,
}

/// Checks one connection and records the outcome: read the account with a fresh access token; if
/// the provider refuses it, renew once and read again. A provider that cannot be reached changes
/// nothing and answers an error.
pub async fn check(state: &AppState, provider: &Provider, record: ConnectionRecord, actor_subject: &str, actor_name: &str) -> Result<CheckOutcome, ApiError> {
    let view = record.view.clone();
    let now = Utc::now().timestamp();
    let event = |success: bool, detail: String| (success, detail);
    let result = check_access(state, provider, record).await;
    let (outcome, (success, detail)) = match result {
        Ok(renewed) => (
            if renewed { CheckOutcome::Renewed } else { CheckOutcome::Healthy },
            event(true, if renewed { "Access renewed with the refresh token".into() } else { format!("{} accepted the stored token", provider.name()) }),
        ),
        Err(TokenError::ReauthenticationRequired { .. }) | Err(TokenError::NoTokens) => {
            (CheckOutcome::ReauthenticationRequired, event(false, format!("{} refused the stored token; reauthenticate", provider.name())))
        }
        Err(TokenError::Undecryptable(error)) => {
            // A key dropped from CONNECTIONS_ENCRYPTION_KEY is ours to fix, not the admin's.
            tracing::error!(connection = %view.id, %error, "stored token cannot be decrypted with the configured keys");
            return Err(ApiError::internal("a stored token cannot be decrypted with the configured keys"));
        }
        Err(error) => {
            record_event(state, &view, actor_subject, actor_name, false, &format!("{} could not be reached; nothing changed", provider.name()), now).await?;
            return Err(error.into());
        }
    };
    let status = if outcome == CheckOutcome::ReauthenticationRequired { ConnectionStatus::ReauthenticationRequired } else { ConnectionStatus::Connected };
    let event = NewEvent {
        provider: &view.provider,
        account_id: &view.account_id,
        action: AuditAction::HealthCheck,
        success,
        actor_subject,
        actor_name,
        detail: &detail,
        at: now,
    };
    state.db.record_check(&view.id, status, event).await?;
    Ok(outcome)
}

/// `Ok(renewed)` when the provider accepted a (possibly renewed) access token.
async fn check_access(state: &AppState, provider: &Provider, record: ConnectionRecord) -> Result<bool, TokenError> {
    let id = record.view.id.clone();
    let seen = record.token_version;
    let fresh = match tokens::fresh_access_token(state, provider, record).await {
        Ok(fresh) => fresh,
        Err(error) => return Err(error),
    };
    match provider.fetch_account(&fresh.access_token).await {
        Ok(_) => Ok(fresh.renewed),
        // Renew the tokens we saw refused; if someone already did, theirs are used.
        Err(ProviderError::TokenRefused { .. }) if !fresh.renewed => renew_and_read(state, provider, &id, seen).await,
        Err(ProviderError::TokenRefused { .. }) => Err(TokenError::ReauthenticationRequired { provider: provider.name().to_owned() }),
        Err(error) => Err(error.into()),
    }
}

async fn renew_and_read(state: &AppState, provider: &Provider, id: &str, seen_version: i64) -> Result<bool, TokenError> {
    let record = state.db.connection(id).await?.ok_or(TokenError::NoTokens)?;
    let fresh = tokens::renew(state, provider, record, seen_version).await?;
    match provider.fetch_account(&fresh.access_token).await {
        Ok(_) => Ok(true),
        Err(ProviderError::TokenRefused { .. }) => Err(TokenError::ReauthenticationRequired { provider: provider.name().to_owned() }),
        Err(error) => Err(error.into()),
    }
}

async fn record_event(state: &AppState, view: &ConnectionView, subject: &str, name: &str, success: bool, detail: &str, at: i64) -> Result<(), sqlx::Error> {
    state
        .db
        .record_event(NewEvent { provider: &view.provider, account_id: &view.account_id, action: AuditAction::HealthCheck, success, actor_subject: subject, actor_name: name, detail, at })
        .await
}

/// Checks every connection that holds tokens; failures are logged, not fatal.
pub async fn check_all(state: &AppState) {
    let records = match state.db.connections_to_check().await {
        Ok(records) => records,
        Err(error) => {
            tracing::warn!(%error, "health check: could not list connections");
            return;
        }
    };
    for record in records {
        let id = record.view.id.clone();
        let Some(provider) = state.providers.get(&record.view.provider) else {
            tracing::warn!(connection = %id, provider = %record.view.provider, "health check: the data source is no longer configured");
            continue;
        };
        match check(state, &provider, record, "health-check", HEALTH_CHECK_ACTOR).await {
            Ok(outcome) => tracing::info!(connection = %id, ?outcome, "health check"),
            Err(error) => tracing::warn!(connection = %id, %error, "health check failed"),
        }
    }
}

/// Withdraws the authorization at the provider where the dialect can, then forgets the tokens. If
/// the provider can't be reached the connection is left exactly as it was.
pub async fn disconnect(state: &AppState, provider: &Provider, record: ConnectionRecord, subject: &str, name: &str) -> Result<(), ApiError> {
    let view = &record.view;
    let now = Utc::now().timestamp();
    let open = |kind, stored: &Option<Vec<u8>>| stored.as_deref().and_then(|s| state.cipher.open(&view.provider, &view.account_id, kind, s).ok());
    let refresh = open(crate::crypto::TokenKind::Refresh, &record.refresh_token);
    let access = open(crate::crypto::TokenKind::Access, &record.access_token);
    let outcome = provider.revoke(&view.account_id, refresh.as_ref(), access.as_ref()).await;
    let event = |success: bool, detail: &'static str| NewEvent {
        provider: &view.provider,
        account_id: &view.account_id,
        action: AuditAction::Disconnect,
        success,
        actor_subject: subject,
        actor_name: name,
        detail,
        at: now,
    };
    let provider_name = provider.name();
    let detail = match outcome {
        Ok(Revocation::Revoked) => format!("Disconnected; {provider_name} access revoked"),
        Ok(Revocation::AlreadyRevoked) => format!("Disconnected; {provider_name} had already disconnected the app"),
        Ok(Revocation::NotSupported) => format!("Disconnected; the stored access is deleted. Remove the app in {provider_name} to withdraw it there too"),
        Err(error) => {
            let detail = format!("{provider_name} could not be reached; nothing changed");
            state.db.record_event(NewEvent { detail: &detail, ..event(false, "") }).await?;
            return Err(error.into());
        }
    };
    state.db.set_status(&view.id, ConnectionStatus::Disconnected, true, NewEvent { detail: &detail, ..event(true, "") }).await?;
    tracing::info!(connection = %view.id, by = %subject, "disconnected");
    Ok(())
}

/// Acts on a verified webhook event.
pub async fn webhook(state: &AppState, provider: &Provider, event: WebhookEvent) -> Result<bool, ApiError> {
    match event {
        WebhookEvent::Revoked { account_id, .. } => {
            let Some(record) = state.db.connection_by_account(provider.id(), &account_id).await? else {
                return Ok(true);
            };
            if matches!(record.view.status, ConnectionStatus::Connected | ConnectionStatus::ReauthenticationRequired) {
                let detail = format!("The account owner disconnected the app at {}", provider.name());
                let event = NewEvent {
                    provider: provider.id(),
                    account_id: &account_id,
                    action: AuditAction::Revoke,
                    success: true,
                    actor_subject: provider.id(),
                    actor_name: provider.name(),
                    detail: &detail,
                    at: Utc::now().timestamp(),
                };
                state.db.set_status(&record.view.id, ConnectionStatus::Revoked, true, event).await?;
                tracing::info!(connection = %record.view.id, "revoked at the provider");
            }
            Ok(true)
        }
        WebhookEvent::Authorized { account_id } => {
            tracing::info!(provider = provider.id(), account = %account_id, "app installed at the provider");
            Ok(true)
        }
        WebhookEvent::Ignored { kind } => {
            tracing::debug!(provider = provider.id(), %kind, "webhook event ignored");
            Ok(false)
        }
    }
}
