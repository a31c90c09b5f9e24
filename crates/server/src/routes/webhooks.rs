//! `POST /api/webhooks/{provider}`: a provider tells us what happened to an account (signed).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use chrono::Utc;
use serde_json::{json, Value};

use super::providers::KnownProvider;
use crate::error::ApiError;
use crate::providers::WebhookError;
use crate::services::Core;
use crate::services::{lifecycle, outcomes};

pub(crate) async fn receive(
    State(state): State<Core>,
    KnownProvider(provider): KnownProvider,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let event = provider.webhook_event(&headers, &body, Utc::now().timestamp());
    crate::observability::count_webhook_event(provider.id(), outcomes::provider_event(&event));
    let event = event.map_err(|error| match error {
        WebhookError::NotConfigured => ApiError::NotFound,
        WebhookError::Signature(reason) => ApiError::InvalidSignature(reason),
        WebhookError::Malformed(reason) => ApiError::InvalidRequest(format!("not an event of {}: {reason}", provider.name())),
    })?;
    let handled = lifecycle::provider_event(&state.db, &provider, event).await?;
    Ok(Json(json!({ "received": true, "handled": handled })))
}
