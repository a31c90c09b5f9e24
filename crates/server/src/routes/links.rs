//! Connect links' routes: an administrator makes, lists and revokes a workspace's links
//! (`/api/connect-links`); whoever holds a link's token opens its page and connects through it
//! (`/api/link`, no session; the token travels in the body, never in a path, which is logged).
//! The work is in `services::links`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use connections_wire::{
    ConnectLinkCreated, ConnectLinkList, GrantOutcome, LinkAttemptRequest, LinkGrantRequest, LinkGrantResponse, LinkKeyRequest, LinkPage, LinkToken,
    NewConnectLink, StartAttemptResponse,
};

use super::connect::rate_limit;
use super::Admin;
use crate::app::AppState;
use crate::error::{ApiError, ApiJson};
use crate::services::links::{self, LinkRequest, Maker};

/// `POST /api/connect-links`
pub(crate) async fn create(
    State(state): State<AppState>,
    Admin(user): Admin,
    ApiJson(request): ApiJson<NewConnectLink>,
) -> Result<(StatusCode, Json<ConnectLinkCreated>), ApiError> {
    rate_limit(&state, &user, "create_link").await?;
    let maker = Maker { workspace: &user.workspace, workspace_name: user.workspace_name.as_deref(), subject: &user.subject, name: &user.name };
    let link = LinkRequest {
        provider: &request.provider,
        connection_id: request.connection_id.as_deref(),
        expires_in_secs: request.expires_in_secs,
        note: request.note.as_deref(),
    };
    Ok((StatusCode::CREATED, Json(links::create(&state, &maker, &link).await?)))
}

/// `GET /api/connect-links`: the workspace's open links, and the others of the last two weeks.
pub(crate) async fn list(State(state): State<AppState>, Admin(user): Admin) -> Result<Json<ConnectLinkList>, ApiError> {
    Ok(Json(ConnectLinkList { links: links::list(&state, &user.workspace, false).await? }))
}

/// `DELETE /api/connect-links/{id}`: another workspace's link is not found.
pub(crate) async fn revoke(State(state): State<AppState>, Admin(user): Admin, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    rate_limit(&state, &user, "create_link").await?;
    links::revoke(&state, &user.workspace, &id, &user.subject, &user.name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Counts this request against the token's per-minute allowance (unknown tokens count the same).
async fn link_rate_limit(state: &AppState, token: &str, action: &str) -> Result<(), ApiError> {
    match links::count_request(&state.db, token, action, state.rate_limit_per_minute).await? {
        None => Ok(()),
        Some(retry_after) => Err(ApiError::RateLimited(retry_after)),
    }
}

/// `POST /api/link {token}`: what the link's page shows. No session.
pub(crate) async fn page(State(state): State<AppState>, ApiJson(request): ApiJson<LinkToken>) -> Result<Json<LinkPage>, ApiError> {
    link_rate_limit(&state, request.token.secret(), "open_link").await?;
    Ok(Json(links::page(&state, request.token.secret()).await?))
}

/// `POST /api/link/attempts`: an attempt bound to the link.
pub(crate) async fn start_attempt(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<LinkAttemptRequest>,
) -> Result<(StatusCode, Json<StartAttemptResponse>), ApiError> {
    link_rate_limit(&state, request.token.secret(), "link_attempt").await?;
    Ok((StatusCode::CREATED, Json(links::start_attempt(&state, request.token.secret(), &request.attempt).await?)))
}

/// `POST /api/link/grants`: in a task of its own, as the admin's grant (see `connect::grant`).
pub(crate) async fn grant(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<LinkGrantRequest>,
) -> Result<(StatusCode, Json<LinkGrantResponse>), ApiError> {
    link_rate_limit(&state, request.token.secret(), "link_grant").await?;
    let task = crate::shutdown::spawn_tracked(state.tasks.clone(), async move {
        match links::finish_grant(&state, request.token.secret(), &request.grant).await {
            Ok(response) => Ok(response),
            Err(error) => {
                let error = ApiError::from(error);
                if !matches!(error, ApiError::InvalidRequest(_) | ApiError::LinkExpired | ApiError::LinkUsed | ApiError::LinkRevoked) {
                    links::record_failure(&state.db, request.token.secret(), &error.problem().detail).await;
                }
                Err(error)
            }
        }
    });
    let response = task.await.map_err(ApiError::internal)??;
    let status = if response.outcome == GrantOutcome::Created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(response)))
}

/// `POST /api/link/keys`: a key-based source's key through the link, tested before it is stored as
/// an administrator's (`routes::connect::connect_key`). The key is in the body only, never logged.
pub(crate) async fn connect_key(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<LinkKeyRequest>,
) -> Result<(StatusCode, Json<LinkGrantResponse>), ApiError> {
    link_rate_limit(&state, request.token.secret(), "link_grant").await?;
    match links::connect_key(&state, request.token.secret(), &request.key).await {
        Ok(response) => {
            let status = if response.outcome == GrantOutcome::Created { StatusCode::CREATED } else { StatusCode::OK };
            Ok((status, Json(response)))
        }
        Err(error) => {
            let error = ApiError::from(error);
            if !matches!(error, ApiError::InvalidRequest(_) | ApiError::LinkExpired | ApiError::LinkUsed | ApiError::LinkRevoked) {
                links::record_failure(&state.db, request.token.secret(), &error.problem().detail).await;
            }
            Err(error)
        }
    }
}
