//! The realms' protected resources (a bearer token, RFC 6750): `GET /oauth2/{realm}/api/me`, and one
//! page of each made-up data table at `/oauth2/{realm}/api/data/{table}`.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::{find, no_such_realm};
use crate::store::Dialect;
use crate::Standin;

/// RFC 6750 §3: without a token, only a challenge; with a bad one, `error="invalid_token"`.
fn unauthorized(error: &str, description: &str) -> Response {
    let challenge = if error == "invalid_token" { "Bearer error=\"invalid_token\"" } else { "Bearer" };
    let body = Json(json!({ "error": error, "error_description": description }));
    (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, challenge)], body).into_response()
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let (scheme, token) = headers.get(header::AUTHORIZATION)?.to_str().ok()?.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
}

/// The signed-in account: `{"data": {"id", "email", "profile": {"company"}}}`.
pub(crate) async fn me(State(standin): State<Standin>, Path(realm): Path<String>, headers: HeaderMap) -> Response {
    let Some(realm) = find(&standin, &realm) else {
        return no_such_realm();
    };
    let Some(token) = bearer_token(&headers) else {
        return unauthorized("invalid_request", "An access token is required.");
    };
    let account_id = {
        let store = standin.store.lock().expect("stand-in store poisoned");
        let dialect = Dialect::Realm(realm.id.clone());
        store.active_grant(token).filter(|grant| grant.dialect == dialect).map(|grant| grant.account_id.clone())
    };
    let Some(account) = account_id.and_then(|id| realm.accounts.iter().find(|a| a.id == id)) else {
        return unauthorized("invalid_token", "The access token is invalid, expired or revoked.");
    };
    Json(json!({ "data": { "id": account.id, "email": account.email, "profile": { "company": account.company } } })).into_response()
}

/// `GET /oauth2/{realm}/api/data/{table}`: one page of a made-up data table (`items`, each with an
/// RFC 3339 `created_at`, newest first), for the data-access check. The grant's scopes decide:
/// a table whose `<table>.read` scope was not granted answers 403 `insufficient_scope` (RFC 6750).
pub(crate) async fn data(State(standin): State<Standin>, Path((realm, table)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let Some(realm) = find(&standin, &realm) else {
        return no_such_realm();
    };
    let Some(token) = bearer_token(&headers) else {
        return unauthorized("invalid_request", "An access token is required.");
    };
    let (grant, now) = {
        let store = standin.store.lock().expect("stand-in store poisoned");
        let dialect = Dialect::Realm(realm.id.clone());
        (store.active_grant(token).filter(|grant| grant.dialect == dialect).map(|grant| (grant.account_id.clone(), grant.scope.clone())), store.now())
    };
    let Some((account_id, scope)) = grant else {
        return unauthorized("invalid_token", "The access token is invalid, expired or revoked.");
    };
    let needed = format!("{table}.read");
    if realm.scopes.contains(&needed) && !scope.split(' ').any(|granted| granted == needed) {
        let body = json!({ "error": "insufficient_scope", "error_description": format!("The token's scope does not include {needed}.") });
        return (StatusCode::FORBIDDEN, [(header::WWW_AUTHENTICATE, format!("Bearer error=\"insufficient_scope\", scope=\"{needed}\""))], Json(body))
            .into_response();
    }
    let created = |age_secs: i64| chrono::DateTime::<chrono::Utc>::from_timestamp(now - age_secs, 0).unwrap_or_default().to_rfc3339();
    let items: Vec<_> = (0..2).map(|i| json!({ "id": format!("{account_id}-{table}-{i}"), "created_at": created(120 + i * 86_400) })).collect();
    Json(json!({ "items": items })).into_response()
}
