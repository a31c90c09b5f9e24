//! `POST /api/webhooks/stripe`: Stripe tells us an account owner disconnected the app.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use chrono::Utc;
use connections_wire::{AuditAction, ConnectionStatus};
use serde::Deserialize;
use serde_json::{json, Value};

use super::providers::STRIPE;
use crate::error::ApiError;
use crate::storage::NewEvent;
use crate::{webhook, AppState};

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    /// The connected account the event is about.
    account: Option<String>,
}

pub async fn stripe(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Json<Value>, ApiError> {
    let Some(secret) = &state.webhook_secret else {
        return Err(ApiError::NotFound);
    };
    let signature = headers.get("stripe-signature").and_then(|v| v.to_str().ok()).unwrap_or("");
    let now = Utc::now().timestamp();
    webhook::verify(secret.expose(), signature, &body, now).map_err(|e| ApiError::InvalidSignature(e.to_string()))?;
    let event: Event = serde_json::from_slice(&body).map_err(|e| ApiError::InvalidRequest(format!("not a Stripe event: {e}")))?;
    if event.kind != "account.application.deauthorized" {
        return Ok(Json(json!({ "received": true, "handled": false })));
    }
    let Some(account_id) = event.account else {
        return Err(ApiError::InvalidRequest("account.application.deauthorized without an account".into()));
    };
    if let Some(record) = state.db.connection_by_account(STRIPE, &account_id).await? {
        if matches!(record.view.status, ConnectionStatus::Connected | ConnectionStatus::ReauthenticationRequired) {
            let event = NewEvent {
                provider: STRIPE,
                account_id: &account_id,
                action: AuditAction::Revoke,
                success: true,
                actor_subject: "stripe",
                actor_name: "Stripe",
                detail: "The account owner disconnected the app at Stripe",
                at: now,
            };
            state.db.set_status(&record.view.id, ConnectionStatus::Revoked, true, event).await?;
            tracing::info!(connection = %record.view.id, "revoked at Stripe");
        }
    }
    Ok(Json(json!({ "received": true, "handled": true })))
}
