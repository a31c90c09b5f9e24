use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use connections_wire::{DemoSignInRequest, Role, SessionInfo};
use cookie::{Cookie, SameSite};

use crate::app::AppState;
use crate::error::{ApiError, ApiJson};
use crate::session::{Claims, CurrentUser, SECURE_SESSION_COOKIE, SESSION_COOKIE};

const DEMO_SESSION_SECS: i64 = 8 * 3600;

pub(crate) async fn current(State(state): State<AppState>, user: CurrentUser) -> Json<SessionInfo> {
    Json(SessionInfo { subject: user.subject, name: user.name, role: user.role, workspace: user.workspace, demo: state.demo })
}

fn session_cookie(state: &AppState, value: &str, max_age: i64) -> String {
    // HttpOnly: scripts (and so XSS) cannot read it. Lax: sent on the top-level return from Stripe.
    // Over https the `__Host-` name: Secure, Path=/ and no Domain, so no sibling subdomain can set it.
    let secure = state.public_url.scheme() == "https";
    Cookie::build((if secure { SECURE_SESSION_COOKIE } else { SESSION_COOKIE }, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .max_age(cookie::time::Duration::seconds(max_age))
        .secure(secure)
        .build()
        .to_string()
}

/// Demo only: signs in as a demo administrator (of Acme or Globex) or the demo viewer.
pub(crate) async fn demo_sign_in(State(state): State<AppState>, ApiJson(request): ApiJson<DemoSignInRequest>) -> Result<Response, ApiError> {
    let workspace = request.workspace.as_deref().unwrap_or("acme");
    let (subject, name, role) = match (request.role, workspace) {
        (Role::Admin, "acme") => ("demo-admin", "Ada Admin", "admin"),
        (Role::Admin, "globex") => ("demo-admin-globex", "Grace Admin", "admin"),
        (Role::Viewer, "acme") => ("demo-viewer", "Victor Viewer", "viewer"),
        (Role::Viewer, "globex") => ("demo-viewer-globex", "Vera Viewer", "viewer"),
        _ => return Err(ApiError::InvalidRequest("workspace must be acme or globex".into())),
    };
    let org_name = connections_wire::DEMO_WORKSPACES.iter().find(|(id, _)| *id == workspace).map(|(_, name)| (*name).to_owned());
    let claims = Claims { org_name, ..Claims::new(subject, name, role, workspace, DEMO_SESSION_SECS) };
    let token = state.sessions.sign(&claims)?;
    let info = SessionInfo { subject: subject.into(), name: name.into(), role: request.role, workspace: workspace.into(), demo: true };
    Ok(([(header::SET_COOKIE, session_cookie(&state, &token, DEMO_SESSION_SECS))], Json(info)).into_response())
}

pub(crate) async fn demo_sign_out(State(state): State<AppState>) -> Response {
    ([(header::SET_COOKIE, session_cookie(&state, "", 0))], axum::http::StatusCode::NO_CONTENT).into_response()
}
