//! Stripe Connect's `/oauth/authorize`, `/oauth/token` and `/oauth/deauthorize`, with Stripe's
//! parameters, error codes and response fields; and what the other dialects share with it (error
//! bodies, redirects, key parsing, PKCE, token faults).

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
use crate::store::{random_id, Account, Dialect, Grant, IssuedCode, Lifetimes, Store};
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

pub(crate) enum AuthorizeError {
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
        (Some(_), Some("S256")) => return Err(redirect_error("invalid_request", "Invalid code_challenge: expected 43 base64url characters.")),
        (Some(_), _) => return Err(redirect_error("invalid_request", "Unsupported code_challenge_method: only S256 is accepted.")),
    };
    Ok(AuthorizeRequest { client, redirect_uri, scope, state, code_challenge })
}

/// RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is 43 characters.
pub(crate) fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43 && challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub(crate) fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

pub(crate) fn parse_form(body: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// Redirects to `redirect_uri` with `pairs` added to its query; empty values are left out.
pub(crate) fn redirect_with(provider: &str, redirect_uri: &str, pairs: &[(&str, &str)]) -> Response {
    let mut url = match url::Url::parse(redirect_uri) {
        Ok(url) => url,
        Err(_) => return error_page(provider, "The registered redirect URI is not a URL."),
    };
    url.query_pairs_mut().extend_pairs(pairs.iter().filter(|(_, value)| !value.is_empty()));
    Redirect::to(url.as_str()).into_response()
}

/// `400` with the provider's own error page: for errors that must not be redirected.
pub(crate) fn error_page(provider: &str, message: &str) -> Response {
    (StatusCode::BAD_REQUEST, Html(pages::error_page(provider, message))).into_response()
}

pub(crate) fn authorize_error(provider: &str, error: AuthorizeError) -> Response {
    match error {
        AuthorizeError::Page(message) => error_page(provider, &message),
        AuthorizeError::Redirect { redirect_uri, state, error, description } => {
            redirect_with(provider, &redirect_uri, &[("error", error), ("error_description", &description), ("state", &state)])
        }
    }
}

/// `GET /oauth/authorize`: the sign-in and consent page.
pub(crate) async fn authorize_page(State(standin): State<Standin>, Query(params): Query<HashMap<String, String>>) -> Response {
    match validate(&standin, &params) {
        Ok(request) => Html(pages::consent_page(&consent_form(&request, &params), None)).into_response(),
        Err(error) => authorize_error("Stripe", error),
    }
}

fn consent_form(request: &AuthorizeRequest, params: &HashMap<String, String>) -> ConsentForm {
    let access = if request.scope == "read_write" { "read and write" } else { "read-only" };
    ConsentForm {
        provider: "Stripe".into(),
        action: "/oauth/authorize".into(),
        client_name: request.client.name.clone(),
        request: format!("would like {access} access to your Stripe account."),
        allow_label: "Connect my Stripe account".into(),
        hidden: vec![
            ("client_id", request.client.client_id.clone()),
            ("redirect_uri", request.redirect_uri.clone()),
            ("scope", request.scope.clone()),
            ("state", request.state.clone()),
            ("code_challenge", request.code_challenge.clone().unwrap_or_default()),
            ("code_challenge_method", params.get("code_challenge_method").cloned().unwrap_or_default()),
        ],
        email: params.get("email").cloned().unwrap_or_default(),
        demo_emails: stripe_demo_emails(),
    }
}

/// The demo's two Stripe accounts, suggested on Stripe's sign-in pages.
pub(crate) fn stripe_demo_emails() -> Vec<String> {
    vec![crate::DEMO_EMAIL.to_owned(), "finance@globex.test".to_owned()]
}

/// The Stripe account the consent form's `email` and `password` sign in to.
pub(crate) fn sign_in(standin: &Standin, params: &HashMap<String, String>) -> Option<Account> {
    let email = params.get("email").map(String::as_str).unwrap_or("");
    let password = params.get("password").map(String::as_str).unwrap_or("");
    standin.config().accounts.into_iter().find(|a| a.email.eq_ignore_ascii_case(email.trim()) && a.password == password)
}

/// `POST /oauth/authorize`: the user's decision. Every hidden field is validated again.
pub(crate) async fn authorize_decision(State(standin): State<Standin>, body: Bytes) -> Response {
    let mut params = parse_form(&body);
    params.insert("response_type".into(), "code".into());
    let request = match validate(&standin, &params) {
        Ok(request) => request,
        Err(error) => return authorize_error("Stripe", error),
    };
    if params.get("decision").map(String::as_str) != Some("allow") {
        return redirect_with(
            "Stripe",
            &request.redirect_uri,
            &[("error", "access_denied"), ("error_description", "The user denied your request"), ("state", &request.state)],
        );
    }
    let Some(account) = sign_in(&standin, &params) else {
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
                dialect: Dialect::Connect,
                client_id: request.client.client_id.clone(),
                account_id: account.id.clone(),
                scope: request.scope.clone(),
                livemode: account.livemode,
                redirect_uri: request.redirect_uri.clone(),
                code_challenge: request.code_challenge.clone(),
                mode: None,
                issued_at,
                used: false,
                grant_id: None,
            },
        );
    }
    redirect_with("Stripe", &request.redirect_uri, &[("code", &code), ("scope", &request.scope), ("state", &request.state)])
}

