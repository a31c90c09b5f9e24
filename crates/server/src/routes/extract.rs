//! What handlers extract from a request beyond its body: the signed-in user (`CurrentUser`, `Admin`)
//! and a backend with a service key (`ServiceCaller`). The session and key logic itself is in
//! `session` and `service_keys`, which know nothing of HTTP frameworks.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use connections_wire::Role;

use crate::app::AppState;
use crate::error::ApiError;
use crate::service_keys::from_browser;
use crate::session::{CurrentUser, SECURE_SESSION_COOKIE, SESSION_COOKIE};

/// The session token: `Authorization: Bearer`, else the session cookie. Over https only the
/// `__Host-` cookie is read: a plain `connections_session` can be set by a sibling subdomain
/// (cookie tossing), so it signs nobody in there. A request carrying more than one session cookie
/// (of either name) is refused: which one the browser put first is the attacker's choice.
fn token_from(parts: &Parts, https: bool) -> Result<Option<String>, ApiError> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        if let Some(token) = value.strip_prefix("Bearer ") {
            return Ok(Some(token.trim().to_owned()));
        }
    }
    let sessions: Vec<cookie::Cookie<'_>> = parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .filter(|cookie| cookie.name() == SESSION_COOKIE || cookie.name() == SECURE_SESSION_COOKIE)
        .collect();
    if sessions.len() > 1 {
        return Err(ApiError::Unauthenticated(
            "The request carries more than one session cookie, so which session it is cannot be told; nothing was done. Remove the extra connections_session cookies (set by another site of this domain) and sign in again.",
        ));
    }
    let name = if https { SECURE_SESSION_COOKIE } else { SESSION_COOKIE };
    Ok(sessions.into_iter().find(|cookie| cookie.name() == name).map(|cookie| cookie.value().to_owned()))
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = token_from(parts, state.public_url.scheme() == "https")?.ok_or(ApiError::Unauthenticated("Sign in to continue."))?;
        let claims = state.sessions.verify(&token)?;
        Ok(CurrentUser { subject: claims.sub, name: claims.name, role: Role::from_claim(&claims.role), workspace: claims.org, workspace_name: claims.org_name })
    }
}

/// A signed-in administrator; anyone else is refused with 403.
#[derive(Debug, Clone)]
pub(crate) struct Admin(pub CurrentUser);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let user = CurrentUser::from_request_parts(parts, state).await?;
        match user.role {
            Role::Admin => Ok(Admin(user)),
            Role::Viewer => Err(ApiError::AdminRequired),
        }
    }
}

/// A backend authenticated by its service key: the key's configured name.
#[derive(Debug, Clone)]
pub(crate) struct ServiceCaller(pub String);

impl FromRequestParts<AppState> for ServiceCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let headers = &parts.headers;
        if from_browser(headers) {
            return Err(ApiError::BrowserContext);
        }
        let key = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|key| !key.is_empty())
            .ok_or(ApiError::Unauthenticated("Send a service key as Authorization: Bearer <key>."))?;
        let name = state.service_keys.identify(key).ok_or(ApiError::Unauthenticated("This service key is not configured (CONNECTIONS_SERVICE_KEYS)."))?;
        Ok(ServiceCaller(name.to_owned()))
    }
}
