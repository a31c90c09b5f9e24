//! The connect flow's routes: extract, rate-limit, call the service, answer. The flow itself is in
//! `services::connect`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use connections_wire::{
    AuditAction, GrantOutcome, GrantRequest, GrantResponse, InstallRequest, KeyConnectRequest, KeyConnectResponse, PendingInstall, StartAttemptRequest,
    StartAttemptResponse,
};

use super::providers::KnownProvider;
use super::Admin;
use crate::app::AppState;
use crate::error::{ApiError, ApiJson};
use crate::services::{connect, keys, outcomes};
use crate::session::CurrentUser;

/// Counts this request against the session's per-minute allowance for `action`.
pub(super) async fn rate_limit(state: &AppState, user: &CurrentUser, action: &str) -> Result<(), ApiError> {
    match connect::count_request(&state.db, user, action, state.rate_limit_per_minute).await? {
        None => Ok(()),
        Some(retry_after) => Err(ApiError::RateLimited(retry_after)),
    }
}

/// Puts a failed attempt in the audit trail. Malformed or throttled requests are not worth a line.
async fn audit_failure(state: &AppState, provider: &str, user: &CurrentUser, action: AuditAction, error: &ApiError) {
    if matches!(error, ApiError::InvalidRequest(_) | ApiError::RateLimited(_) | ApiError::UnknownProvider(_)) {
        return;
    }
    connect::record_failure(&state.db, provider, user, action, &error.problem().detail).await;
}

fn granted(response: GrantResponse) -> (StatusCode, Json<GrantResponse>) {
    let status = if response.outcome == GrantOutcome::Created { StatusCode::CREATED } else { StatusCode::OK };
    (status, Json(response))
}

/// `POST /api/providers/{provider}/attempts`
pub(crate) async fn start_attempt(
    State(state): State<AppState>,
    KnownProvider(provider): KnownProvider,
    Admin(user): Admin,
    ApiJson(request): ApiJson<StartAttemptRequest>,
) -> Result<(StatusCode, Json<StartAttemptResponse>), ApiError> {
    rate_limit(&state, &user, "start_attempt").await?;
    let response = connect::start_attempt(&state, &provider, &user, &request).await?;
    Ok((StatusCode::CREATED, Json(response)))
}

/// `POST /api/providers/{provider}/grants`: answers the connection (never a token). The work runs in
/// a task of its own, so a client that hangs up after the code was exchanged cannot cancel storing
/// the connection (or undoing the authorization when storing fails), and neither can a shutdown.
pub(crate) async fn grant(
    State(state): State<AppState>,
    KnownProvider(provider): KnownProvider,
    Admin(user): Admin,
    ApiJson(request): ApiJson<GrantRequest>,
) -> Result<(StatusCode, Json<GrantResponse>), ApiError> {
    rate_limit(&state, &user, "grant").await?;
    let task = crate::shutdown::spawn_tracked(state.tasks.clone(), async move {
        let granted = connect::finish_grant(&state, &provider, &user, &request.code, &request.state, &request.code_verifier).await;
        crate::observability::count_grant(provider.id(), outcomes::grant(&granted));
        match granted {
            Ok(response) => Ok(response),
            Err(error) => {
                let error = ApiError::from(error);
                audit_failure(&state, provider.id(), &user, AuditAction::Connect, &error).await;
                Err(error)
            }
        }
    });
    task.await.map_err(ApiError::internal)?.map(granted)
}

/// `POST /api/providers/{provider}/keys`: a pasted key, tested, and stored only if it reads some of
/// the data. Answers the connection and what the key reads (never the key).
pub(crate) async fn connect_key(
    State(state): State<AppState>,
    KnownProvider(provider): KnownProvider,
    Admin(user): Admin,
    ApiJson(request): ApiJson<KeyConnectRequest>,
) -> Result<(StatusCode, Json<KeyConnectResponse>), ApiError> {
    rate_limit(&state, &user, "grant").await?;
    match keys::connect_key(&state, &provider, &user, &request.key, request.name.as_deref()).await {
        Ok(response) => {
            let status = if response.outcome == GrantOutcome::Created { StatusCode::CREATED } else { StatusCode::OK };
            Ok((status, Json(response)))
        }
        Err(error) => {
            let error = ApiError::from(error);
            audit_failure(&state, provider.id(), &user, AuditAction::Connect, &error).await;
            Err(error)
        }
    }
}

/// `POST /api/providers/{provider}/installs`
pub(crate) async fn start_install(
    State(state): State<AppState>,
    KnownProvider(provider): KnownProvider,
    Admin(user): Admin,
    ApiJson(request): ApiJson<InstallRequest>,
) -> Result<(StatusCode, Json<PendingInstall>), ApiError> {
    rate_limit(&state, &user, "grant").await?;
    let task = crate::shutdown::spawn_tracked(state.tasks.clone(), async move {
        match connect::start_install(&state, &provider, &user, &request.code).await {
            Ok(install) => Ok(install),
            Err(error) => {
                let error = ApiError::from(error);
                audit_failure(&state, provider.id(), &user, AuditAction::Install, &error).await;
                Err(error)
            }
        }
    });
    Ok((StatusCode::CREATED, Json(task.await.map_err(ApiError::internal)??)))
}

/// `POST /api/providers/{provider}/installs/{id}/confirm`
pub(crate) async fn confirm_install(
    State(state): State<AppState>,
    KnownProvider(provider): KnownProvider,
    Path((_, id)): Path<(String, String)>,
    Admin(user): Admin,
) -> Result<(StatusCode, Json<GrantResponse>), ApiError> {
    rate_limit(&state, &user, "install_answer").await?;
    Ok(granted(connect::confirm_install(&state, &provider, &user, &id).await?))
}

/// `POST /api/providers/{provider}/installs/{id}/decline`: forget it, and undo it at the provider.
pub(crate) async fn decline_install(
    State(state): State<AppState>,
    KnownProvider(provider): KnownProvider,
    Path((_, id)): Path<(String, String)>,
    Admin(user): Admin,
) -> Result<StatusCode, ApiError> {
    rate_limit(&state, &user, "install_answer").await?;
    connect::decline_install(&state, &provider, &user, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