/// A Stripe secret key sent as `Authorization: Basic` (key as user name) or `Authorization: Bearer`.
pub(crate) fn header_key(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    if let Some(encoded) = value.strip_prefix("Basic ") {
        let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
        Some(decoded.split(':').next().unwrap_or("").to_owned())
    } else {
        value.strip_prefix("Bearer ").map(|key| key.trim().to_owned())
    }
}

/// The client among `clients` whose secret key is `key`.
pub(crate) fn client_with_key(clients: Vec<RegisteredClient>, key: Option<String>) -> Option<RegisteredClient> {
    let key = key.filter(|key| !key.is_empty())?;
    clients.into_iter().find(|client| client.secret_key == key)
}

/// The platform's secret key, from `client_secret`, `Authorization: Basic` (key as user name) or
/// `Authorization: Bearer`, and the client it belongs to.
pub(crate) fn authenticate_platform(standin: &Standin, headers: &HeaderMap, form: &HashMap<String, String>) -> Option<RegisteredClient> {
    client_with_key(standin.config().clients, header_key(headers).or_else(|| form.get("client_secret").cloned()))
}

/// Counts a token request (with `count`) and plays the configured fault: `Some` is the answer to
/// send instead of the real one. `server_error` is the dialect's body for a `500`.
pub(crate) async fn play_fault(standin: &Standin, count: impl FnOnce(&mut Store), server_error: serde_json::Value) -> Option<Response> {
    let fault = {
        let mut store = standin.store.lock().expect("stand-in store poisoned");
        count(&mut store);
        store.token_fault
    };
    match fault {
        Some(TokenFault::ServerError) => Some((StatusCode::INTERNAL_SERVER_ERROR, Json(server_error)).into_response()),
        Some(TokenFault::Garbage) => Some((StatusCode::OK, "<html>upstream proxy error</html>").into_response()),
        Some(TokenFault::Slow(delay)) => {
            tokio::time::sleep(delay).await;
            None
        }
        Some(TokenFault::AnswerLate(_)) | None => None,
    }
}

/// Stripe's API error body for a `500`.
pub(crate) fn stripe_server_error() -> serde_json::Value {
    json!({ "error": { "type": "api_error", "message": "An unknown error occurred" } })
}

/// With [`TokenFault::AnswerLate`], waits before the answer goes out: what the request did (a code
/// used, a refresh token rolled) is done already, as when a provider's answer is slow on the way back.
pub(crate) async fn answer_late(standin: &Standin) {
    let fault = standin.store.lock().expect("stand-in store poisoned").token_fault;
    if let Some(TokenFault::AnswerLate(delay)) = fault {
        tokio::time::sleep(delay).await;
    }
}

/// `POST /oauth/token`
pub(crate) async fn token(State(standin): State<Standin>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(fault) = play_fault(&standin, |store| store.token_requests += 1, stripe_server_error()).await {
        return fault;
    }
    let response = connect_token(&standin, &headers, &body);
    answer_late(&standin).await;
    response
}

fn connect_token(standin: &Standin, headers: &HeaderMap, body: &Bytes) -> Response {
    let form = parse_form(body);
    let Some(client) = authenticate_platform(standin, headers, &form) else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "No valid API key provided.");
    };
    let get = |name: &str| form.get(name).map(String::as_str).unwrap_or("");
    let mut store = standin.store.lock().expect("stand-in store poisoned");
    // Connect's tokens never expire by time.
    let lifetimes = Lifetimes { access: None, refresh: None };
    match get("grant_type") {
        "authorization_code" => {
            let code = get("code");
            if code.is_empty() {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "No authorization code provided.");
            }
            let issued = match store.redeem_code(&Dialect::Connect, &client.client_id, code, CODE_LIFETIME_SECS) {
                Ok(issued) => issued,
                Err(description) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description),
            };
            if let Some(challenge) = &issued.code_challenge {
                let verifier = get("code_verifier");
                if verifier.is_empty() || &s256(verifier) != challenge {
                    return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "The code_verifier does not match the code_challenge.");
                }
            }
            let (access_token, grant) = store.open_grant(code, lifetimes);
            stripe_token_response(&access_token, &grant)
        }
        "refresh_token" => {
            let refresh_token = get("refresh_token");
            match store.refresh(&Dialect::Connect, &client.client_id, refresh_token, lifetimes) {
                Ok((access_token, grant)) => stripe_token_response(&access_token, &grant),
                Err(_) => oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", format!("Invalid refresh token: {refresh_token}")),
            }
        }
        "" => oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "No grant_type provided."),
        other => oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", format!("Unsupported grant type: {other}")),
    }
}

/// The token answer of both Stripe dialects (Connect and Apps): no `expires_in`.
pub(crate) fn stripe_token_response(access_token: &str, grant: &Grant) -> Response {
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
    let form = parse_form(&body);
    let Some(client) = authenticate_platform(&standin, &headers, &form) else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "No valid API key provided.");
    };
    let client_id = form.get("client_id").cloned().unwrap_or_default();
    let account_id = form.get("stripe_user_id").cloned().unwrap_or_default();
    if client_id != client.client_id {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", format!("No such application: '{client_id}'"));
    }
    let mut store = standin.store.lock().expect("stand-in store poisoned");
    let revoked = store.revoke(|_, grant| grant.dialect == Dialect::Connect && grant.client_id == client_id && grant.account_id == account_id);
    if revoked == 0 {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", format!("Application {client_id} is not connected to stripe_user_id {account_id}"));
    }
    Json(json!({ "stripe_user_id": account_id })).into_response()
}
