//! `POST /oauth2/{realm}/token` (RFC 6749 §4.1.3 and §6, RFC 7636 §4.6) and
//! `POST /oauth2/{realm}/revoke` (RFC 7009).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::json;

use super::{find, no_such_realm, single_valued, ClientAuth, Realm};
use crate::oauth::{oauth_error, play_fault, s256};
use crate::store::{Dialect, Grant, Lifetimes, RefreshRefused, Store};
use crate::{Standin, REALM_CODE_LIFETIME_SECS};

/// Why a token or revocation request is refused before any grant is looked at.
enum Refusal {
    NoRealm,
    Repeated(String),
    /// RFC 6749 §5.2's `401 invalid_client`; a client that tried HTTP authentication is `challenged`.
    Client {
        realm: String,
        description: &'static str,
        challenged: bool,
    },
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::NoRealm => no_such_realm(),
            Refusal::Repeated(name) => oauth_error(StatusCode::BAD_REQUEST, "invalid_request", format!("The {name} parameter is included more than once.")),
            Refusal::Client { realm, description, challenged } => {
                let mut response = oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", description);
                let challenge = HeaderValue::from_str(&format!("Basic realm=\"{realm}\""));
                if let (true, Ok(challenge)) = (challenged, challenge) {
                    response.headers_mut().insert(header::WWW_AUTHENTICATE, challenge);
                }
                response
            }
        }
    }
}

/// `client_id:client_secret` from `Authorization: Basic`, each form-urldecoded (RFC 6749 §2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let (scheme, encoded) = headers.get(header::AUTHORIZATION)?.to_str().ok()?.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let form_decode = |part: &str| url::form_urlencoded::parse(format!("={part}").as_bytes()).next().map(|(_, v)| v.into_owned());
    Some((form_decode(id)?, form_decode(secret)?))
}

/// The realm's client, authenticated by exactly the method it is registered with.
fn authenticate(realm: &Realm, headers: &HeaderMap, form: &HashMap<String, String>) -> Result<(), Refusal> {
    let refuse = |description, challenged| Refusal::Client { realm: realm.id.clone(), description, challenged };
    let tried_header = headers.contains_key(header::AUTHORIZATION);
    match realm.client_auth {
        ClientAuth::Basic => {
            if form.contains_key("client_secret") {
                return Err(refuse("This client authenticates with HTTP Basic, not client_secret in the body.", true));
            }
            let Some((id, secret)) = basic_credentials(headers) else {
                return Err(refuse("Client authentication with HTTP Basic is required.", true));
            };
            // A `client_id` field may accompany Basic, but must name the same client.
            if id != realm.client_id || secret != realm.client_secret || form.get("client_id").is_some_and(|field| *field != id) {
                return Err(refuse("Client authentication failed.", true));
            }
        }
        ClientAuth::Body => {
            if tried_header {
                return Err(refuse("This client authenticates with client_id and client_secret in the body.", true));
            }
            let field = |name: &str| form.get(name).map(String::as_str);
            if field("client_id") != Some(&realm.client_id) || field("client_secret") != Some(&realm.client_secret) {
                return Err(refuse("Client authentication failed.", false));
            }
        }
    }
    Ok(())
}

/// The realm and the request's single-valued form, its client authenticated.
fn admit(standin: &Standin, realm: &str, headers: &HeaderMap, body: &[u8]) -> Result<(Realm, HashMap<String, String>), Refusal> {
    let realm = find(standin, realm).ok_or(Refusal::NoRealm)?;
    let (form, repeated) = single_valued(url::form_urlencoded::parse(body).into_owned());
    if let Some(name) = repeated {
        return Err(Refusal::Repeated(name));
    }
    authenticate(&realm, headers, &form)?;
    Ok((realm, form))
}

/// RFC 6749 §5.1's answer, never to be cached.
fn token_response(realm: &Realm, access_token: &str, grant: &Grant, scope: &str) -> Response {
    let body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": realm.access_token_lifetime_secs,
        "refresh_token": grant.refresh_token,
        "scope": scope,
    });
    ([(header::CACHE_CONTROL, "no-store"), (header::PRAGMA, "no-cache")], Json(body)).into_response()
}

/// `POST /oauth2/{realm}/token`
pub(crate) async fn token(State(standin): State<Standin>, Path(realm): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    if find(&standin, &realm).is_some() {
        let count = |store: &mut Store| *store.realm_token_requests.entry(realm.clone()).or_default() += 1;
        let server_error = json!({ "error": "server_error", "error_description": "The authorization server failed unexpectedly." });
        if let Some(fault) = play_fault(&standin, count, server_error).await {
            return fault;
        }
    }
    let response = realm_token(&standin, &realm, &headers, &body);
    crate::oauth::answer_late(&standin).await;
    response
}

