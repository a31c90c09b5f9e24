//! Access tokens with a life: renewed before use when close to expiry, and **once** per connection
//! however many requests or instances want it at the same moment. A refresh token that rolls on
//! every refresh (Stripe Apps, rotating `oauth2` providers) is dead once used, and so would be the
//! connection if two renewals raced: the renewal is claimed with a lease on the row's token version,
//! the others wait for its result.

use std::time::Duration;

use connections_wire::{AuditAction, ConnectionStatus};

use crate::crypto::TokenKind;
use crate::providers::{Provider, ProviderError};
use crate::secret::Secret;
use crate::storage::{ConnectionRecord, NewEvent, RenewedTokens};
use crate::AppState;

/// Renew when less than this is left: a sync job handed the token needs time to use it.
pub const RENEW_BEFORE_EXPIRY_SECS: i64 = 5 * 60;
/// How long one renewal may hold its lease (longer than any provider timeout).
const LEASE_SECS: i64 = 150;
/// How long to wait for another instance's renewal before giving up.
const WAIT_FOR_OTHERS: Duration = Duration::from_secs(30);

pub const RENEWAL_ACTOR: &str = "Connections";

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The connection holds no tokens (disconnected or revoked).
    #[error("the connection holds no tokens")]
    NoTokens,
    /// The provider refused the refresh token: a new consent is needed.
    #[error("{provider} refused the stored access")]
    ReauthenticationRequired { provider: String },
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// Another renewal held the lease for longer than we wait.
    #[error("another renewal of this connection is still under way")]
    Busy,
    /// The stored token could not be decrypted (a key was dropped from CONNECTIONS_ENCRYPTION_KEY).
    #[error("the stored token could not be decrypted: {0}")]
    Undecryptable(crate::crypto::CryptoError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// A usable access token, whether it was renewed to get it, and the token version it belongs to.
pub struct FreshToken {
    pub access_token: Secret<String>,
    /// Unix seconds; `None` when the provider's tokens do not expire.
    pub expires_at: Option<i64>,
    pub renewed: bool,
    pub version: i64,
}

pub fn needs_renewal(record: &ConnectionRecord, now: i64) -> bool {
    record.access_expires_at.is_some_and(|expires_at| expires_at - now < RENEW_BEFORE_EXPIRY_SECS)
}

fn decrypt(state: &AppState, record: &ConnectionRecord, kind: TokenKind, stored: &[u8]) -> Result<Secret<String>, TokenError> {
    state.cipher.open(&record.view.provider, &record.view.account_id, kind, stored).map_err(TokenError::Undecryptable)
}

/// The connection's access token, renewed first if it expires within [`RENEW_BEFORE_EXPIRY_SECS`].
pub async fn fresh_access_token(state: &AppState, provider: &Provider, record: ConnectionRecord) -> Result<FreshToken, TokenError> {
    let now = chrono::Utc::now().timestamp();
    if !needs_renewal(&record, now) {
        let stored = record.access_token.as_deref().ok_or(TokenError::NoTokens)?;
        let access_token = decrypt(state, &record, TokenKind::Access, stored)?;
        return Ok(FreshToken { access_token, expires_at: record.access_expires_at, renewed: false, version: record.token_version });
    }
    let seen = record.token_version;
    renew(state, provider, record, seen).await
}

/// Renews the tokens of `seen_version` now, whatever the expiry says (the provider refused that
/// access token). If another renewal is under way or has finished since, its result is used
/// instead of renewing twice.
pub async fn renew(state: &AppState, provider: &Provider, mut record: ConnectionRecord, seen_version: i64) -> Result<FreshToken, TokenError> {
    let started = tokio::time::Instant::now();
    let read_version = seen_version;
    loop {
        if record.access_token.is_none() {
            return Err(TokenError::NoTokens);
        }
        if record.view.status == ConnectionStatus::ReauthenticationRequired && record.token_version != read_version {
            return Err(TokenError::ReauthenticationRequired { provider: provider.name().to_owned() });
        }
        // Someone renewed since we looked: their token is the fresh one.
        if record.token_version != read_version {
            let stored = record.access_token.as_deref().ok_or(TokenError::NoTokens)?;
            let access_token = decrypt(state, &record, TokenKind::Access, stored)?;
            return Ok(FreshToken { access_token, expires_at: record.access_expires_at, renewed: true, version: record.token_version });
        }
        let now = chrono::Utc::now().timestamp();
        if state.db.claim_renewal(&record.view.id, record.token_version, now, now + LEASE_SECS).await? {
            return crate::observability::count_renewal(provider.id(), renew_claimed(state, provider, &record).await);
        }
        if started.elapsed() > WAIT_FOR_OTHERS {
            return Err(TokenError::Busy);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        record = state.db.connection(&record.view.id).await?.ok_or(TokenError::NoTokens)?;
    }
}

/// We hold the lease: ask the provider, store the result, and give the lease back whatever happens.
async fn renew_claimed(state: &AppState, provider: &Provider, record: &ConnectionRecord) -> Result<FreshToken, TokenError> {
    let view = &record.view;
    let now = chrono::Utc::now().timestamp();
    let event = |success: bool, detail: &'static str| renew_event(record, success, detail, now);
    let refresh_token = match &record.refresh_token {
        None => None,
        Some(stored) => match decrypt(state, record, TokenKind::Refresh, stored) {
            Ok(token) => Some(token),
            Err(error) => {
                state.db.release_renewal(&view.id, record.token_version).await?;
                return Err(error);
            }
        },
    };
    let Some(refresh_token) = refresh_token else {
        state.db.renewal_refused(&view.id, record.token_version, event(false, "No refresh token is stored; reauthenticate")).await?;
        return Err(TokenError::ReauthenticationRequired { provider: provider.name().to_owned() });
    };
    match provider.refresh(&refresh_token).await {
        Ok(grant) if grant.account_id.as_deref().is_none_or(|id| id == view.account_id) => {
            let tokens = RenewedTokens {
                access_token: state.cipher.seal(&view.provider, &view.account_id, TokenKind::Access, &grant.access_token),
                refresh_token: grant.refresh_token.as_ref().map(|t| state.cipher.seal(&view.provider, &view.account_id, TokenKind::Refresh, t)),
                access_expires_at: grant.access_expires_at,
            };
            if !state.db.store_renewal(&view.id, record.token_version, tokens, event(true, "Access renewed with the refresh token")).await? {
                // Disconnected or reconnected while we asked: what we got is not this row's any more.
                return Err(TokenError::NoTokens);
            }
            tracing::info!(connection = %view.id, "access renewed");
            Ok(FreshToken { access_token: grant.access_token, expires_at: grant.access_expires_at, renewed: true, version: record.token_version + 1 })
        }
        Ok(_) => {
            state.db.release_renewal(&view.id, record.token_version).await?;
            Err(TokenError::Provider(ProviderError::Malformed { provider: provider.name().to_owned(), detail: "renewal answered another account".into() }))
        }
        Err(error) if error.is_invalid_grant() => {
            crate::log_chain(&error);
            state.db.renewal_refused(&view.id, record.token_version, event(false, "The provider refused the refresh token; reauthenticate")).await?;
            Err(TokenError::ReauthenticationRequired { provider: provider.name().to_owned() })
        }
        Err(error) => {
            state.db.release_renewal(&view.id, record.token_version).await?;
            Err(TokenError::Provider(error))
        }
    }
}

fn renew_event<'a>(record: &'a ConnectionRecord, success: bool, detail: &'a str, at: i64) -> NewEvent<'a> {
    NewEvent {
        workspace: &record.workspace,
        provider: &record.view.provider,
        account_id: &record.view.account_id,
        action: AuditAction::Renew,
        success,
        actor_subject: "connections",
        actor_name: RENEWAL_ACTOR,
        detail,
        at,
    }
}
