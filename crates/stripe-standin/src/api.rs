//! The slice of Stripe's REST API the product reads: `GET /v1/account`.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::json;

use crate::Standin;

/// Stripe's API error body: `{"error": {"type", "message"}}`.
fn api_error(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": { "type": "invalid_request_error", "message": message } }))).into_response()
}

fn bearer_key(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    if let Some(key) = value.strip_prefix("Bearer ") {
        return Some(key.trim().to_owned());
    }
    let decoded = STANDARD.decode(value.strip_prefix("Basic ")?.trim()).ok()?;
    Some(String::from_utf8(decoded).ok()?.split(':').next()?.to_owned())
}

fn masked(key: &str) -> String {
    let tail: String = key.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
    format!("{}****{tail}", key.split('_').take(2).collect::<Vec<_>>().join("_") + "_")
}

/// With a connected account's access token, or with the platform key and `Stripe-Account`.
pub(crate) async fn account(State(standin): State<Standin>, headers: HeaderMap) -> Response {
    let Some(key) = bearer_key(&headers) else {
        return api_error(
            StatusCode::UNAUTHORIZED,
            "You did not provide an API key. You need to provide your API key in the Authorization header.".into(),
        );
    };
    let account_id = {
        let store = standin.store.lock().expect("stand-in store poisoned");
        if let Some(token) = store.active_token(&key) {
            Some(token.account_id.clone())
        } else if standin.config().clients.iter().any(|client| client.secret_key == key) {
            let requested = headers.get("stripe-account").and_then(|v| v.to_str().ok()).unwrap_or("");
            store.tokens.values().find(|t| !t.revoked && t.account_id == requested).map(|t| t.account_id.clone())
        } else {
            None
        }
    };
    let accounts = standin.config().accounts;
    let Some(account) = account_id.and_then(|id| accounts.iter().find(|a| a.id == id)) else {
        return api_error(StatusCode::UNAUTHORIZED, format!("Invalid API Key provided: {}", masked(&key)));
    };
    Json(json!({
        "id": account.id,
        "object": "account",
        "business_profile": { "name": account.business_name, "url": null },
        "settings": { "dashboard": { "display_name": account.business_name, "timezone": "Etc/UTC" } },
        "email": account.email,
        "country": "US",
        "default_currency": "usd",
        "type": "standard",
        "charges_enabled": true,
        "details_submitted": true,
    }))
    .into_response()
}
