//! The slice of Stripe's REST API the product reads: `GET /v1/account`, for Connect and Apps alike.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::oauth::header_key;
use crate::Standin;

/// Stripe's API error body: `{"error": {"type", "message"}}`.
fn api_error(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": { "type": "invalid_request_error", "message": message } }))).into_response()
}

fn masked(key: &str) -> String {
    let tail: String = key.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
    format!("{}****{tail}", key.split('_').take(2).collect::<Vec<_>>().join("_") + "_")
}

/// With a connected account's access token, or with the platform key and `Stripe-Account`.
pub(crate) async fn account(State(standin): State<Standin>, headers: HeaderMap) -> Response {
    let Some(key) = header_key(&headers) else {
        return api_error(StatusCode::UNAUTHORIZED, "You did not provide an API key. You need to provide your API key in the Authorization header.".into());
    };
    let account_id = {
        let store = standin.store.lock().expect("stand-in store poisoned");
        let config = standin.config();
        if let Some(grant) = store.active_grant(&key).filter(|grant| grant.dialect.is_stripe()) {
            Some(grant.account_id.clone())
        } else if config.clients.iter().chain(&config.apps).any(|client| client.secret_key == key) {
            let requested = headers.get("stripe-account").and_then(|v| v.to_str().ok()).unwrap_or("");
            store.grants.values().find(|g| !g.revoked && g.dialect.is_stripe() && g.account_id == requested).map(|g| g.account_id.clone())
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