fn realm_token(standin: &Standin, realm: &str, headers: &HeaderMap, body: &Bytes) -> Response {
    let (realm, form) = match admit(standin, realm, headers, body) {
        Ok(admitted) => admitted,
        Err(refusal) => return refusal.into_response(),
    };
    let get = |name: &str| form.get(name).map(String::as_str).unwrap_or("");
    let invalid_grant = |description: &str| oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description);
    let dialect = Dialect::Realm(realm.id.clone());
    let lifetimes = Lifetimes { access: Some(realm.access_token_lifetime_secs), refresh: None };
    let mut store = standin.store.lock().expect("stand-in store poisoned");
    match get("grant_type") {
        "authorization_code" => {
            let code = get("code");
            if code.is_empty() {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "The code parameter is required.");
            }
            let issued = match store.redeem_code(&dialect, &realm.client_id, code, REALM_CODE_LIFETIME_SECS) {
                Ok(issued) => issued,
                Err(description) => return invalid_grant(&description),
            };
            // §4.1.3: the redirect_uri of the authorization request must be repeated, identically.
            match form.get("redirect_uri") {
                None => return invalid_grant("The redirect_uri parameter is required: the authorization request included one."),
                Some(uri) if *uri != issued.redirect_uri => return invalid_grant("The redirect_uri does not match the one of the authorization request."),
                Some(_) => {}
            }
            let verifier = get("code_verifier");
            if verifier.is_empty() {
                return invalid_grant("The code_verifier parameter is required (PKCE).");
            }
            if issued.code_challenge.as_deref() != Some(s256(verifier).as_str()) {
                return invalid_grant("The code_verifier does not match the code_challenge.");
            }
            let (access_token, grant) = store.open_grant(code, lifetimes);
            token_response(&realm, &access_token, &grant, &grant.scope)
        }
        "refresh_token" => {
            let refresh_token = get("refresh_token");
            if refresh_token.is_empty() {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "The refresh_token parameter is required.");
            }
            // §6: a narrower scope may be asked for, never a broader one.
            let granted = store.refresh_tokens.get(refresh_token).and_then(|id| store.grants.get(id)).map(|g| g.scope.clone());
            let scope = match (form.get("scope"), granted) {
                (Some(asked), Some(granted)) if !asked.split(' ').all(|s| granted.split(' ').any(|g| g == s)) => {
                    return oauth_error(StatusCode::BAD_REQUEST, "invalid_scope", "The scope exceeds the one originally granted.")
                }
                (Some(asked), _) => Some(asked.clone()),
                (None, _) => None,
            };
            match store.refresh(&dialect, &realm.client_id, refresh_token, lifetimes) {
                Ok((access_token, grant)) => token_response(&realm, &access_token, &grant, scope.as_deref().unwrap_or(&grant.scope)),
                Err(RefreshRefused::Invalid) => invalid_grant("The refresh token is invalid, expired or revoked."),
                Err(RefreshRefused::Reused) => invalid_grant("The refresh token was already used; every token of this grant is now revoked."),
            }
        }
        "" => oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "The grant_type parameter is required."),
        other => oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", format!("Unsupported grant_type {other:?}.")),
    }
}

/// `POST /oauth2/{realm}/revoke`: a usable refresh or access token revokes its whole grant.
/// Unknown or already invalid tokens answer `200` too (RFC 7009 §2.2); `token_type_hint` is only a
/// hint, so both kinds are looked up whatever it says.
pub(crate) async fn revoke(State(standin): State<Standin>, Path(realm): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let (realm, form) = match admit(&standin, &realm, &headers, &body) {
        Ok(admitted) => admitted,
        Err(refusal) => return refusal.into_response(),
    };
    let Some(token) = form.get("token").filter(|token| !token.is_empty()) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "The token parameter is required.");
    };
    let dialect = Dialect::Realm(realm.id.clone());
    let mut store = standin.store.lock().expect("stand-in store poisoned");
    let by_refresh = store.refresh_tokens.get(token).filter(|id| store.grants.get(*id).is_some_and(|g| g.refresh_token == *token));
    let by_access = store.tokens.get(token).filter(|_| store.active_grant(token).is_some()).map(|t| &t.grant_id);
    if let Some(grant_id) = by_refresh.or(by_access).cloned() {
        store.revoke(|id, grant| id == grant_id && grant.dialect == dialect);
    }
    StatusCode::OK.into_response()
}
