//! The service API under `/service/v1/`, for the product's own backends (sync jobs): the
//! connections, and a usable access token for one. Authenticated by service keys only
//! (`ServiceCaller`), never by an admin session, never granted CORS. Described in
//! `openapi/service-v1.json`, served at `/service/v1/openapi.json`.
//!
//! These answers carry tokens, so their types live here and not in the wire crate the browser
//! shares.

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{any, delete, get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use connections_wire::{ConnectLinkCreated, ConnectLinkView, ConnectionStatus, ConnectionView};
use serde::{Deserialize, Serialize};

use super::ServiceCaller;
use crate::app::AppState;
use crate::error::ApiError;
use crate::services::links::{self, LinkRequest, Maker};
use crate::services::tokens;
use crate::services::Core;
use crate::storage::{ConnectionFilter, ConnectionRecord};

pub(crate) const OPENAPI: &str = include_str!("../../openapi/service-v1.json");
const DEFAULT_PAGE: i64 = 100;
const MAX_PAGE: i64 = 500;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/service/v1/openapi.json", get(openapi))
        .route("/service/v1/connections", get(list))
        .route("/service/v1/connections/{id}/access-token", post(access_token))
        .route("/service/v1/connect-links", get(list_links).post(create_link))
        .route("/service/v1/connect-links/{id}", delete(revoke_link))
        .route("/service", any(not_found))
        .route("/service/{*rest}", any(not_found))
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
}

async fn not_found() -> ApiError {
    ApiError::NotFound
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

/// A connection as a backend sees it: the table's fields, its workspace, and when its access
/// token expires (never the token).
#[derive(Serialize, Deserialize)]
pub(crate) struct ServiceConnection {
    pub workspace: String,
    #[serde(flatten)]
    pub connection: ConnectionView,
    pub access_expires_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct ConnectionPage {
    pub data: Vec<ServiceConnection>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    org: Option<String>,
    provider: Option<String>,
    status: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

/// `GET /service/v1/connections?org=&provider=&status=&cursor=&limit=`
async fn list(
    State(state): State<Core>,
    _caller: ServiceCaller,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ConnectionPage>, ApiError> {
    let Query(query) = query?;
    let status = match query.status.as_deref() {
        None => None,
        Some(value) => Some(
            ConnectionStatus::parse(value)
                .ok_or_else(|| ApiError::InvalidRequest(format!("status {value:?} must be connected, reauthentication_required, revoked or disconnected")))?,
        ),
    };
    if let Some(provider) = query.provider.as_deref() {
        if state.providers.get(provider).is_none() {
            return Err(ApiError::UnknownProvider(provider.to_owned()));
        }
    }
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::InvalidRequest(format!("limit must be from 1 to {MAX_PAGE}")));
    }
    let after = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let filter = ConnectionFilter { workspace: query.org.as_deref(), provider: query.provider.as_deref(), status };
    let (records, next) = state.db.connections_page(&filter, after.as_deref(), limit).await?;
    let next_cursor = next.as_deref().map(encode_cursor);
    let data = records.into_iter().map(service_connection).collect();
    Ok(Json(ConnectionPage { data, next_cursor }))
}

fn service_connection(record: ConnectionRecord) -> ServiceConnection {
    ServiceConnection {
        access_expires_at: record.access_expires_at.and_then(|at| DateTime::<Utc>::from_timestamp(at, 0)),
        workspace: record.workspace,
        connection: record.view.into(),
    }
}

/// The cursor is the last id of the page, opaque to callers.
fn encode_cursor(id: &str) -> String {
    URL_SAFE_NO_PAD.encode(id)
}

fn decode_cursor(cursor: &str) -> Result<String, ApiError> {
    let invalid = || ApiError::InvalidRequest("cursor is not one this API handed out".into());
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let id = String::from_utf8(bytes).map_err(|_| invalid())?;
    if id.is_empty() || id.len() > 100 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(invalid());
    }
    Ok(id)
}

#[derive(Serialize, Deserialize)]
pub(crate) struct AccessToken {
    pub connection_id: String,
    /// The credential: an OAuth access token, or the API key an administrator pasted.
    pub access_token: String,
    /// `oauth2_bearer` (send it as `Authorization: Bearer`) or `api_key` (send it where
    /// `key_placement` says).
    pub credential_type: String,
    /// `bearer` for an OAuth token; `api_key` for a key.
    pub token_type: String,
    /// `api_key` only: `bearer`, `basic` (the key as user name, empty password) or `header`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_placement: Option<String>,
    /// `key_placement = header` only: the header's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_header: Option<String>,
    /// `null` when the provider's tokens do not expire (Stripe Connect).
    pub expires_at: Option<DateTime<Utc>>,
    /// Whether it was renewed for this answer (by this call or one at the same moment).
    pub renewed: bool,
}

/// `POST /service/v1/connections/{id}/access-token`: renewed first when it is close to expiry,
/// once however many callers ask at the same moment (see `services::tokens`).
async fn access_token(State(state): State<Core>, ServiceCaller(caller): ServiceCaller, Path(id): Path<String>) -> Result<impl IntoResponse, ApiError> {
    let record = state.db.connection(&id).await?.ok_or(ApiError::NotFound)?;
    let provider = state.providers.get(&record.view.provider).ok_or_else(|| ApiError::UnknownProvider(record.view.provider.clone()))?;
    match record.view.status {
        ConnectionStatus::Revoked => return Err(ApiError::ConnectionRevoked { provider: provider.name().to_owned() }),
        ConnectionStatus::Disconnected => return Err(ApiError::ConnectionDisconnected),
        ConnectionStatus::ReauthenticationRequired => return Err(ApiError::ReauthenticationRequired { provider: provider.name().to_owned() }),
        ConnectionStatus::Connected => {}
    }
    let (keyed, placement) = (provider.pasted_key().is_some(), provider.placement());
    let fresh = tokens::hand_out(&state, &provider, record, &caller).await.map_err(|error| match error {
        // Disconnected or revoked while we read.
        tokens::TokenError::NoTokens => ApiError::ConnectionDisconnected,
        other => other.into(),
    })?;
    // A token answer is never cached (RFC 6749 §5.1).
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        Json(AccessToken {
            connection_id: id,
            access_token: fresh.access_token.expose().clone(),
            credential_type: if keyed { "api_key" } else { "oauth2_bearer" }.into(),
            token_type: if keyed { "api_key" } else { "bearer" }.into(),
            key_placement: keyed.then(|| placement.as_str().to_owned()),
            key_header: placement.header().filter(|_| keyed).map(str::to_owned),
            expires_at: fresh.expires_at.and_then(|at| DateTime::<Utc>::from_timestamp(at, 0)),
            renewed: fresh.renewed,
        }),
    ))
}

