//! `/oauth/authorize`, `/oauth/token` and `/oauth/deauthorize`, with Stripe's parameters, error codes
//! and response fields.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Json;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::pages::{self, ConsentForm};
use crate::store::{random_id, IssuedCode, IssuedToken};
use crate::{RegisteredClient, Standin, TokenFault, CODE_LIFETIME_SECS};

const SCOPES: [&str; 2] = ["read_only", "read_write"];

/// Stripe's OAuth error body: `{error, error_description}`.
pub(crate) fn oauth_error(status: StatusCode, error: &str, description: impl Into<String>) -> Response {
    (status, Json(json!({ "error": error, "error_description": description.into() }))).into_response()
}

/// What `GET /oauth/authorize` was asked, validated. Errors that concern the client or its
/// `redirect_uri` are shown here, never redirected: the redirect target is not trusted yet.
struct AuthorizeRequest {
    client: RegisteredClient,
    redirect_uri: String,
    scope: String,
    state: String,
    code_challenge: Option<String>,
}

enum AuthorizeError {
    /// Shown on the stand-in's own page.
    Page(String),
    /// Sent back to the (verified) redirect URI.
    Redirect { redirect_uri: String, state: String, error: &'static str, description: String },
}

fn validate(standin: &Standin, params: &HashMap<String, String>) -> Result<AuthorizeRequest, AuthorizeError> {
    let get = |name: &str| params.get(name).map(String::as_str).unwrap_or("");
    let client_id = get("client_id");
    let client = standin
        .config()
        .clients
        .iter()
        .find(|client| client.client_id == client_id)
        .cloned()
        .ok_or_else(|| AuthorizeError::Page(format!("No application matches the supplied client identifier: {client_id:?}")))?;
    let redirect_uri = match params.get("redirect_uri") {
        Some(uri) if client.redirect_uris.contains(uri) => uri.clone(),
        Some(uri) => {
            return Err(AuthorizeError::Page(format!(
                "Invalid redirect URI {uri:?}. It must exactly match one of the redirect URIs registered for this application."
            )))
        }
        None => client.redirect_uris.first().cloned().ok_or_else(|| AuthorizeError::Page("No redirect URI is registered.".into()))?,
    };
    let state = get("state").to_owned();
    let redirect_error = |error, description: &str| AuthorizeError::Redirect {
        redirect_uri: redirect_uri.clone(),
        state: state.clone(),
        error,
        description: description.to_owned(),
    };
    if get("response_type") != "code" {
        return Err(redirect_error("invalid_request", "Invalid response_type: only 'code' is supported."));
    }
    let scope = match params.get("scope").map(String::as_str) {
        None | Some("") => "read_only".to_owned(),
        Some(scope) if SCOPES.contains(&scope) => scope.to_owned(),
        Some(_) => return Err(redirect_error("invalid_scope", "Invalid scope: must be read_only or read_write.")),
    };
    let code_challenge = match (params.get("code_challenge"), params.get("code_challenge_method").map(String::as_str)) {
        (None, _) => None,
        (Some(challenge), Some("S256")) if is_s256_challenge(challenge) => Some(challenge.clone()),
        (Some(_), Some("S256")) => {
            return Err(redirect_error("invalid_request", "Invalid code_challenge: expected 43 base64url characters."))
        }
        (Some(_), _) => return Err(redirect_error("invalid_request", "Unsupported code_challenge_method: only S256 is accepted.")),
    };
    Ok(AuthorizeRequest { client, redirect_uri, scope, state, code_challenge })
}

fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43 && challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn redirect_with(redirect_uri: &str, pairs: &[(&str, &str)]) -> Response {
    let mut url = match url::Url::parse(redirect_uri) {
        Ok(url) => url,
        Err(_) => return (StatusCode::BAD_REQUEST, Html(pages::error_page("The registered redirect URI is not a URL."))).into_response(),
    };
    url.query_pairs_mut().extend_pairs(pairs.iter().filter(|(_, value)| !value.is_empty()));
    Redirect::to(url.as_str()).into_response()
}

fn authorize_error(error: AuthorizeError) -> Response {
    match error {
        AuthorizeError::Page(message) => (StatusCode::BAD_REQUEST, Html(pages::error_page(&message))).into_response(),
        AuthorizeError::Redirect { redirect_uri, state, error, description } => redirect_with(
            &redirect_uri,
            &[("error", error), ("error_description", &description), ("state", &state)],
        ),
    }
}

/// `GET /oauth/authorize`: the sign-in and consent page.
pub(crate) async fn authorize_page(State(standin): State<Standin>, Query(params): Query<HashMap<String, String>>) -> Response {
    match validate(&standin, &params) {
        Ok(request) => Html(pages::consent_page(&consent_form(&request, &params), None)).into_response(),
        Err(error) => authorize_error(error),
    }
}

fn consent_form(request: &AuthorizeRequest, params: &HashMap<String, String>) -> ConsentForm {
    ConsentForm {
        platform_name: request.client.name.clone(),
        client_id: request.client.client_id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        scope: request.scope.clone(),
        state: request.state.clone(),
        code_challenge: request.code_challenge.clone().unwrap_or_default(),
        code_challenge_method: params.get("code_challenge_method").cloned().unwrap_or_default(),
        email: params.get("email").cloned().unwrap_or_default(),
    }
}

/// `POST /oauth/authorize`: the user's decision. Every hidden field is validated again.
pub(crate) async fn authorize_decision(State(standin): State<Standin>, body: Bytes) -> Response {
    let mut params: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    params.insert("response_type".into(), "code".into());
    let request = match validate(&standin, &params) {
        Ok(request) => request,
        Err(error) => return authorize_error(error),
    };
    if params.get("decision").map(String::as_str) != Some("allow") {
        return redirect_with(
            &request.redirect_uri,
            &[("error", "access_denied"), ("error_description", "The user denied your request"), ("state", &request.state)],
        );
    }
    let email = params.get("email").map(String::as_str).unwrap_or("");
    let password = params.get("password").map(String::as_str).unwrap_or("");
    let accounts = standin.config().accounts;
    let Some(account) = accounts.iter().find(|a| a.email.eq_ignore_ascii_case(email.trim()) && a.password == password) else {
        let form = consent_form(&request, &params);
        return (StatusCode::UNAUTHORIZED, Html(pages::consent_page(&form, Some("Incorrect email or password.")))).into_response();
    };
    let code = random_id("ac_", 24);
    {
        let mut store = standin.store.lock().expect("stand-in store poisoned");
        let issued_at = store.now();
        store.codes.insert(
            code.clone(),
            IssuedCode {
                client_id: request.client.client_id.clone(),
                account_id: account.id.clone(),
                scope: request.scope.clone(),
                livemode: account.livemode,
                code_challenge: request.code_challenge.clone(),
                issued_at,
                used: false,
                access_tokens: Vec::new(),
            },
        );
    }
    redirect_with(&request.redirect_uri, &[("code", &code), ("scope", &request.scope), ("state", &request.state)])
}

/// The platform's secret key, from `client_secret`, `Authorization: Basic` (key as user name) or
/// `Authorization: Bearer`, and the client it belongs to.
pub(crate) fn authenticate_platform(standin: &Standin, headers: &HeaderMap, form: &HashMap<String, String>) -> Option<RegisteredClient> {
    let from_header = headers.get(header::AUTHORIZATION).and_then(|value| value.to_str().ok()).and_then(|value| {
        if let Some(encoded) = value.strip_prefix("Basic ") {
            let decoded = STANDARD.decode(encoded.trim()).ok()?;
            let decoded = String::from_utf8(decoded).ok()?;
            Some(decoded.split(':').next().unwrap_or("").to_owned())
        } else {
            value.strip_prefix("Bearer ").map(|key| key.trim().to_owned())
        }
    });
    let key = from_header.or_else(|| form.get("client_secret").cloned())?;
    standin.config().clients.into_iter().find(|client| !key.is_empty() && client.secret_key == key)
}

/// `POST /oauth/token`
pub(crate) async fn token(State(standin): State<Standin>, headers: HeaderMap, body: Bytes) -> Response {
    let fault = {
        let mut store = standin.store.lock().expect("stand-in store poisoned");
        store.token_requests += 1;
        store.token_fault
    };
    match fault {
        Some(TokenFault::ServerError) => {
            let body = json!({ "error": { "type": "api_error", "message": "An unknown error occurred" } });
            return (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response();
        }
        Some(TokenFault::Garbage) => return (StatusCode::OK, "<html>upstream proxy error</html>").into_response(),
        Some(TokenFault::Slow(delay)) => tokio::time::sleep(delay).await,
        None => {}
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let mut store = standin.store.lock().expect("stand-in store poisoned");
    let Some(client) = authenticate_platform(&standin, &headers, &form) else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "No valid API key provided.");
    };
    let get = |name: &str| form.get(name).map(String::as_str).unwrap_or("");
    match get("grant_type") {
        "authorization_code" => {
            let code = get("code");
            if code.is_empty() {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "No authorization code provided.");
            }
            let now = store.now();
            let Some(issued) = store.codes.get_mut(code) else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", format!("Authorization code does not exist: {code}"));
            };
            if issued.client_id != client.client_id {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", format!("Authorization code does not belong to you: {code}"));
            }
            if issued.used {
                // Stripe: a code used twice revokes the tokens it was exchanged for.
                let revoke: Vec<String> = issued.access_tokens.clone();
                store.revoke(|access_token, _| revoke.iter().any(|t| t == access_token));
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", format!("Authorization code has already been used: {code}"));
            }
            issued.used = true;
            if now - issued.issued_at > CODE_LIFETIME_SECS {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", format!("Authorization code expired: {code}"));
            }
            if let Some(challenge) = &issued.code_challenge {
                let verifier = get("code_verifier");
                let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
                if verifier.is_empty() || &computed != challenge {
                    return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "The code_verifier does not match the code_challenge.");
                }
            }
            let grant = IssuedToken {
                client_id: issued.client_id.clone(),
                account_id: issued.account_id.clone(),
                scope: issued.scope.clone(),
                livemode: issued.livemode,
                refresh_token: random_id("rt_", 32),
                revoked: false,
                access_expired: false,
            };
            let access_token = store.issue_token(&grant);
            if let Some(issued) = store.codes.get_mut(code) {
                issued.access_tokens.push(access_token.clone());
            }
            token_response(&access_token, &grant)
        }
        "refresh_token" => {
            let refresh_token = get("refresh_token");
            let grant = store
                .tokens
                .values()
                .find(|t| !t.revoked && !refresh_token.is_empty() && t.refresh_token == refresh_token && t.client_id == client.client_id)
                .cloned();
            let Some(grant) = grant else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", format!("Invalid refresh token: {refresh_token}"));
            };
            let access_token = store.issue_token(&grant);
            token_response(&access_token, &grant)
        }
        "" => oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "No grant_type provided."),
        other => oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", format!("Unsupported grant type: {other}")),
    }
}

