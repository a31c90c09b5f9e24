//! The Data Sources table and what can be done to a row: details and history, check, disconnect.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use connections_wire::{AuditList, ConnectionDetail, ConnectionList, ConnectionStatus, ConnectionView, DataCheck, DisconnectResponse, WebhookDelivery};

use super::Admin;
use crate::app::{AppState, CachedList};
use crate::error::ApiError;
use crate::providers::Provider;
use crate::services::Core;
use crate::services::{data_access, lifecycle};
use crate::storage::ConnectionRecord;
use crate::web::IfNoneMatch;

/// The table's rows, served from memory when nothing changed since the last read: the cached body
/// is served only while its revision is still the current one (`Db::connections_revision`, itself
/// answered from memory).
///
/// Polling costs nothing when nothing changed: the answer's `ETag` is the revision (bumped by every
/// connection write, in any workspace) and the workspace, so a client that sends it back in
/// `If-None-Match` gets `304 Not Modified` without a body, before any row is read. The workspace is
/// in it because one browser may sign in to another workspace at the same revision.
pub(crate) async fn list(State(state): State<AppState>, Admin(user): Admin, if_none_match: IfNoneMatch) -> Result<Response, ApiError> {
    let revision = state.db.connections_revision().await?;
    let cached = state.connections_cache.lock().expect("cache lock poisoned").get(&user.workspace).filter(|c| c.revision == revision).cloned();
    let etag = match &cached {
        Some(cached) => cached.etag.clone(),
        None => list_etag(revision, &user.workspace),
    };
    if if_none_match.names(&etag) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    let body = match cached {
        Some(cached) => cached.body,
        None => {
            let list = ConnectionList { connections: state.db.list_connections(&user.workspace).await?.into_iter().map(Into::into).collect() };
            let body = Bytes::from(serde_json::to_vec(&list).map_err(ApiError::internal)?);
            // Rows read after the revision are at least that new; a newer revision refetches them.
            let mut cache = state.connections_cache.lock().expect("cache lock poisoned");
            // One entry per workspace that asked since the last change: stale ones are dropped.
            cache.retain(|_, c| c.revision == revision);
            cache.insert(user.workspace.clone(), CachedList { revision, etag: etag.clone(), body: body.clone() });
            body
        }
    };
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static("application/json")), (header::ETAG, etag)], body).into_response())
}

/// `W/"<revision>-<workspace digest>"`: weak, since the rows read after the revision may already be
/// newer than it (the next poll then answers them again under the newer revision).
fn list_etag(revision: i64, workspace: &str) -> HeaderValue {
    use sha2::{Digest, Sha256};
    let digest = hex::encode(&Sha256::digest(workspace.as_bytes())[..8]);
    HeaderValue::from_str(&format!("W/\"{revision}-{digest}\"")).expect("digits and hex are a valid header value")
}

/// A connection of the caller's workspace; another workspace's answers 404 like one that never was.
async fn find(state: &Core, workspace: &str, id: &str) -> Result<ConnectionRecord, ApiError> {
    state.db.connection_in(workspace, id).await?.ok_or(ApiError::NotFound)
}

pub(crate) async fn detail(State(state): State<Core>, Path(id): Path<String>, Admin(user): Admin) -> Result<Json<ConnectionDetail>, ApiError> {
    let record = find(&state, &user.workspace, &id).await?;
    let history = state.db.history(&user.workspace, &record.view.provider, &record.view.account_id).await?.into_iter().map(Into::into).collect();
    let data_check = state.db.data_check(&record.view.id).await?.map(Into::into);
    let deliveries = state.db.deliveries_of(&user.workspace, &record.view.id, DELIVERIES_SHOWN).await?.into_iter().map(Into::into).collect();
    Ok(Json(ConnectionDetail { connection: record.view.into(), history, data_check, deliveries }))
}

/// Outgoing webhook events listed on a connection's details.
const DELIVERIES_SHOWN: i64 = 20;

