//! `GET` and `POST /oauth2/{realm}/authorize` (RFC 6749 §4.1.1–4.1.2, RFC 7636 §4.3).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::{find, no_such_realm, single_valued, Realm, RealmAccount};
use crate::oauth::{authorize_error, is_s256_challenge, redirect_with, AuthorizeError};
use crate::pages::{self, ConsentForm};
use crate::store::{random_id, Dialect, IssuedCode};
use crate::{Standin, DEMO_PASSWORD};

struct AuthorizeRequest {
    redirect_uri: String,
    scope: String,
    state: String,
    code_challenge: String,
}

/// Client and `redirect_uri` errors are shown, never redirected (§4.1.2.1); the rest go back to the
/// verified redirect URI.
fn validate(realm: &Realm, params: &HashMap<String, String>, repeated: Option<&str>) -> Result<AuthorizeRequest, AuthorizeError> {
    let get = |name: &str| params.get(name).map(String::as_str).unwrap_or("");
    if let Some(name @ ("client_id" | "redirect_uri")) = repeated {
        return Err(AuthorizeError::Page(format!("The {name} parameter is included more than once.")));
    }
    if get("client_id") != realm.client_id {
        return Err(AuthorizeError::Page(format!("Unknown client_id {:?}.", get("client_id"))));
    }
    let redirect_uri = match params.get("redirect_uri") {
        Some(uri) if realm.redirect_uris.contains(uri) => uri.clone(),
        Some(uri) => return Err(AuthorizeError::Page(format!("The redirect_uri {uri:?} is not registered for this client."))),
        None => return Err(AuthorizeError::Page("The redirect_uri parameter is required.".into())),
    };
    let state = get("state").to_owned();
    let redirect_error = |error, description: String| AuthorizeError::Redirect { redirect_uri: redirect_uri.clone(), state: state.clone(), error, description };
    if let Some(name) = repeated {
        return Err(redirect_error("invalid_request", format!("The {name} parameter is included more than once.")));
    }
    match get("response_type") {
        "code" => {}
        "" => return Err(redirect_error("invalid_request", "The response_type parameter is required.".into())),
        other => return Err(redirect_error("unsupported_response_type", format!("Unsupported response_type {other:?}: only code."))),
    }
    let scope = get("scope");
    if scope.is_empty() {
        return Err(redirect_error("invalid_scope", "The scope parameter is required.".into()));
    }
    if let Some(unknown) = scope.split(' ').find(|s| !realm.scopes.iter().any(|known| known == s)) {
        return Err(redirect_error("invalid_scope", format!("Unknown scope {unknown:?}.")));
    }
    let code_challenge = get("code_challenge");
    if code_challenge.is_empty() {
        let description = "PKCE is required: send code_challenge with code_challenge_method=S256.";
        return Err(redirect_error("invalid_request", description.into()));
    }
    // RFC 7636 §4.3: a missing method means `plain`, which is refused like an explicit one.
    if get("code_challenge_method") != "S256" {
        return Err(redirect_error("invalid_request", "The code_challenge_method must be S256.".into()));
    }
    if !is_s256_challenge(code_challenge) {
        return Err(redirect_error("invalid_request", "The code_challenge must be 43 base64url characters.".into()));
    }
    Ok(AuthorizeRequest { redirect_uri, scope: scope.to_owned(), state, code_challenge: code_challenge.to_owned() })
}

fn consent_form(realm: &Realm, request: &AuthorizeRequest, email: &str) -> ConsentForm {
    ConsentForm {
        provider: realm.name.clone(),
        action: format!("/oauth2/{}/authorize", realm.id),
        client_name: realm.client_id.clone(),
        request: format!("would like access to your {} account: {}.", realm.name, request.scope.replace(' ', ", ")),
        allow_label: "Allow access".into(),
        hidden: vec![
            ("response_type", "code".into()),
            ("client_id", realm.client_id.clone()),
            ("redirect_uri", request.redirect_uri.clone()),
            ("scope", request.scope.clone()),
            ("state", request.state.clone()),
            ("code_challenge", request.code_challenge.clone()),
            ("code_challenge_method", "S256".into()),
        ],
        email: email.to_owned(),
        demo_emails: realm.accounts.iter().filter(|a| a.password == DEMO_PASSWORD).map(|a| a.email.clone()).collect(),
    }
}

/// `GET /oauth2/{realm}/authorize`: the sign-in and consent page.
pub(crate) async fn authorize_page(State(standin): State<Standin>, Path(realm): Path<String>, RawQuery(query): RawQuery) -> Response {
    let Some(realm) = find(&standin, &realm) else {
        return no_such_realm();
    };
    let (params, repeated) = single_valued(url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned());
    match validate(&realm, &params, repeated.as_deref()) {
        Ok(request) => Html(pages::consent_page(&consent_form(&realm, &request, ""), None)).into_response(),
        Err(error) => authorize_error(&realm.name, error),
    }
}

/// `POST /oauth2/{realm}/authorize`: the decision, with the hidden fields validated again.
pub(crate) async fn authorize_decision(State(standin): State<Standin>, Path(realm): Path<String>, body: Bytes) -> Response {
    let Some(realm) = find(&standin, &realm) else {
        return no_such_realm();
    };
    let (params, repeated) = single_valued(url::form_urlencoded::parse(&body).into_owned());
    let request = match validate(&realm, &params, repeated.as_deref()) {
        Ok(request) => request,
        Err(error) => return authorize_error(&realm.name, error),
    };
    if params.get("decision").map(String::as_str) != Some("allow") {
        let denied = [("error", "access_denied"), ("error_description", "The resource owner denied the request."), ("state", &request.state)];
        return redirect_with(&realm.name, &request.redirect_uri, &denied);
    }
    let Some(account) = sign_in(&realm, &params) else {
        let form = consent_form(&realm, &request, params.get("email").map(String::as_str).unwrap_or(""));
        return (StatusCode::UNAUTHORIZED, Html(pages::consent_page(&form, Some("Incorrect email or password.")))).into_response();
    };
    let code = random_id("", 32);
    {
        let mut store = standin.store.lock().expect("stand-in store poisoned");
        let issued_at = store.now();
        store.codes.insert(
            code.clone(),
            IssuedCode {
                dialect: Dialect::Realm(realm.id.clone()),
                client_id: realm.client_id.clone(),
                account_id: account.id.clone(),
                scope: request.scope.clone(),
                livemode: false,
                redirect_uri: request.redirect_uri.clone(),
                code_challenge: Some(request.code_challenge.clone()),
                mode: None,
                issued_at,
                used: false,
                grant_id: None,
            },
        );
    }
    redirect_with(&realm.name, &request.redirect_uri, &[("code", &code), ("state", &request.state)])
}

fn sign_in<'a>(realm: &'a Realm, params: &HashMap<String, String>) -> Option<&'a RealmAccount> {
    let email = params.get("email").map(String::as_str).unwrap_or("").trim();
    let password = params.get("password").map(String::as_str).unwrap_or("");
    realm.accounts.iter().find(|a| a.email.eq_ignore_ascii_case(email) && a.password == password)
}
