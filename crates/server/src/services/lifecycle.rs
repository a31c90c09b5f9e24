//! After connecting: does a connection still work (health check, on demand and periodically),
//! disconnecting it, and what the provider's webhooks say happened to it.

use chrono::Utc;
use connections_wire::{AuditAction, ConnectionStatus, ProviderRevocation};

use super::tokens::{self, TokenError};
use super::Core;
use crate::crypto::TokenCipher;
use crate::outbox::Notification;
use crate::providers::{Provider, ProviderError, ProviderEvent, Revocation};
use crate::storage::{AuditEntry, Connection, ConnectionRecord, Db, IfChanged};

pub(crate) const HEALTH_CHECK_ACTOR: &str = "Health check";
/// A provider's revocation event this soon after our own account-wide revocation is taken as its
/// consequence.
const OWN_REVOCATION_WINDOW_SECS: i64 = 10 * 60;

#[derive(Debug, thiserror::Error)]
pub(crate) enum LifecycleError {
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// A stored token no configured key decrypts: the operator's to fix (a key was dropped).
    #[error("a stored token cannot be decrypted with the configured keys")]
    Undecryptable,
    /// A disconnect whose stored tokens no configured key decrypts: nothing can be withdrawn at
    /// the provider, so nothing was changed (unless removing it here only was asked for).
    #[error("the stored tokens of this connection cannot be decrypted, so its access cannot be withdrawn at {provider}")]
    UnreadableTokens { provider: String },
    #[error("the connection is gone")]
    Gone,
    #[error("the connection kept changing while it was being ended")]
    KeptChanging,
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum CheckOutcome {
    Healthy,
    /// The access token had expired or was refused; a new one was obtained with the refresh token.
    Renewed,
    ReauthenticationRequired,
}

/// Checks one connection and records the outcome: read the account with a fresh access token; if
/// the provider refuses it, renew once and read again. A provider that cannot be reached changes
/// nothing and answers an error.
pub(crate) async fn check(
    state: &Core,
    provider: &Provider,
    record: ConnectionRecord,
    actor_subject: &str,
    actor_name: &str,
) -> Result<CheckOutcome, LifecycleError> {
    let (view, workspace) = (record.view.clone(), record.workspace.clone());
    let now = Utc::now().timestamp();
    let name = provider.name();
    let access = check_access(state, provider, record).await;
    crate::observability::count_health_check(provider.id(), super::outcomes::health_check(&access));
    let (outcome, version, detail) = match access {
        Ok(fresh) if fresh.renewed => (CheckOutcome::Renewed, fresh.version, "Access renewed with the refresh token".to_owned()),
        Ok(fresh) => (CheckOutcome::Healthy, fresh.version, format!("{name} accepted the stored token")),
        Err(TokenError::ReauthenticationRequired { .. }) | Err(TokenError::NoTokens) => {
            // The renewal that was refused already marked the row; note the check on what is there now.
            let version = state.db.connection(&view.id).await?.map_or(-1, |r| r.token_version);
            (CheckOutcome::ReauthenticationRequired, version, format!("{name} refused the stored token; reauthenticate"))
        }
        Err(TokenError::Undecryptable(error)) => {
            // A key dropped from CONNECTIONS_ENCRYPTION_KEY is ours to fix, not the admin's: the row
            // is left as it is.
            tracing::error!(connection = %view.id, %error, "stored token cannot be decrypted with the configured keys");
            return Err(LifecycleError::Undecryptable);
        }
        Err(error) => {
            let detail = format!("{name} could not be reached; nothing changed");
            state.db.record_event(check_event(&workspace, &view, actor_subject, actor_name, false, &detail, now)).await?;
            return Err(error.into());
        }
    };
    let status = if outcome == CheckOutcome::ReauthenticationRequired { ConnectionStatus::ReauthenticationRequired } else { ConnectionStatus::Connected };
    let success = outcome != CheckOutcome::ReauthenticationRequired;
    let event = check_event(&workspace, &view, actor_subject, actor_name, success, &detail, now);
    // Announced only if the status changes: a connection found refused, or working again.
    let if_changed = match status {
        ConnectionStatus::ReauthenticationRequired => IfChanged { audit: None, announce: Some(Notification::ReauthenticationRequired) },
        _ => tokens::recovery(&event),
    };
    state.db.record_check(&view.id, version, status, event, if_changed).await?;
    Ok(outcome)
}

/// The (possibly renewed) access token the provider accepted.
async fn check_access(state: &Core, provider: &Provider, record: ConnectionRecord) -> Result<tokens::FreshToken, TokenError> {
    let id = record.view.id.clone();
    let seen = record.token_version;
    let fresh = tokens::fresh_access_token(state, provider, record).await?;
    match provider.probe(&fresh.access_token).await {
        Ok(_) => Ok(fresh),
        // Renew the tokens we saw refused; if someone already did, theirs are used.
        Err(ProviderError::TokenRefused { .. }) if !fresh.renewed => renew_and_read(state, provider, &id, seen).await,
        Err(ProviderError::TokenRefused { .. }) => Err(TokenError::ReauthenticationRequired { provider: provider.name().to_owned() }),
        Err(error) => Err(error.into()),
    }
}

async fn renew_and_read(state: &Core, provider: &Provider, id: &str, seen_version: i64) -> Result<tokens::FreshToken, TokenError> {
    let record = state.db.connection(id).await?.ok_or(TokenError::NoTokens)?;
    let fresh = tokens::renew(state, provider, record, seen_version).await?;
    match provider.probe(&fresh.access_token).await {
        Ok(_) => Ok(fresh),
        Err(ProviderError::TokenRefused { .. }) => Err(TokenError::ReauthenticationRequired { provider: provider.name().to_owned() }),
        Err(error) => Err(error.into()),
    }
}

fn check_event<'a>(workspace: &'a str, view: &'a Connection, subject: &'a str, name: &'a str, success: bool, detail: &'a str, at: i64) -> AuditEntry<'a> {
    AuditEntry {
        workspace,
        provider: &view.provider,
        account_id: &view.account_id,
        action: AuditAction::HealthCheck,
        success,
        actor_subject: subject,
        actor_name: name,
        detail,
        at,
    }
}

