//! The connect flow's server side (see `shared/design.md`): registering an attempt before the browser
//! leaves for Stripe, finishing it with the grant, and installs that started at Stripe.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use connections_wire::{AuditAction, ConnectionView, GrantRequest, InstallRequest, PendingInstall, StartAttemptRequest, StartAttemptResponse};

use super::providers::ensure_known;
use crate::error::{ApiError, ApiJson};
use crate::pkce;
use crate::session::{Admin, CurrentUser};
use crate::storage::{AttemptRefusal, NewConnection, NewEvent, ATTEMPT_LIFETIME_SECS, INSTALL_LIFETIME_SECS};
use crate::stripe::{ProviderError, TokenGrant};
use crate::AppState;

fn is_base64url(value: &str) -> bool {
    value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `state` is at least 128 bits as base64url (22 characters), and not absurdly long.
fn check_state(state: &str) -> Result<(), ApiError> {
    if (22..=128).contains(&state.len()) && is_base64url(state) {
        Ok(())
    } else {
        Err(ApiError::InvalidRequest("state must be 22 to 128 base64url characters (at least 128 random bits)".into()))
    }
}

/// Stripe's codes are `ac_` and alphanumerics; allow the OAuth-safe charset, bounded.
fn check_code(code: &str) -> Result<(), ApiError> {
    if (1..=256).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')) {
        Ok(())
    } else {
        Err(ApiError::InvalidRequest("code must be 1 to 256 characters of [A-Za-z0-9-._~]".into()))
    }
}

pub(super) fn provider_error(error: ProviderError) -> ApiError {
    match error {
        ProviderError::Rejected { error, description } => ApiError::ProviderRejected { error, description },
        ProviderError::TokenRefused(description) => ApiError::ProviderRejected { error: "token_refused".into(), description },
        ProviderError::Unavailable(detail) => ApiError::ProviderUnavailable(detail),
        ProviderError::Malformed(detail) => {
            tracing::warn!(%detail, "unexpected response from Stripe");
            ApiError::ProviderUnavailable("Stripe sent a response we could not read".into())
        }
    }
}

/// Counts this request against the session's per-minute allowance for `action`.
async fn rate_limit(state: &AppState, subject: &str, action: &str) -> Result<(), ApiError> {
    let now = Utc::now().timestamp();
    match state.db.count_rate_event(subject, action, now, state.rate_limit_per_minute, 60).await? {
        None => Ok(()),
        Some(retry_after) => Err(ApiError::RateLimited(retry_after)),
    }
}

/// Puts a failed attempt in the audit trail. Malformed or throttled requests are not worth a line.
async fn audit_failure(state: &AppState, provider: &str, user: &CurrentUser, action: AuditAction, error: &ApiError) {
    if matches!(error, ApiError::InvalidRequest(_) | ApiError::RateLimited(_) | ApiError::UnknownProvider(_)) {
        return;
    }
    let event = NewEvent {
        provider,
        account_id: "",
        action,
        success: false,
        actor_subject: &user.subject,
        actor_name: &user.name,
        detail: &error.problem().detail,
        at: Utc::now().timestamp(),
    };
    if let Err(error) = state.db.record_event(event).await {
        tracing::warn!(%error, "could not record a failed attempt");
    }
}

/// `POST /api/providers/{provider}/attempts`: binds `state` and the PKCE challenge to this session.
pub async fn start_attempt(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    Admin(user): Admin,
    ApiJson(request): ApiJson<StartAttemptRequest>,
) -> Result<(StatusCode, Json<StartAttemptResponse>), ApiError> {
    ensure_known(&provider)?;
    rate_limit(&state, &user.subject, "start_attempt").await?;
    check_state(&request.state)?;
    if request.code_challenge_method != "S256" {
        return Err(ApiError::InvalidRequest("code_challenge_method must be S256".into()));
    }
    if !pkce::is_valid_s256_challenge(&request.code_challenge) {
        return Err(ApiError::InvalidRequest("code_challenge must be 43 base64url characters (an S256 challenge)".into()));
    }
    let now = Utc::now().timestamp();
    if !state.db.insert_attempt(&request.state, &provider, &user.subject, &request.code_challenge, now).await? {
        return Err(ApiError::InvalidRequest("this state value is already registered; generate a new one".into()));
    }
    let expires_at = DateTime::<Utc>::from_timestamp(now + ATTEMPT_LIFETIME_SECS, 0).ok_or_else(|| ApiError::internal("clock out of range"))?;
    Ok((StatusCode::CREATED, Json(StartAttemptResponse { expires_at })))
}