/// `POST /api/connections/{id}/data-check`: read one page of each data table now.
pub(crate) async fn data_check(State(state): State<AppState>, Path(id): Path<String>, Admin(user): Admin) -> Result<Json<DataCheck>, ApiError> {
    let record = find(&state, &user.workspace, &id).await?;
    if record.access_token.is_none() {
        return Err(ApiError::InvalidRequest(format!("this connection is {}; there is no access to test", record.view.status.label().to_lowercase())));
    }
    let provider = provider_of(&state, &record)?;
    super::connect::rate_limit(&state, &user, "data_check").await?;
    let requester = data_access::Requester::Admin { subject: &user.subject, name: &user.name };
    Ok(Json(data_access::check(&state, &provider, record, requester).await?))
}

/// `POST /api/webhook-deliveries/{id}/retry`: send an outgoing event again now.
pub(crate) async fn retry_delivery(State(state): State<Core>, Path(id): Path<String>, Admin(user): Admin) -> Result<Json<WebhookDelivery>, ApiError> {
    let now_ms = chrono::Utc::now().timestamp_millis();
    Ok(Json(state.db.retry_delivery(&user.workspace, &id, now_ms).await?.ok_or(ApiError::NotFound)?.into()))
}

pub(crate) async fn audit(State(state): State<Core>, Admin(user): Admin) -> Result<Json<AuditList>, ApiError> {
    Ok(Json(AuditList { events: state.db.recent_events(&user.workspace, 200).await?.into_iter().map(Into::into).collect() }))
}

/// The connection's data source; one no longer configured can't be checked or disconnected here.
fn provider_of(state: &Core, record: &ConnectionRecord) -> Result<std::sync::Arc<Provider>, ApiError> {
    state.providers.get(&record.view.provider).ok_or_else(|| ApiError::UnknownProvider(record.view.provider.clone()))
}

/// `POST /api/connections/{id}/check`
pub(crate) async fn check(State(state): State<AppState>, Path(id): Path<String>, Admin(user): Admin) -> Result<Json<ConnectionView>, ApiError> {
    let record = find(&state, &user.workspace, &id).await?;
    if record.access_token.is_none() {
        return Err(ApiError::InvalidRequest(format!("this connection is {}; there is nothing to check", record.view.status.label().to_lowercase())));
    }
    let provider = provider_of(&state, &record)?;
    super::connect::rate_limit(&state, &user, "check").await?;
    lifecycle::check(&state, &provider, record, &user.subject, &user.name).await?;
    Ok(Json(find(&state, &user.workspace, &id).await?.view.into()))
}

/// `?remove_locally=true`: the admin confirmed forgetting a connection whose tokens cannot be
/// decrypted here only.
#[derive(serde::Deserialize)]
pub(crate) struct DisconnectOptions {
    #[serde(default)]
    remove_locally: bool,
}

/// `POST /api/connections/{id}/disconnect`: withdraw at the provider (where it can be), then forget
/// the tokens. If the provider can't be reached the connection is left exactly as it was.
/// The answer says what was done at the provider (`revocation`): where the provider's revocation
/// would end the account's access for other connections of it too, it is not asked.
pub(crate) async fn disconnect(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Admin(user): Admin,
    options: Result<axum::extract::Query<DisconnectOptions>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<DisconnectResponse>, ApiError> {
    let axum::extract::Query(options) = options?;
    let record = find(&state, &user.workspace, &id).await?;
    if record.view.status == ConnectionStatus::Disconnected {
        return Ok(Json(DisconnectResponse { connection: record.view.into(), revocation: None }));
    }
    let provider = provider_of(&state, &record)?;
    super::connect::rate_limit(&state, &user, "disconnect").await?;
    let revocation = lifecycle::disconnect(&state.db, &state.cipher, &provider, record, &user.subject, &user.name, options.remove_locally).await?;
    Ok(Json(DisconnectResponse { connection: find(&state, &user.workspace, &id).await?.view.into(), revocation: Some(revocation) }))
}