/// Checks every connection that holds tokens; failures are logged, not fatal.
pub async fn check_all(state: &Core) {
    let records = match state.db.connections_to_check().await {
        Ok(records) => records,
        Err(error) => {
            tracing::warn!(%error, "health check: could not list connections");
            return;
        }
    };
    for record in records {
        let id = record.view.id.clone();
        let Some(provider) = state.providers.get(&record.view.provider) else {
            tracing::warn!(connection = %id, provider = %record.view.provider, "health check: the data source is no longer configured");
            continue;
        };
        match check(state, &provider, record, "health-check", HEALTH_CHECK_ACTOR).await {
            Ok(outcome) => tracing::info!(connection = %id, ?outcome, "health check"),
            Err(error) => tracing::warn!(connection = %id, %error, "health check failed"),
        }
    }
}

/// Withdraws the authorization at the provider where the dialect can, then forgets the tokens. If
/// the provider can't be reached the connection is left exactly as it was. If a stored token cannot
/// be decrypted (its key was dropped from the configuration), nothing can be withdrawn: the
/// connection is left as it is and that is said, unless `remove_locally` confirms forgetting it
/// here only. A revocation that would end the whole account's authorization (Stripe Connect) is
/// made only when no other connection, in any workspace, holds the account: otherwise only this
/// connection's tokens are deleted, and the others keep working. Answers what was done at the
/// provider.
pub(crate) async fn disconnect(
    db: &Db,
    cipher: &TokenCipher,
    provider: &Provider,
    record: ConnectionRecord,
    subject: &str,
    name: &str,
    remove_locally: bool,
) -> Result<ProviderRevocation, LifecycleError> {
    let now = Utc::now().timestamp();
    let provider_name = provider.name();
    let open = |kind, stored: &Option<Vec<u8>>| stored.as_deref().map(|s| cipher.open(&record.view.provider, &record.view.account_id, kind, s).ok());
    let refresh = open(crate::crypto::TokenKind::Refresh, &record.refresh_token);
    let access = open(crate::crypto::TokenKind::Access, &record.access_token);
    if matches!(refresh, Some(None)) || matches!(access, Some(None)) {
        tracing::warn!(connection = %record.view.id, "disconnect: a stored token cannot be decrypted with the configured keys");
        crate::observability::count_undecryptable_disconnect(provider.id(), remove_locally);
        if !remove_locally {
            let detail = format!("Its stored tokens cannot be decrypted, so the access at {provider_name} could not be withdrawn; nothing changed");
            db.record_event(disconnect_event(&record, subject, name, false, &detail, now)).await?;
            return Err(LifecycleError::UnreadableTokens { provider: provider_name.to_owned() });
        }
        let detail = format!(
            "Removed here only: its stored tokens could not be decrypted, so the access at {provider_name} was not withdrawn. Remove the app in {provider_name}"
        );
        let why = Why { action: AuditAction::Disconnect, actor_subject: subject, actor_name: name, detail: &detail, at: now, provider_event: None };
        end(db, record, ConnectionStatus::Disconnected, &why).await?;
        // Not withdrawn at the provider, as with a dialect that cannot: the app is removed there.
        return Ok(ProviderRevocation::NotSupported);
    }
    let (refresh, access) = (refresh.flatten(), access.flatten());
    let others =
        if provider.revocation_ends_account() { db.others_holding_account(provider.id(), &record.view.account_id, Some(&record.view.id)).await? } else { 0 };
    let (revocation, detail) = if others > 0 {
        crate::observability::count_disconnect(provider.id(), super::outcomes::disconnect(&Ok(Revocation::NotSupported)));
        let detail = format!(
            "Disconnected; the stored access is deleted. {provider_name} was not asked to withdraw the authorization: {others} other connection(s) of this account, in this or another workspace, still use it"
        );
        (ProviderRevocation::KeptForOtherConnections, detail)
    } else {
        if provider.revocation_ends_account() {
            // Noted first: the provider's webhook announcing the end may arrive before its answer.
            db.record_own_revocation(provider.id(), &record.view.account_id, now).await?;
        }
        let outcome = provider.revoke(&record.view.account_id, refresh.as_ref(), access.as_ref()).await;
        crate::observability::count_disconnect(provider.id(), super::outcomes::disconnect(&outcome));
        match outcome {
            Ok(Revocation::Revoked) => (ProviderRevocation::Revoked, format!("Disconnected; {provider_name} access revoked")),
            Ok(Revocation::AlreadyRevoked) => (ProviderRevocation::AlreadyRevoked, format!("Disconnected; {provider_name} had already disconnected the app")),
            // A pasted key works at the provider until it is rolled there.
            Ok(Revocation::NotSupported) if provider.pasted_key().is_some() => {
                (ProviderRevocation::KeyToRoll, format!("Disconnected; the stored key is deleted. Roll the key in {provider_name}: it works there until then"))
            }
            Ok(Revocation::NotSupported) => (
                ProviderRevocation::NotSupported,
                format!("Disconnected; the stored access is deleted. Remove the app in {provider_name} to withdraw it there too"),
            ),
            Err(error) => {
                let detail = format!("{provider_name} could not be reached; nothing changed");
                db.record_event(disconnect_event(&record, subject, name, false, &detail, now)).await?;
                return Err(error.into());
            }
        }
    };
    let account_id = record.view.account_id.clone();
    let why = Why { action: AuditAction::Disconnect, actor_subject: subject, actor_name: name, detail: &detail, at: now, provider_event: None };
    end(db, record, ConnectionStatus::Disconnected, &why).await?;
    // Two disconnects of one shared account at the same moment each saw the other still holding
    // it: whichever finds none left once its own tokens are gone withdraws it, so the authorization
    // never outlives every connection here.
    if revocation == ProviderRevocation::KeptForOtherConnections && db.others_holding_account(provider.id(), &account_id, None).await? == 0 {
        db.record_own_revocation(provider.id(), &account_id, now).await?;
        match provider.revoke(&account_id, None, None).await {
            Ok(_) => {
                tracing::info!(provider = provider.id(), account = %account_id, "the last connection of a shared account went: withdrawn at the provider");
                return Ok(ProviderRevocation::Revoked);
            }
            Err(error) => {
                tracing::warn!(provider = provider.id(), account = %account_id, %error, "the last connection of a shared account went, but withdrawing it failed")
            }
        }
    }
    Ok(revocation)
}