/// `POST /service/v1/connect-links`: a link made by the product's backend for a person of `org`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ServiceLinkRequest {
    org: String,
    provider: String,
    connection_id: Option<String>,
    expires_in_secs: i64,
    /// Who asked for it, by name: the link's page says so, and the audit trail.
    created_by: String,
    note: Option<String>,
    /// The workspace's display name, if the backend knows it.
    org_name: Option<String>,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct LinkPage {
    pub data: Vec<ConnectLinkView>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OrgQuery {
    org: Option<String>,
}

fn org_of(query: Result<Query<OrgQuery>, axum::extract::rejection::QueryRejection>) -> Result<String, ApiError> {
    let Query(query) = query?;
    query.org.filter(|org| !org.is_empty()).ok_or_else(|| ApiError::InvalidRequest("org (the workspace) is required".into()))
}

async fn create_link(
    State(state): State<Core>,
    ServiceCaller(caller): ServiceCaller,
    body: Result<Json<ServiceLinkRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<(axum::http::StatusCode, Json<ConnectLinkCreated>), ApiError> {
    let Json(request) = body?;
    let subject = format!("service:{caller}");
    let now = Utc::now().timestamp();
    if let Some(retry_after) = state.db.count_rate_event(&request.org, &subject, "create_link", now, SERVICE_LINKS_PER_MINUTE, 60).await? {
        return Err(ApiError::RateLimited(retry_after));
    }
    let maker = Maker { workspace: &request.org, workspace_name: request.org_name.as_deref(), subject: &subject, name: &request.created_by };
    let link = LinkRequest {
        provider: &request.provider,
        connection_id: request.connection_id.as_deref(),
        expires_in_secs: request.expires_in_secs,
        note: request.note.as_deref(),
    };
    Ok((axum::http::StatusCode::CREATED, Json(links::create(&state, &maker, &link).await?)))
}

/// Links one backend may make per workspace per minute.
const SERVICE_LINKS_PER_MINUTE: u32 = 30;

/// `GET /service/v1/connect-links?org=`: the workspace's open links.
async fn list_links(
    State(state): State<Core>,
    _caller: ServiceCaller,
    query: Result<Query<OrgQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<LinkPage>, ApiError> {
    let org = org_of(query)?;
    Ok(Json(LinkPage { data: links::list(&state, &org, true).await? }))
}

/// `DELETE /service/v1/connect-links/{id}?org=`: revokes an open link of the workspace.
async fn revoke_link(
    State(state): State<Core>,
    ServiceCaller(caller): ServiceCaller,
    Path(id): Path<String>,
    query: Result<Query<OrgQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<axum::http::StatusCode, ApiError> {
    let org = org_of(query)?;
    links::revoke(&state, &org, &id, &format!("service:{caller}"), &caller).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
