//! Stripe Apps OAuth 2.0: the install link (`/apps/oauth/v2/authorize`, at Stripe
//! `marketplace.stripe.com/oauth/v2/authorize`) and `POST /v1/oauth/token`. Unlike Connect there is no
//! `response_type`, `scope` or PKCE, access tokens last an hour, refresh tokens roll on every refresh,
//! and there is no deauthorize call.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use crate::oauth::{self, oauth_error, redirect_with};
use crate::pages::{self, ConsentForm};
use crate::store::{random_id, Account, Dialect, IssuedCode, Lifetimes, Store};
use crate::stripe_signature::ApplicationEvent;
use crate::{RegisteredClient, Standin, APPS_ACCESS_TOKEN_LIFETIME_SECS, APPS_REFRESH_TOKEN_LIFETIME_SECS, CODE_LIFETIME_SECS};

/// The only scope a Stripe App's token carries; what it may do is the app manifest's permissions.
const SCOPE: &str = "stripe_apps";

const LIFETIMES: Lifetimes = Lifetimes { access: Some(APPS_ACCESS_TOKEN_LIFETIME_SECS), refresh: Some(APPS_REFRESH_TOKEN_LIFETIME_SECS) };

struct InstallRequest {
    client: RegisteredClient,
    redirect_uri: String,
    state: String,
}

/// Only the client and its redirect URI are checked, and their errors are shown, never redirected.
fn validate(standin: &Standin, params: &HashMap<String, String>) -> Result<InstallRequest, String> {
    let client_id = params.get("client_id").map(String::as_str).unwrap_or("");
    let client = standin
        .config()
        .apps
        .into_iter()
        .find(|client| client.client_id == client_id)
        .ok_or_else(|| format!("No app matches the supplied client identifier: {client_id:?}"))?;
    let redirect_uri = match params.get("redirect_uri") {
        Some(uri) if client.redirect_uris.contains(uri) => uri.clone(),
        Some(uri) => return Err(format!("Invalid redirect URI {uri:?}. It must be one of the app's allowed_redirect_uris.")),
        None => client.redirect_uris.first().cloned().ok_or("The app has no allowed_redirect_uris.")?,
    };
    Ok(InstallRequest { client, redirect_uri, state: params.get("state").cloned().unwrap_or_default() })
}

fn consent_form(request: &InstallRequest, email: &str) -> ConsentForm {
    ConsentForm {
        provider: "Stripe".into(),
        action: "/apps/oauth/v2/authorize".into(),
        client_name: request.client.name.clone(),
        request: "asks you to install the app on your Stripe account.".into(),
        allow_label: "Install the app".into(),
        hidden: vec![("client_id", request.client.client_id.clone()), ("redirect_uri", request.redirect_uri.clone()), ("state", request.state.clone())],
        email: email.to_owned(),
        demo_emails: oauth::stripe_demo_emails(),
    }
}

/// `GET /apps/oauth/v2/authorize`: the install link's sign-in and consent page.
pub(crate) async fn authorize_page(State(standin): State<Standin>, Query(params): Query<HashMap<String, String>>) -> Response {
    match validate(&standin, &params) {
        Ok(request) => Html(pages::consent_page(&consent_form(&request, ""), None)).into_response(),
        Err(message) => oauth::error_page("Stripe", &message),
    }
}

/// `POST /apps/oauth/v2/authorize`: the decision, with the hidden fields validated again.
pub(crate) async fn authorize_decision(State(standin): State<Standin>, body: Bytes) -> Response {
    let params = oauth::parse_form(&body);
    let request = match validate(&standin, &params) {
        Ok(request) => request,
        Err(message) => return oauth::error_page("Stripe", &message),
    };
    if params.get("decision").map(String::as_str) != Some("allow") {
        return redirect_with(
            "Stripe",
            &request.redirect_uri,
            &[("error", "access_denied"), ("error_description", "The user denied your request"), ("state", &request.state)],
        );
    }
    let Some(account) = oauth::sign_in(&standin, &params) else {
        let form = consent_form(&request, params.get("email").map(String::as_str).unwrap_or(""));
        return (StatusCode::UNAUTHORIZED, Html(pages::consent_page(&form, Some("Incorrect email or password.")))).into_response();
    };
    install(&standin, &request, &account)
}