/// Withdraws, at the provider, tokens that nothing here will keep (an undone grant, an install
/// nobody confirmed), unless that would cut a connection still in use: one of the same account in
/// `workspace`, or, when the provider's revocation ends the whole account's authorization, one in
/// any workspace.
pub(crate) async fn withdraw_unused(
    db: &Db,
    provider: &Provider,
    workspace: &str,
    account_id: Option<&str>,
    refresh_token: Option<&crate::secret::Secret<String>>,
    access_token: Option<&crate::secret::Secret<String>>,
) -> Result<Option<Revocation>, LifecycleError> {
    if let Some(account_id) = account_id {
        let in_use = if provider.revocation_ends_account() {
            db.others_holding_account(provider.id(), account_id, None).await? > 0
        } else {
            db.connection_by_account(workspace, provider.id(), account_id).await?.is_some_and(|record| record.access_token.is_some())
        };
        if in_use {
            tracing::info!(provider = provider.id(), account = %account_id, "not withdrawn at the provider: a connection still uses the account");
            return Ok(None);
        }
        if provider.revocation_ends_account() {
            db.record_own_revocation(provider.id(), account_id, Utc::now().timestamp()).await?;
        }
    }
    Ok(Some(provider.revoke(account_id.unwrap_or(""), refresh_token, access_token).await?))
}

