//! The slice of Stripe's REST API the product reads: `GET /v1/account` and the lists, for Connect and
//! Apps access tokens, the platform key with `Stripe-Account`, and API keys (`sk_…`, `rk_…`) issued by
//! [`Standin::issue_stripe_key`], sent as `Authorization: Bearer` or as the HTTP Basic user name.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::keys::{ApiKey, KeyOwner};
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

/// Who a request acts as: the account, in which mode, and the API key when one was used.
struct Acting {
    account: crate::Account,
    livemode: bool,
    key: Option<(String, ApiKey)>,
}

/// Stripe's 403 for a permission the key (or the access granted) lacks.
fn permission_denied(key: Option<&str>, account_id: &str, permission: &str) -> Response {
    let key = key.map(|key| format!(" '{}'", masked(key))).unwrap_or_default();
    let message = format!(
        "The provided key{key} does not have the required permissions for this endpoint on account '{account_id}'. Having the '{permission}' permission would allow this request to continue."
    );
    (StatusCode::FORBIDDEN, Json(json!({ "error": { "type": "invalid_request_error", "code": "permission_denied", "message": message } }))).into_response()
}

/// The account a request acts for: with an API key of the account, a connected account's access
/// token, or the platform key and `Stripe-Account`. Refused with Stripe's words (answered as 401).
fn acting_account(standin: &Standin, headers: &HeaderMap) -> Result<Acting, String> {
    let Some(key) = header_key(headers) else {
        return Err("You did not provide an API key. You need to provide your API key in the Authorization header.".into());
    };
    let invalid = || format!("Invalid API Key provided: {}", masked(&key));
    if let Some(api_key) = standin.api_key(&key) {
        let KeyOwner::Stripe { account_id, .. } = &api_key.owner else {
            return Err(invalid());
        };
        let account = standin.config().accounts.into_iter().find(|a| a.id == *account_id).ok_or_else(invalid)?;
        return Ok(Acting { account, livemode: api_key.livemode(), key: Some((key, api_key)) });
    }
    let found = {
        let store = standin.store.lock().expect("stand-in store poisoned");
        let config = standin.config();
        if let Some(grant) = store.active_grant(&key).filter(|grant| grant.dialect.is_stripe()) {
            Some((grant.account_id.clone(), Some(grant.livemode)))
        } else if config.clients.iter().chain(&config.apps).any(|client| client.secret_key == key) {
            let requested = headers.get("stripe-account").and_then(|v| v.to_str().ok()).unwrap_or("");
            store.grants.values().find(|g| !g.revoked && g.dialect.is_stripe() && g.account_id == requested).map(|g| (g.account_id.clone(), None))
        } else {
            None
        }
    };
    let accounts = standin.config().accounts;
    match found.and_then(|(id, livemode)| accounts.into_iter().find(|a| a.id == id).map(|account| (account, livemode))) {
        Some((account, livemode)) => Ok(Acting { livemode: livemode.unwrap_or(account.livemode), account, key: None }),
        None => Err(invalid()),
    }
}

/// `GET /v1/account`.
pub(crate) async fn account(State(standin): State<Standin>, headers: HeaderMap) -> Response {
    let Acting { account, key, .. } = match acting_account(&standin, &headers) {
        Ok(acting) => acting,
        Err(refused) => return api_error(StatusCode::UNAUTHORIZED, refused),
    };
    if let Some((key, _)) = key.as_ref().filter(|(_, api_key)| api_key.account_refused) {
        return permission_denied(Some(key), &account.id, "rak_account_read");
    }
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

/// The lists the product syncs, each with a few made-up objects per account.
pub const LISTS: [&str; 7] = ["customers", "charges", "coupons", "invoices", "plans", "subscriptions", "events"];

#[derive(serde::Deserialize)]
pub(crate) struct ListQuery {
    limit: Option<usize>,
}

/// `GET /v1/{customers,charges,…}?limit=N`: Stripe's list shape, newest first. A table refused for
/// the account (`Standin::refuse_list`) answers 403 as Stripe does for a missing permission.
pub(crate) async fn list(
    State(standin): State<Standin>,
    axum::extract::Path(list): axum::extract::Path<String>,
    axum::extract::Query(query): axum::extract::Query<ListQuery>,
    headers: HeaderMap,
) -> Response {
    if !LISTS.contains(&list.as_str()) {
        return api_error(StatusCode::NOT_FOUND, format!("Unrecognized request URL (GET: /v1/{list})."));
    }
    let Acting { account, livemode, key } = match acting_account(&standin, &headers) {
        Ok(acting) => acting,
        Err(refused) => return api_error(StatusCode::UNAUTHORIZED, refused),
    };
    let key_refuses = key.as_ref().is_some_and(|(_, api_key)| api_key.refused_tables.contains(&list));
    let (refused, now, delay, newest, padding) = {
        let store = standin.store.lock().expect("stand-in store poisoned");
        (store.refused_lists.contains(&(account.id.clone(), list.clone())), store.now(), store.list_delay, store.list_created, store.list_padding)
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    if refused || key_refuses {
        let permission = format!("rak_{}_read", list.trim_end_matches('s'));
        return permission_denied(key.as_ref().map(|(key, _)| key.as_str()), &account.id, &permission);
    }
    let limit = query.limit.unwrap_or(10).clamp(1, 100);
    // Three objects, an hour apart, the newest a minute ago by the stand-in's clock.
    let prefix = match list.as_str() {
        "customers" => "cus",
        "charges" => "ch",
        "coupons" => "co",
        "invoices" => "in",
        "plans" => "plan",
        "subscriptions" => "sub",
        _ => "evt",
    };
    let object = list.trim_end_matches('s');
    // `Standin::list_created` puts a time of its choosing on the newest object.
    let created = |i: i64| if i == 0 { newest.unwrap_or(now - 60) } else { now - 60 - i * 3600 };
    let data: Vec<_> = (0..3)
        .take(limit)
        .map(|i| json!({ "id": format!("{prefix}_{}{i}", &account.id[5.min(account.id.len())..]), "object": object, "created": created(i), "livemode": livemode }))
        .collect();
    let mut answer = json!({ "object": "list", "url": format!("/v1/{list}"), "has_more": limit < 3, "data": data });
    if let Some(bytes) = padding {
        answer["padding"] = json!("x".repeat(bytes));
    }
    Json(answer).into_response()
}
