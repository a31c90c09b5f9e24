//! Stripe Apps OAuth 2.0: the install link (`/apps/oauth/v2/authorize`, at Stripe
//! `marketplace.stripe.com/oauth/v2/authorize`) and `POST /v1/oauth/token`. Unlike Connect there is no
//! `response_type`, `scope` or PKCE, access tokens last an hour, refresh tokens roll on every refresh,
//! and there is no deauthorize call.
//!
//! **Modes.** Stripe makes a separate install link per mode, and a code is exchanged (and its grant
//! refreshed) only with the app's secret key of the mode whose link issued it; any other key answers
//! `400 invalid_grant` "Authorization code provided does not belong to you". Here the mode is a path
//! segment of the install link:
//! - `/apps/oauth/v2/live/authorize`, `/apps/oauth/v2/test/authorize`, `/apps/oauth/v2/sandbox/authorize`:
//!   the code belongs to that mode; its tokens carry `livemode: true` for live, `false` otherwise.
//! - `/apps/oauth/v2/authorize` (no mode), the stand-in's original link: exchanged with the live key
//!   (`RegisteredClient::secret_key`), `livemode` the signed-in account's own flag, as before modes.
//!
//! The live key is `RegisteredClient::secret_key`; the test and sandbox keys are
//! `RegisteredClient::mode_secret_keys` (`StandinConfig::with_app_mode_key`, `Standin::set_app_mode_key`).
//! Installs begun in the Marketplace carry no `state`: `Standin::marketplace_install_in` installs in
//! a mode and returns to the allowed redirect URI asked, so a server can keep one return address per
//! mode. Each mode may have its own webhook endpoint and secret (`Standin::set_apps_mode_webhook`).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use crate::oauth::{self, oauth_error, redirect_with};
use crate::pages::{self, ConsentForm};
use crate::store::{random_id, Account, Dialect, IssuedCode, Lifetimes, Store, StripeMode};
use crate::stripe_signature::ApplicationEvent;
use crate::{RegisteredClient, Standin, APPS_ACCESS_TOKEN_LIFETIME_SECS, APPS_REFRESH_TOKEN_LIFETIME_SECS, CODE_LIFETIME_SECS};

/// The only scope a Stripe App's token carries; what it may do is the app manifest's permissions.
const SCOPE: &str = "stripe_apps";

const LIFETIMES: Lifetimes = Lifetimes { access: Some(APPS_ACCESS_TOKEN_LIFETIME_SECS), refresh: Some(APPS_REFRESH_TOKEN_LIFETIME_SECS) };

struct InstallRequest {
    client: RegisteredClient,
    redirect_uri: String,
    state: String,
    /// The install link's mode; `None` for the mode-less link.
    mode: Option<StripeMode>,
}

/// What Stripe answers when a code (or refresh token) is presented with another mode's key.
pub const NOT_YOURS: &str = "Authorization code provided does not belong to you";

/// The install link of `mode`: the form posts back to it.
fn link(mode: Option<StripeMode>) -> String {
    match mode {
        Some(mode) => format!("/apps/oauth/v2/{}/authorize", mode.as_str()),
        None => "/apps/oauth/v2/authorize".to_owned(),
    }
}

fn unknown_mode(mode: &str) -> Response {
    oauth::error_page("Stripe", &format!("Unknown mode {mode:?}: live, test or sandbox."))
}

/// Only the client and its redirect URI are checked, and their errors are shown, never redirected.
fn validate(standin: &Standin, params: &HashMap<String, String>, mode: Option<StripeMode>) -> Result<InstallRequest, String> {
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
    Ok(InstallRequest { client, redirect_uri, state: params.get("state").cloned().unwrap_or_default(), mode })
}

fn consent_form(request: &InstallRequest, email: &str) -> ConsentForm {
    ConsentForm {
        provider: "Stripe".into(),
        action: link(request.mode),
        client_name: request.client.name.clone(),
        request: match request.mode {
            Some(mode) => format!("asks you to install the app on your Stripe account ({} mode).", mode.as_str()),
            None => "asks you to install the app on your Stripe account.".into(),
        },
        allow_label: "Install the app".into(),
        hidden: vec![("client_id", request.client.client_id.clone()), ("redirect_uri", request.redirect_uri.clone()), ("state", request.state.clone())],
        email: email.to_owned(),
        demo_emails: oauth::stripe_demo_emails(),
    }
}