fn disconnect_event<'a>(record: &'a ConnectionRecord, subject: &'a str, name: &'a str, success: bool, detail: &'a str, at: i64) -> AuditEntry<'a> {
    AuditEntry {
        workspace: &record.workspace,
        provider: &record.view.provider,
        account_id: &record.view.account_id,
        action: AuditAction::Disconnect,
        success,
        actor_subject: subject,
        actor_name: name,
        detail,
        at,
    }
}

/// Why a connection is ended, for its audit line.
struct Why<'a> {
    action: AuditAction,
    actor_subject: &'a str,
    actor_name: &'a str,
    detail: &'a str,
    /// The provider's webhook event `(provider, event id)` that ends it, remembered with the end.
    provider_event: Option<(&'a str, &'a str)>,
    at: i64,
}

/// Ends a connection conditionally on the token version it was read at; if a renewal or a
/// reconnection got in between, reads it again and ends what is there now (a disconnect is meant
/// for the connection as it stands). Answers false when it had already ended.
async fn end(db: &Db, mut record: ConnectionRecord, status: ConnectionStatus, why: &Why<'_>) -> Result<bool, LifecycleError> {
    for _ in 0..5 {
        if record.access_token.is_none() && record.view.status == status {
            return Ok(false);
        }
        let event = AuditEntry {
            workspace: &record.workspace,
            provider: &record.view.provider,
            account_id: &record.view.account_id,
            action: why.action,
            success: true,
            actor_subject: why.actor_subject,
            actor_name: why.actor_name,
            detail: why.detail,
            at: why.at,
        };
        let announce = match status {
            ConnectionStatus::Revoked => Some(Notification::Revoked),
            ConnectionStatus::Disconnected => Some(Notification::Disconnected),
            ConnectionStatus::Connected | ConnectionStatus::ReauthenticationRequired => None,
        };
        if db.end_connection(&record.view.id, record.token_version, status, event, why.provider_event, announce).await? {
            tracing::info!(connection = %record.view.id, status = status.as_str(), "connection ended");
            return Ok(true);
        }
        record = db.connection(&record.view.id).await?.ok_or(LifecycleError::Gone)?;
    }
    Err(LifecycleError::KeptChanging)
}

