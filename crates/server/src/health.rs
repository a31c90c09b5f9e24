//! Does a stored connection still work? `GET /v1/account` with its token; on a 401 the refresh token
//! is tried once; if that fails too, the connection needs re-authentication. Run on demand from a
//! row, and periodically by the server.

use connections_wire::{AuditAction, ConnectionStatus};

use crate::error::ApiError;
use crate::storage::{ConnectionRecord, NewEvent};
use crate::stripe::ProviderError;
use crate::AppState;

pub const HEALTH_CHECK_ACTOR: &str = "Health check";

#[derive(Debug, PartialEq, Eq)]
pub enum CheckOutcome {
    Healthy,
    /// The access token had expired; a new one was obtained with the refresh token.
    Renewed,
    ReauthenticationRequired,
}

/// Checks one connection and records the outcome. Stripe being unreachable changes nothing and
/// answers an error.
pub async fn check(state: &AppState, record: &ConnectionRecord, actor_subject: &str, actor_name: &str) -> Result<CheckOutcome, ApiError> {
    let view = &record.view;
    let aad = |kind: &str| format!("{}:{}:{kind}", view.provider, view.account_id);
    let now = chrono::Utc::now().timestamp();
    let event = |success: bool, detail: &'static str| NewEvent {
        provider: &view.provider,
        account_id: &view.account_id,
        action: AuditAction::HealthCheck,
        success,
        actor_subject,
        actor_name,
        detail,
        at: now,
    };
    let access_token = record.access_token.as_deref().and_then(|stored| state.cipher.decrypt(stored, &aad("access")).ok());
    // A token that can't be read counts as refused: the refresh token may still restore access.
    if let Some(token) = &access_token {
        match state.stripe.fetch_account(token).await {
            Ok(_) => {
                state.db.record_check(&view.id, ConnectionStatus::Connected, None, event(true, "Stripe accepted the stored token")).await?;
                return Ok(CheckOutcome::Healthy);
            }
            Err(ProviderError::TokenRefused(_)) => {}
            Err(error) => {
                state.db.record_event(event(false, "Stripe could not be reached; nothing changed")).await?;
                return Err(ApiError::ProviderUnavailable(error.to_string()));
            }
        }
    }
    let refresh_token = record.refresh_token.as_deref().and_then(|stored| state.cipher.decrypt(stored, &aad("refresh")).ok());
    if let Some(refresh_token) = refresh_token {
        match state.stripe.refresh(&refresh_token).await {
            Ok(grant) if grant.account_id == view.account_id => {
                if state.stripe.fetch_account(&grant.access_token).await.is_ok() {
                    let renewed = state.cipher.encrypt(grant.access_token.expose(), &aad("access"));
                    state
                        .db
                        .record_check(&view.id, ConnectionStatus::Connected, Some(renewed), event(true, "Access renewed with the refresh token"))
                        .await?;
                    return Ok(CheckOutcome::Renewed);
                }
            }
            Ok(_) | Err(ProviderError::Rejected { .. }) | Err(ProviderError::TokenRefused(_)) => {}
            Err(error) => {
                state.db.record_event(event(false, "Stripe could not be reached; nothing changed")).await?;
                return Err(ApiError::ProviderUnavailable(error.to_string()));
            }
        }
    }
    state
        .db
        .record_check(&view.id, ConnectionStatus::ReauthenticationRequired, None, event(false, "Stripe refused the stored token; reauthenticate"))
        .await?;
    Ok(CheckOutcome::ReauthenticationRequired)
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
        match check(state, &record, "health-check", HEALTH_CHECK_ACTOR).await {
            Ok(outcome) => tracing::info!(connection = %record.view.id, ?outcome, "health check"),
            Err(error) => tracing::warn!(connection = %record.view.id, %error, "health check failed"),
        }
    }
}