/// `GET /apps/oauth/v2/authorize`: the mode-less install link's sign-in and consent page.
pub(crate) async fn authorize_page(State(standin): State<Standin>, Query(params): Query<HashMap<String, String>>) -> Response {
    show(&standin, &params, None)
}

/// `GET /apps/oauth/v2/{mode}/authorize`: the install link of one mode.
pub(crate) async fn mode_authorize_page(State(standin): State<Standin>, Path(mode): Path<String>, Query(params): Query<HashMap<String, String>>) -> Response {
    match StripeMode::parse(&mode) {
        Some(parsed) => show(&standin, &params, Some(parsed)),
        None => unknown_mode(&mode),
    }
}

/// `POST /apps/oauth/v2/{mode}/authorize`: the decision on one mode's install link.
pub(crate) async fn mode_authorize_decision(State(standin): State<Standin>, Path(mode): Path<String>, body: Bytes) -> Response {
    match StripeMode::parse(&mode) {
        Some(parsed) => decide(&standin, &body, Some(parsed)),
        None => unknown_mode(&mode),
    }
}

fn show(standin: &Standin, params: &HashMap<String, String>, mode: Option<StripeMode>) -> Response {
    match validate(standin, params, mode) {
        Ok(request) => Html(pages::consent_page(&consent_form(&request, ""), None)).into_response(),
        Err(message) => oauth::error_page("Stripe", &message),
    }
}

/// `POST /apps/oauth/v2/authorize`: the decision, with the hidden fields validated again.
pub(crate) async fn authorize_decision(State(standin): State<Standin>, body: Bytes) -> Response {
    decide(&standin, &body, None)
}

fn decide(standin: &Standin, body: &[u8], mode: Option<StripeMode>) -> Response {
    let params = oauth::parse_form(body);
    let request = match validate(standin, &params, mode) {
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
    let Some(account) = oauth::sign_in(standin, &params) else {
        let form = consent_form(&request, params.get("email").map(String::as_str).unwrap_or(""));
        return (StatusCode::UNAUTHORIZED, Html(pages::consent_page(&form, Some("Incorrect email or password.")))).into_response();
    };
    install(standin, &request, &account)
}

/// The app is installed on `account`: a code, the `account.application.authorized` event, and the
/// redirect (without `state` when none was given, as for installs begun in the Marketplace).
fn install(standin: &Standin, request: &InstallRequest, account: &Account) -> Response {
    let code = random_id("ac_", 24);
    let livemode = request.mode.map_or(account.livemode, StripeMode::livemode);
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
                livemode,
                redirect_uri: request.redirect_uri.clone(),
                code_challenge: None,
                mode: request.mode,
                issued_at,
                used: false,
                grant_id: None,
            },
        );
        (request.mode.and_then(|mode| store.apps_mode_webhooks.get(&mode).cloned()).or_else(|| store.apps_webhook.clone()), issued_at)
    };
    if let Some((url, secret)) = webhook {
        let event = ApplicationEvent {
            kind: "account.application.authorized",
            account_id: account.id.clone(),
            livemode,
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
pub(crate) fn marketplace_install(standin: &Standin, email: &str, mode: Option<StripeMode>, redirect_uri: Option<&str>) -> Option<String> {
    let config = standin.config();
    let account = config.accounts.iter().find(|a| a.email.eq_ignore_ascii_case(email.trim()))?;
    let client = config.apps.first()?.clone();
    let redirect_uri = match redirect_uri {
        Some(uri) => client.redirect_uris.iter().find(|allowed| *allowed == uri)?.clone(),
        None => client.redirect_uris.first()?.clone(),
    };
    let response = install(standin, &InstallRequest { client, redirect_uri, state: String::new(), mode }, account);
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
    let key = oauth::header_key(headers).unwrap_or_default();
    let found = standin.config().apps.into_iter().filter(|_| !key.is_empty()).find_map(|client| client.mode_of_key(&key).map(|mode| (client, mode)));
    let Some((client, key_mode)) = found else {
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
            // Another mode's key: refused before the code is touched, so the right key can still use it.
            let issued = store.codes.get(code).filter(|issued| issued.dialect == Dialect::Apps && issued.client_id == client.client_id);
            if issued.is_some_and(|issued| issued.mode.unwrap_or(StripeMode::Live) != key_mode) {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", NOT_YOURS);
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
            let grant = store.refresh_tokens.get(refresh_token).and_then(|id| store.grants.get(id));
            if grant.is_some_and(|grant| grant.client_id == client.client_id && grant.mode.unwrap_or(StripeMode::Live) != key_mode) {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", format!("Invalid refresh token: {refresh_token}"));
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