/// Acts on a verified provider event (an incoming webhook). A repeated delivery (same event id) is acknowledged and
/// ignored; so is a revocation older than the connection it would end (Stripe retries for days,
/// and the account may have been connected again since). The event id is remembered in the same
/// transaction as the last of its effects (or alone when it changes nothing): when an effect fails,
/// the error answer makes the provider deliver it again, and the redelivery is applied (the
/// connections it had already ended stay ended).
pub(crate) async fn provider_event(db: &Db, provider: &Provider, event: ProviderEvent) -> Result<bool, LifecycleError> {
    let now = Utc::now().timestamp();
    match event {
        ProviderEvent::Revoked { account_id, event_id, created, mode } => {
            if !event_id.is_empty() && db.provider_event_applied(provider.id(), &event_id, now).await? {
                tracing::info!(provider = provider.id(), %event_id, "webhook event already processed");
                return Ok(false);
            }
            // After our own account-wide revocation (a disconnect, an undo, an expired install), the
            // provider's event announces what we did, not something the account owner did.
            let ours = db.revoked_here_since(provider.id(), &account_id, created.unwrap_or(now) - OWN_REVOCATION_WINDOW_SECS).await?;
            let (detail, actor_subject, actor_name) = if ours {
                (
                    format!("{} ended the access after this app withdrew its authorization for the account (a disconnect, an undone grant or an expired install here)", provider.name()),
                    "connections",
                    tokens::RENEWAL_ACTOR,
                )
            } else {
                (format!("The account owner disconnected the app at {}", provider.name()), provider.id(), provider.name())
            };
            let mut to_end = Vec::new();
            for record in db.connections_of_account(provider.id(), &account_id).await? {
                if !matches!(record.view.status, ConnectionStatus::Connected | ConnectionStatus::ReauthenticationRequired) {
                    continue;
                }
                if mode.is_some_and(|mode| connections_wire::Mode::shown(record.view.mode, record.view.livemode) != Some(mode)) {
                    tracing::info!(connection = %record.view.id, "revocation of another mode's install; ignored");
                    continue;
                }
                if created.is_some_and(|created| created < record.view.connected_at.timestamp()) {
                    tracing::info!(connection = %record.view.id, "revocation older than the connection; ignored");
                    continue;
                }
                to_end.push(record);
            }
            let provider_event = (!event_id.is_empty()).then_some((provider.id(), event_id.as_str()));
            let (mut handled, mut remembered) = (false, provider_event.is_none());
            let last = to_end.len().saturating_sub(1);
            for (i, record) in to_end.into_iter().enumerate() {
                let provider_event = if i == last { provider_event } else { None };
                let why = Why { action: AuditAction::Revoke, actor_subject, actor_name, detail: &detail, at: now, provider_event };
                let ended = end(db, record, ConnectionStatus::Revoked, &why).await?;
                handled |= ended;
                remembered |= ended && provider_event.is_some();
            }
            if !remembered {
                if let Some((provider_id, event_id)) = provider_event {
                    db.remember_provider_event(provider_id, event_id, now).await?;
                }
            }
            Ok(handled)
        }
        ProviderEvent::Authorized { account_id } => {
            tracing::info!(provider = provider.id(), account = %account_id, "app installed at the provider");
            Ok(true)
        }
        ProviderEvent::Ignored { kind } => {
            tracing::debug!(provider = provider.id(), %kind, "webhook event ignored");
            Ok(false)
        }
    }
}
