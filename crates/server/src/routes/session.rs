use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use connections_wire::{DemoSignInRequest, Role, SessionInfo};

use crate::error::{ApiError, ApiJson};
use crate::session::{Claims, CurrentUser, SESSION_COOKIE};
use crate::AppState;

const DEMO_SESSION_SECS: i64 = 8 * 3600;

pub async fn current(State(state): State<AppState>, user: CurrentUser) -> Json<SessionInfo> {
    Json(SessionInfo { subject: user.subject, name: user.name, role: user.role, demo: state.demo })
}

fn session_cookie(state: &AppState, value: &str, max_age: i64) -> String {
    // HttpOnly: scripts (and so XSS) cannot read it. Lax: sent on the top-level return from Stripe.
    let secure = if state.public_url.scheme() == "https" { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")
}

/// Demo only: signs in as the demo administrator or the demo viewer.
pub async fn demo_sign_in(State(state): State<AppState>, ApiJson(request): ApiJson<DemoSignInRequest>) -> Result<Response, ApiError> {
    let (subject, name, role) = match request.role {
        Role::Admin => ("demo-admin", "Ada Admin", "admin"),
        Role::Viewer => ("demo-viewer", "Victor Viewer", "viewer"),
    };
    let claims = Claims {
        sub: subject.into(),
        name: name.into(),
        role: role.into(),
        exp: chrono::Utc::now().timestamp() + DEMO_SESSION_SECS,
    };
    let token = state.sessions.sign(&claims)?;
    let info = SessionInfo { subject: subject.into(), name: name.into(), role: request.role, demo: true };
    Ok(([(header::SET_COOKIE, session_cookie(&state, &token, DEMO_SESSION_SECS))], Json(info)).into_response())
}

pub async fn demo_sign_out(State(state): State<AppState>) -> Response {
    ([(header::SET_COOKIE, session_cookie(&state, "", 0))], axum::http::StatusCode::NO_CONTENT).into_response()
}
