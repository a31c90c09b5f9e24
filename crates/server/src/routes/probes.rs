//! The load balancer's questions, on the public port, unauthenticated and cheap.
//!
//! - `GET /healthz`: the process serves requests. No database call: a database outage must not get
//!   every instance restarted.
//! - `GET /readyz`: this instance can do its work: the database answers and has every migration this
//!   build embeds. Otherwise 503 with a problem body naming what is missing.
//!
//! `/metrics` is answered 404 here: metrics are served on `CONNECTIONS_METRICS_ADDR` only.

use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use connections_wire::{ErrorCode, Problem, PROBLEM_CONTENT_TYPE};
use serde_json::{json, Value};

use crate::app::AppState;
use crate::error::ApiError;
use crate::services::Core;

pub(crate) use super::tracking::{HEALTHZ, READYZ};

/// A readiness probe that waits longer than this has its answer: not ready.
const DATABASE_TIMEOUT: Duration = Duration::from_secs(2);

pub(crate) fn router() -> Router<AppState> {
    Router::new().route(HEALTHZ, get(healthz)).route(READYZ, get(readyz)).route("/metrics", any(|| async { ApiError::NotFound }))
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn readyz(State(state): State<Core>) -> Response {
    match tokio::time::timeout(DATABASE_TIMEOUT, state.db.missing_migrations()).await {
        Ok(Ok(missing)) if missing.is_empty() => Json(json!({ "status": "ready" })).into_response(),
        Ok(Ok(missing)) => {
            let names: Vec<String> = missing.iter().map(|(version, description)| format!("migration {version} ({description})")).collect();
            not_ready(format!("the database lacks {}: migrations run at start", names.join(", ")), names)
        }
        Ok(Err(error)) => {
            tracing::warn!(%error, "not ready: the database did not answer");
            not_ready("the database does not answer".into(), vec!["database".into()])
        }
        Err(_) => not_ready(format!("the database did not answer within {} seconds", DATABASE_TIMEOUT.as_secs()), vec!["database".into()]),
    }
}

/// 503, problem+json, with `missing` (RFC 9457 extension member) listing what is not there.
fn not_ready(detail: String, missing: Vec<String>) -> Response {
    let mut problem = Problem::new(ErrorCode::Internal, 503, "Not ready", detail);
    problem.request_id = crate::observability::request_id();
    let mut body = serde_json::to_value(&problem).unwrap_or_default();
    body["missing"] = json!(missing);
    (StatusCode::SERVICE_UNAVAILABLE, [(header::CONTENT_TYPE, PROBLEM_CONTENT_TYPE)], body.to_string()).into_response()
}