/// `POST /api/providers/{provider}/grants`: checks the grant, exchanges the code once, stores the
/// connection with its tokens encrypted, and answers with the connection (never a token).
pub async fn grant(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    Admin(user): Admin,
    ApiJson(request): ApiJson<GrantRequest>,
) -> Result<(StatusCode, Json<ConnectionView>), ApiError> {
    ensure_known(&provider)?;
    rate_limit(&state, &user.subject, "grant").await?;
    match finish_grant(&state, &provider, &user, &request).await {
        Ok(view) => Ok((StatusCode::CREATED, Json(view))),
        Err(error) => {
            audit_failure(&state, &provider, &user, AuditAction::Connect, &error).await;
            Err(error)
        }
    }
}

async fn finish_grant(state: &AppState, provider: &str, user: &CurrentUser, request: &GrantRequest) -> Result<ConnectionView, ApiError> {
    check_code(&request.code)?;
    check_state(&request.state)?;
    if !pkce::is_valid_verifier(&request.code_verifier) {
        return Err(ApiError::InvalidRequest("code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~] (RFC 7636)".into()));
    }
    let now = Utc::now().timestamp();
    let challenge = match state.db.consume_attempt(provider, &request.state, &user.subject, now).await? {
        Ok(challenge) => challenge,
        Err(AttemptRefusal::Unknown) => {
            return Err(ApiError::UnknownAttempt("No connection attempt of yours matches this response from Stripe."))
        }
        Err(AttemptRefusal::AlreadyUsed) => return Err(ApiError::UnknownAttempt("This connection attempt was already used.")),
        Err(AttemptRefusal::Expired) => return Err(ApiError::AttemptExpired),
    };
    if !pkce::verifier_matches(&request.code_verifier, &challenge) {
        return Err(ApiError::PkceMismatch);
    }
    let grant = state.stripe.exchange_code(&request.code, Some(&request.code_verifier)).await.map_err(provider_error)?;
    let stored = async {
        let account = state.stripe.fetch_account(&grant.access_token).await.map_err(provider_error)?;
        if account.id != grant.account_id {
            return Err(ApiError::ProviderUnavailable("Stripe returned a different account than it authorized".into()));
        }
        store_connection(state, provider, user, &grant, &account.display_name, now, "Connected with Stripe").await
    };
    match stored.await {
        Ok(view) => Ok(view),
        Err(error) => {
            undo_at_stripe(state, provider, &grant.account_id).await;
            Err(error)
        }
    }
}

/// Encrypts the tokens and writes the connection and its audit line in one transaction.
async fn store_connection(
    state: &AppState,
    provider: &str,
    user: &CurrentUser,
    grant: &TokenGrant,
    account_name: &str,
    now: i64,
    detail: &str,
) -> Result<ConnectionView, ApiError> {
    let associated_data = |kind: &str| format!("{provider}:{}:{kind}", grant.account_id);
    let (view, renewed) = state
        .db
        .upsert_connection(
            NewConnection {
                provider,
                account_id: &grant.account_id,
                account_name,
                livemode: grant.livemode,
                scope: &grant.scope,
                access_token: state.cipher.encrypt(grant.access_token.expose(), &associated_data("access")),
                refresh_token: grant.refresh_token.as_ref().map(|t| state.cipher.encrypt(t.expose(), &associated_data("refresh"))),
                publishable_key: grant.publishable_key.as_deref(),
                connected_by_subject: &user.subject,
                connected_by_name: &user.name,
                now,
            },
            detail,
        )
        .await?;
    tracing::info!(connection = %view.id, account = %view.account_id, by = %user.subject, renewed, "connected");
    Ok(view)
}

/// Nothing was stored, so don't leave the platform authorized at Stripe either. Not when the account
/// was already connected: deauthorizing would cut the connection that still works.
async fn undo_at_stripe(state: &AppState, provider: &str, account_id: &str) {
    match state.db.connection_by_account(provider, account_id).await {
        Ok(Some(record)) if record.access_token.is_some() => {}
        Ok(_) => {
            if let Err(error) = state.stripe.deauthorize(account_id).await {
                tracing::warn!(account = %account_id, %error, "could not undo the authorization at Stripe");
            }
        }
        Err(error) => tracing::warn!(account = %account_id, %error, "could not check for an existing connection"),
    }
}