fn token_response(access_token: &str, grant: &IssuedToken) -> Response {
    let mode = if grant.livemode { "live" } else { "test" };
    Json(json!({
        "access_token": access_token,
        "refresh_token": grant.refresh_token,
        "token_type": "bearer",
        "livemode": grant.livemode,
        "stripe_publishable_key": random_id(&format!("pk_{mode}_"), 32),
        "stripe_user_id": grant.account_id,
        "scope": grant.scope,
    }))
    .into_response()
}

/// `POST /oauth/deauthorize`: `client_id` + `stripe_user_id`, with the secret key.
pub(crate) async fn deauthorize(State(standin): State<Standin>, headers: HeaderMap, body: Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let Some(client) = authenticate_platform(&standin, &headers, &form) else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "No valid API key provided.");
    };
    let client_id = form.get("client_id").cloned().unwrap_or_default();
    let account_id = form.get("stripe_user_id").cloned().unwrap_or_default();
    if client_id != client.client_id {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", format!("No such application: '{client_id}'"));
    }
    let mut store = standin.store.lock().expect("stand-in store poisoned");
    let revoked = store.revoke(|_, token| token.client_id == client_id && token.account_id == account_id);
    if revoked == 0 {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            format!("Application {client_id} is not connected to stripe_user_id {account_id}"),
        );
    }
    Json(json!({ "stripe_user_id": account_id })).into_response()
}
