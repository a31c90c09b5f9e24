//! Access tokens with a life: renewed before use when close to expiry, and **once** per connection
//! however many requests or instances want it at the same moment. A refresh token that rolls on
//! every refresh (Stripe Apps, rotating `oauth2` providers) is dead once used, and so would be the
//! connection if two renewals raced, or if the answer that carries its successor were dropped:
//!
//! - the renewal is claimed with a lease on the row's token version, timed by the database's clock
//!   (instances' clocks may disagree) and fenced by a holder id that storing, refusing and
//!   releasing must match, so a renewal whose lease was taken over writes nothing;
//! - the claimed part (claim, refresh, store or refuse, release) runs in a task of its own, tracked
//!   so that shutdown waits for it: a caller that goes away (a hung-up client, a request timeout, the
//!   shutdown drain, the background round stopped) no longer cancels it, and callers wait for it.
use std::time::Duration;

use connections_wire::{AuditAction, ConnectionStatus};

use super::Core;
use crate::crypto::TokenKind;
use crate::outbox::Notification;
use crate::providers::{Provider, ProviderError};
use crate::secret::Secret;
use crate::storage::{AuditEntry, ConnectionRecord, IfChanged, RenewedTokens};

/// Renew when less than this is left: a sync job handed the token needs time to use it.
pub(crate) const RENEW_BEFORE_EXPIRY_SECS: i64 = 5 * 60;
/// A renewal's lease lasts the provider's timeout and this much more: the store after the answer
/// (its database waits are bounded well below it).
const LEASE_MARGIN_SECS: i64 = 20;

/// How long one renewal of `provider` may hold its lease, in the database's seconds.
pub(crate) fn lease_secs(provider: &Provider) -> i64 {
    provider.spec().timeout.as_secs() as i64 + LEASE_MARGIN_SECS
}

/// How long a caller waits for another renewal (on any instance) before giving up: its lease, and a
/// little more for the holder's answer to be read.
pub(crate) fn wait_for_others(provider: &Provider) -> Duration {
    Duration::from_secs(lease_secs(provider) as u64 + 5)
}

pub(crate) const RENEWAL_ACTOR: &str = "Connections";