/// `POST /api/providers/{provider}/installs`: a callback with a code but no `state` of ours (the user
/// began at Stripe). The code is exchanged so the account can be named, but nothing is linked until an
/// administrator confirms: a login-CSRF'd code shows up as an account nobody expected.
pub async fn start_install(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    Admin(user): Admin,
    ApiJson(request): ApiJson<InstallRequest>,
) -> Result<(StatusCode, Json<PendingInstall>), ApiError> {
    ensure_known(&provider)?;
    rate_limit(&state, &user.subject, "grant").await?;
    check_code(&request.code)?;
    let grant = match state.stripe.exchange_code(&request.code, None).await.map_err(provider_error) {
        Ok(grant) => grant,
        Err(error) => {
            audit_failure(&state, &provider, &user, AuditAction::Install, &error).await;
            return Err(error);
        }
    };
    let now = Utc::now().timestamp();
    let pending = async {
        let account = state.stripe.fetch_account(&grant.access_token).await.map_err(provider_error)?;
        let install = PendingInstall {
            id: format!("inst_{}", uuid::Uuid::new_v4().simple()),
            provider: provider.clone(),
            account_id: grant.account_id.clone(),
            account_name: account.display_name,
            livemode: grant.livemode,
            scope: grant.scope.clone(),
            expires_at: DateTime::<Utc>::from_timestamp(now + INSTALL_LIFETIME_SECS, 0).ok_or_else(|| ApiError::internal("clock"))?,
        };
        let aad = |kind: &str| format!("{provider}:{}:{kind}", grant.account_id);
        state
            .db
            .insert_install(
                &install,
                &user.subject,
                state.cipher.encrypt(grant.access_token.expose(), &aad("access")),
                grant.refresh_token.as_ref().map(|t| state.cipher.encrypt(t.expose(), &aad("refresh"))),
                grant.publishable_key.as_deref(),
                now,
            )
            .await?;
        Ok::<_, ApiError>(install)
    };
    match pending.await {
        Ok(install) => Ok((StatusCode::CREATED, Json(install))),
        Err(error) => {
            undo_at_stripe(&state, &provider, &grant.account_id).await;
            Err(error)
        }
    }
}

/// `POST /api/providers/{provider}/installs/{id}/confirm`
pub async fn confirm_install(
    State(state): State<AppState>,
    Path((provider, id)): Path<(String, String)>,
    Admin(user): Admin,
) -> Result<(StatusCode, Json<ConnectionView>), ApiError> {
    ensure_known(&provider)?;
    let now = Utc::now().timestamp();
    let install = state.db.take_install(&provider, &id, &user.subject, now).await?.ok_or(ApiError::UnknownAttempt(
        "No pending install of yours has this id; it may have expired (10 minutes) or been answered already.",
    ))?;
    let (view, renewed) = state
        .db
        .upsert_connection(
            NewConnection {
                provider: &provider,
                account_id: &install.account_id,
                account_name: &install.account_name,
                livemode: install.livemode,
                scope: &install.scope,
                access_token: install.access_token,
                refresh_token: install.refresh_token,
                publishable_key: install.publishable_key.as_deref(),
                connected_by_subject: &user.subject,
                connected_by_name: &user.name,
                now,
            },
            "Installed from Stripe, confirmed by an administrator",
        )
        .await?;
    tracing::info!(connection = %view.id, account = %view.account_id, by = %user.subject, renewed, "install confirmed");
    Ok((StatusCode::CREATED, Json(view)))
}

/// `POST /api/providers/{provider}/installs/{id}/decline`: forget it, and undo it at Stripe.
pub async fn decline_install(
    State(state): State<AppState>,
    Path((provider, id)): Path<(String, String)>,
    Admin(user): Admin,
) -> Result<StatusCode, ApiError> {
    ensure_known(&provider)?;
    let now = Utc::now().timestamp();
    let install = state.db.take_install(&provider, &id, &user.subject, now).await?.ok_or(ApiError::UnknownAttempt(
        "No pending install of yours has this id; it may have expired (10 minutes) or been answered already.",
    ))?;
    undo_at_stripe(&state, &provider, &install.account_id).await;
    state
        .db
        .record_event(NewEvent {
            provider: &provider,
            account_id: &install.account_id,
            action: AuditAction::Install,
            success: false,
            actor_subject: &user.subject,
            actor_name: &user.name,
            detail: "Installed from Stripe, declined by an administrator",
            at: now,
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