/// The app is installed on `account`: a code, the `account.application.authorized` event, and the
/// redirect (without `state` when none was given, as for installs begun in the Marketplace).
fn install(standin: &Standin, request: &InstallRequest, account: &Account) -> Response {
    let code = random_id("ac_", 24);
    let (webhook, now) = {
        let mut store = standin.store.lock().expect("stand-in store poisoned");
        let issued_at = store.now();
        store.codes.insert(
            code.clone(),
            IssuedCode {
                dialect: Dialect::Apps,
                client_id: request.client.client_id.clone(),
                account_id: account.id.clone(),
                scope: SCOPE.into(),
                livemode: account.livemode,
                redirect_uri: request.redirect_uri.clone(),
                code_challenge: None,
                issued_at,
                used: false,
                grant_id: None,
            },
        );
        (store.apps_webhook.clone(), issued_at)
    };
    if let Some((url, secret)) = webhook {
        let event = ApplicationEvent {
            kind: "account.application.authorized",
            account_id: account.id.clone(),
            livemode: account.livemode,
            created: now,
            application_id: request.client.client_id.clone(),
            application_name: request.client.name.clone(),
        };
        event.deliver_in_background(url, secret);
    }
    redirect_with("Stripe", &request.redirect_uri, &[("code", &code), ("state", &request.state)])
}

/// An install begun in the Stripe App Marketplace by the owner of the account signed in as `email`:
/// the first app, its first redirect URI, no `state`. Answers where Stripe sends the browser.
pub(crate) fn marketplace_install(standin: &Standin, email: &str) -> Option<String> {
    let config = standin.config();
    let account = config.accounts.iter().find(|a| a.email.eq_ignore_ascii_case(email.trim()))?;
    let client = config.apps.first()?.clone();
    let redirect_uri = client.redirect_uris.first()?.clone();
    let response = install(standin, &InstallRequest { client, redirect_uri, state: String::new() }, account);
    response.headers().get("location")?.to_str().ok().map(str::to_owned)
}

/// `POST /v1/oauth/token`: the app's secret key as HTTP Basic user name (or Bearer), never a field.
pub(crate) async fn token(State(standin): State<Standin>, headers: HeaderMap, body: Bytes) -> Response {
    let count = |store: &mut Store| {
        store.token_requests += 1;
        store.apps_token_requests += 1;
    };
    if let Some(fault) = oauth::play_fault(&standin, count, oauth::stripe_server_error()).await {
        return fault;
    }
    let response = apps_token(&standin, &headers, &body);
    oauth::answer_late(&standin).await;
    response
}

fn apps_token(standin: &Standin, headers: &HeaderMap, body: &Bytes) -> Response {
    let Some(client) = oauth::client_with_key(standin.config().apps, oauth::header_key(headers)) else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "No valid API key provided.");
    };
    let form = oauth::parse_form(body);
    let get = |name: &str| form.get(name).map(String::as_str).unwrap_or("");
    let mut store = standin.store.lock().expect("stand-in store poisoned");
    match get("grant_type") {
        "authorization_code" => {
            let code = get("code");
            if code.is_empty() {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "No authorization code provided.");
            }
            if let Err(description) = store.redeem_code(&Dialect::Apps, &client.client_id, code, CODE_LIFETIME_SECS) {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description);
            }
            let (access_token, grant) = store.open_grant(code, LIFETIMES);
            oauth::stripe_token_response(&access_token, &grant)
        }
        "refresh_token" => {
            let refresh_token = get("refresh_token");
            if refresh_token.is_empty() {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "No refresh token provided.");
            }
            match store.refresh(&Dialect::Apps, &client.client_id, refresh_token, LIFETIMES) {
                Ok((access_token, grant)) => oauth::stripe_token_response(&access_token, &grant),
                Err(_) => oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", format!("Invalid refresh token: {refresh_token}")),
            }
        }
        "" => oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "No grant_type provided."),
        other => oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", format!("Unsupported grant type: {other}")),
    }
}