#[derive(Debug, thiserror::Error)]
pub(crate) enum TokenError {
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
pub(crate) struct FreshToken {
    pub access_token: Secret<String>,
    /// Unix seconds; `None` when the provider's tokens do not expire.
    pub expires_at: Option<i64>,
    pub renewed: bool,
    pub version: i64,
}

pub(crate) fn needs_renewal(record: &ConnectionRecord, now: i64) -> bool {
    record.access_expires_at.is_some_and(|expires_at| expires_at - now < RENEW_BEFORE_EXPIRY_SECS)
}

fn decrypt(state: &Core, record: &ConnectionRecord, kind: TokenKind, stored: &[u8]) -> Result<Secret<String>, TokenError> {
    state.cipher.open(&record.view.provider, &record.view.account_id, kind, stored).map_err(TokenError::Undecryptable)
}

/// The connection's access token, renewed first if it expires within [`RENEW_BEFORE_EXPIRY_SECS`].
pub(crate) async fn fresh_access_token(state: &Core, provider: &Provider, record: ConnectionRecord) -> Result<FreshToken, TokenError> {
    let now = state.clock.now();
    if !needs_renewal(&record, now) {
        let stored = record.access_token.as_deref().ok_or(TokenError::NoTokens)?;
        let access_token = decrypt(state, &record, TokenKind::Access, stored)?;
        return Ok(FreshToken { access_token, expires_at: record.access_expires_at, renewed: false, version: record.token_version });
    }
    let seen = record.token_version;
    renew(state, provider, record, seen).await
}

/// The connection's access token for a backend with a service key (`caller`, its configured name),
/// fresh as [`fresh_access_token`] makes it; handing it out is in the audit trail.
pub(crate) async fn hand_out(state: &Core, provider: &Provider, record: ConnectionRecord, caller: &str) -> Result<FreshToken, TokenError> {
    let (workspace, account_id) = (record.workspace.clone(), record.view.account_id.clone());
    let fresh = fresh_access_token(state, provider, record).await?;
    let detail = if fresh.renewed {
        format!("Access token handed to service key {caller}, renewed first")
    } else {
        format!("Access token handed to service key {caller}")
    };
    let subject = format!("service:{caller}");
    state
        .db
        .record_event(AuditEntry {
            workspace: &workspace,
            provider: provider.id(),
            account_id: &account_id,
            action: AuditAction::TokenRead,
            success: true,
            actor_subject: &subject,
            actor_name: caller,
            detail: &detail,
            at: chrono::Utc::now().timestamp(),
        })
        .await?;
    Ok(fresh)
}

/// Renews the tokens of `seen_version` now, whatever the expiry says (the provider refused that
/// access token). If another renewal is under way or has finished since, its result is used
/// instead of renewing twice.
pub(crate) async fn renew(state: &Core, provider: &Provider, mut record: ConnectionRecord, seen_version: i64) -> Result<FreshToken, TokenError> {
    let started = tokio::time::Instant::now();
    let read_version = seen_version;
    let wait = wait_for_others(provider);
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
        let id = record.view.id.clone();
        if let Some(renewed) = renew_in_own_task(state, provider, record).await? {
            return renewed;
        }
        if started.elapsed() > wait {
            return Err(TokenError::Busy);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        record = state.db.connection(&id).await?.ok_or(TokenError::NoTokens)?;
    }
}

/// Claims the renewal and, if this caller got it, does it, in a task of its own that the caller
/// waits for: once claimed, the refresh token may leave at any moment, and what comes back must be
/// stored whatever becomes of the caller. Answers `None` when another renewal holds the lease.
async fn renew_in_own_task(state: &Core, provider: &Provider, record: ConnectionRecord) -> Result<Option<Result<FreshToken, TokenError>>, TokenError> {
    let provider = state.providers.get(provider.id()).ok_or_else(|| {
        TokenError::Provider(ProviderError::Unavailable {
            provider: provider.name().to_owned(),
            reason: "the data source is no longer configured".into(),
            source: None,
        })
    })?;
    let task = crate::shutdown::spawn_tracked(state.tasks.clone(), {
        let state = state.clone();
        async move {
            // Shutting down: what is already tracked is waited for, but a task spawned once that
            // wait is over would be dropped mid-call. Claim nothing; the refresh token stays here.
            if state.tasks.is_closed() {
                return Ok(None);
            }
            let holder = format!("renewal_{}", uuid::Uuid::new_v4().simple());
            if !state.db.claim_renewal(&record.view.id, record.token_version, &holder, lease_secs(&provider)).await? {
                return Ok(None);
            }
            // Counted here, not by the caller: a renewal whose caller went away is counted too.
            let renewed = renew_claimed(&state, &provider, &record, &holder).await;
            crate::observability::count_renewal(provider.id(), super::outcomes::renewal(&renewed));
            Ok(Some(renewed))
        }
    });
    match task.await {
        Ok(outcome) => outcome,
        Err(error) => {
            // A panic in the task: its lease runs out on the database's clock and the next caller
            // renews (the refresh token may or may not have left; nothing here can know).
            tracing::error!(%error, "a renewal stopped unexpectedly");
            Err(TokenError::Busy)
        }
    }
}

/// How often, and how long apart, storing a renewal is tried again after a database error.
const STORE_TRIES: u32 = 5;
const STORE_FIRST_PAUSE: Duration = Duration::from_millis(200);

/// Stores what the provider answered. The old refresh token is dead now, so a database error (a busy
/// SQLite, a dropped PostgreSQL connection, a full pool) is not the end: it is tried again a few times
/// (0.2, 0.4, 0.8, 1.6 s apart, well inside the lease). Storing twice is harmless: it is conditional
/// on the version and the holder.
async fn store_renewal(state: &Core, record: &ConnectionRecord, holder: &str, tokens: RenewedTokens, event: AuditEntry<'_>) -> Result<bool, TokenError> {
    let mut pause = STORE_FIRST_PAUSE;
    for attempt in 1.. {
        match state.db.store_renewal(&record.view.id, record.token_version, holder, tokens.clone(), event, recovery(&event)).await {
            Ok(stored) => return Ok(stored),
            Err(error) if attempt < STORE_TRIES => {
                tracing::warn!(connection = %record.view.id, %error, attempt, "storing a renewal failed; trying again");
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
            Err(error) => {
                tracing::error!(connection = %record.view.id, %error, "storing a renewal failed for good: the rolled refresh token is lost");
                return Err(error.into());
            }
        }
    }
    unreachable!("the loop returns")
}

/// We hold the lease as `holder`: ask the provider, store the result, and give the lease back
/// whatever happens. Runs in a task of its own (see [`renew_in_own_task`]).
async fn renew_claimed(state: &Core, provider: &Provider, record: &ConnectionRecord, holder: &str) -> Result<FreshToken, TokenError> {
    let view = &record.view;
    let now = state.clock.now();
    let event = |success: bool, detail: &'static str| renew_event(record, success, detail, now);
    let refresh_token = match &record.refresh_token {
        None => None,
        Some(stored) => match decrypt(state, record, TokenKind::Refresh, stored) {
            Ok(token) => Some(token),
            Err(error) => {
                state.db.release_renewal(&view.id, record.token_version, holder).await?;
                return Err(error);
            }
        },
    };
    let Some(refresh_token) = refresh_token else {
        // A pasted key has no renewal: refused, it must be replaced.
        let detail = if provider.pasted_key().is_some() { "The provider refused the key; replace it" } else { "No refresh token is stored; reauthenticate" };
        state.db.renewal_refused(&view.id, record.token_version, holder, event(false, detail), needs_consent()).await?;
        return Err(TokenError::ReauthenticationRequired { provider: provider.name().to_owned() });
    };
    match provider.refresh(&refresh_token, renewal_mode(view)).await {
        Ok(grant) if grant.account_id.as_deref().is_none_or(|id| id == view.account_id) => {
            let tokens = RenewedTokens {
                access_token: state.cipher.seal(&view.provider, &view.account_id, TokenKind::Access, &grant.access_token),
                refresh_token: grant.refresh_token.as_ref().map(|t| state.cipher.seal(&view.provider, &view.account_id, TokenKind::Refresh, t)),
                access_expires_at: grant.access_expires_at,
            };
            if !store_renewal(state, record, holder, tokens, event(true, "Access renewed with the refresh token")).await? {
                // Disconnected or reconnected while we asked, or our lease was taken over: what we
                // got is not this row's any more.
                return Err(TokenError::NoTokens);
            }
            tracing::info!(connection = %view.id, "access renewed");
            Ok(FreshToken { access_token: grant.access_token, expires_at: grant.access_expires_at, renewed: true, version: record.token_version + 1 })
        }
        Ok(_) => {
            state.db.release_renewal(&view.id, record.token_version, holder).await?;
            Err(TokenError::Provider(ProviderError::Malformed { provider: provider.name().to_owned(), detail: "renewal answered another account".into() }))
        }
        Err(error) if error.is_invalid_grant() => {
            crate::observability::log_chain(&error);
            state
                .db
                .renewal_refused(
                    &view.id,
                    record.token_version,
                    holder,
                    event(false, "The provider refused the refresh token; reauthenticate"),
                    needs_consent(),
                )
                .await?;
            Err(TokenError::ReauthenticationRequired { provider: provider.name().to_owned() })
        }
        Err(error) => {
            state.db.release_renewal(&view.id, record.token_version, holder).await?;
            Err(TokenError::Provider(error))
        }
    }
}

fn renew_event<'a>(record: &'a ConnectionRecord, success: bool, detail: &'a str, at: i64) -> AuditEntry<'a> {
    AuditEntry {
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

/// A connection that needed reauthentication works again (a renewal or a check got through): its
/// audit line and its outgoing `connection.recovered`, written with the change that made it so.
pub(crate) fn recovery<'a>(cause: &AuditEntry<'a>) -> IfChanged<'a> {
    let audit = AuditEntry {
        action: AuditAction::Recover,
        success: true,
        detail: "Access works again without a new consent: reauthentication is no longer required",
        ..*cause
    };
    IfChanged { audit: Some(audit), announce: Some(Notification::Recovered) }
}

/// A connection whose refresh token was refused needs a new consent: announced when it comes to that.
fn needs_consent() -> IfChanged<'static> {
    IfChanged { audit: None, announce: Some(Notification::ReauthenticationRequired) }
}

/// The mode whose key renews a connection: the one it was made in; for one made before its provider
/// had a client per mode, the mode its `livemode` says (a sandbox's grant was made as test mode's).
fn renewal_mode(view: &crate::storage::Connection) -> Option<connections_wire::Mode> {
    use connections_wire::Mode;
    view.mode.or(view.livemode.map(|live| if live { Mode::Live } else { Mode::Test }))
}
