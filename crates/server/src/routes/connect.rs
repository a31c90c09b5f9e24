//! The two halves of the connect flow the backend takes part in (see `shared/design.md`):
//! registering an attempt before the browser leaves for Stripe, and finishing it with the grant.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use connections_wire::{ConnectionView, GrantRequest, StartAttemptRequest, StartAttemptResponse};

use super::providers::ensure_known;
use crate::error::{ApiError, ApiJson};
use crate::pkce;
use crate::session::{Admin, CurrentUser};
use crate::storage::{AttemptRefusal, NewConnection, ATTEMPT_LIFETIME_SECS};
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

fn provider_error(error: ProviderError) -> ApiError {
    match error {
        ProviderError::Rejected { error, description } => ApiError::ProviderRejected { error, description },
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
    check_code(&request.code)?;
    check_state(&request.state)?;
    if !pkce::is_valid_verifier(&request.code_verifier) {
        return Err(ApiError::InvalidRequest("code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~] (RFC 7636)".into()));
    }
    let now = Utc::now().timestamp();
    let challenge = match state.db.consume_attempt(&provider, &request.state, &user.subject, now).await? {
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

    let grant = state.stripe.exchange_code(&request.code, &request.code_verifier).await.map_err(provider_error)?;
    match store_grant(&state, &provider, &user, &grant, now).await {
        Ok(view) => {
            tracing::info!(connection = %view.id, account = %view.account_id, by = %user.subject, "connected");
            Ok((StatusCode::CREATED, Json(view)))
        }
        Err(error) => {
            undo_at_stripe(&state, &provider, &grant.account_id).await;
            Err(error)
        }
    }
}

/// After a successful exchange: the account's name, then one transaction that stores it all.
async fn store_grant(state: &AppState, provider: &str, user: &CurrentUser, grant: &TokenGrant, now: i64) -> Result<ConnectionView, ApiError> {
    let account = state.stripe.fetch_account(&grant.access_token).await.map_err(provider_error)?;
    if account.id != grant.account_id {
        return Err(ApiError::ProviderUnavailable("Stripe returned a different account than it authorized".into()));
    }
    let associated_data = |kind: &str| format!("{provider}:{}:{kind}", grant.account_id);
    let view = state
        .db
        .upsert_connection(NewConnection {
            provider,
            account_id: &grant.account_id,
            account_name: &account.display_name,
            livemode: grant.livemode,
            scope: &grant.scope,
            access_token: state.cipher.encrypt(grant.access_token.expose(), &associated_data("access")),
            refresh_token: grant.refresh_token.as_ref().map(|t| state.cipher.encrypt(t.expose(), &associated_data("refresh"))),
            publishable_key: grant.publishable_key.as_deref(),
            connected_by_subject: &user.subject,
            connected_by_name: &user.name,
            now,
        })
        .await?;
    Ok(view)
}

/// Nothing was stored, so don't leave the platform authorized at Stripe either. Not when the account
/// was already connected: deauthorizing would cut the connection that still works.
async fn undo_at_stripe(state: &AppState, provider: &str, account_id: &str) {
    match state.db.encrypted_access_token(provider, account_id).await {
        Ok(None) => {
            if let Err(error) = state.stripe.deauthorize(account_id).await {
                tracing::warn!(account = %account_id, %error, "could not undo the authorization at Stripe");
            }
        }
        Ok(Some(_)) => {}
        Err(error) => tracing::warn!(account = %account_id, %error, "could not check for an existing connection"),
    }
}
