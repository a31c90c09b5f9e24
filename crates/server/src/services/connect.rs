//! The connect flow's server side (see `shared/design.md`): registering an attempt before the browser
//! leaves for the provider, finishing it with the grant, and installs that started at the provider.
//! It owns the order of the steps and the undo when a later step fails; routes only call it.

use chrono::{DateTime, Utc};
use connections_wire::{
    AuditAction, AuthorizationCode, ConnectionStatus, GrantOutcome, GrantResponse, Mode, OAuthState, PendingInstall, PkceVerifier, StartAttemptRequest,
    StartAttemptResponse,
};

use super::Core;
use crate::crypto::TokenKind;
use crate::outbox::Notification;
use crate::pkce;
use crate::providers::{Provider, ProviderError, Revocation, TokenGrant};
use crate::session::CurrentUser;
use crate::storage::{AttemptRefusal, AuditEntry, Db, NewConnection, NewInstall, OnUpsert, RenewedTokens, ATTEMPT_LIFETIME_SECS, INSTALL_LIFETIME_SECS};

#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectError {
    #[error("{0}")]
    Invalid(&'static str),
    #[error("this page's return address is not registered for this data source")]
    UnregisteredReturnAddress,
    /// A mode the provider has no client for (or none to choose from).
    #[error("{0}")]
    Mode(String),
    #[error("No connection attempt of yours matches this response from the data source.")]
    UnknownAttempt,
    #[error("This connection attempt was already used.")]
    AttemptUsed,
    #[error("the connection attempt expired")]
    AttemptExpired,
    #[error("the PKCE code verifier does not match the challenge registered for this attempt")]
    PkceMismatch,
    #[error("No pending install of yours has this id; it may have expired (10 minutes) or been answered already.")]
    UnknownInstall,
    #[error("{provider} returned a different account than it authorized")]
    AccountMismatch { provider: String },
    /// A connect link that can no longer be used (expired or unknown, used, revoked).
    #[error("this connect link can no longer be used")]
    LinkClosed(crate::storage::LinkState),
    /// A grant in test mode or a sandbox for an account connected here in live mode: it would
    /// replace the live connection.
    #[error("{account} is connected in live mode here; connecting it in {mode} mode would replace that connection and its access. Nothing was changed: disconnect it first to switch it to {mode} mode")]
    ModeChange { account: String, mode: &'static str },
    /// A reconnect link's consent was for another account than the connection it is for.
    #[error("{provider} signed in to another account than the one this link reconnects; nothing was changed")]
    LinkWrongAccount { provider: String },
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

fn is_base64url(value: &str) -> bool {
    value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `state` is at least 128 bits as base64url (22 characters), and not absurdly long.
fn check_state(state: &OAuthState) -> Result<(), ConnectError> {
    let state = state.secret();
    if (22..=128).contains(&state.len()) && is_base64url(state) {
        Ok(())
    } else {
        Err(ConnectError::Invalid("state must be 22 to 128 base64url characters (at least 128 random bits)"))
    }
}

/// Codes are opaque; allow the OAuth-safe charset, bounded.
fn check_code(code: &AuthorizationCode) -> Result<(), ConnectError> {
    let code = code.secret();
    if (1..=512).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')) {
        Ok(())
    } else {
        Err(ConnectError::Invalid("code must be 1 to 512 characters of [A-Za-z0-9-._~]"))
    }
}

/// The mode an attempt is started in: the one asked, which must be one the provider has a client
/// for; with one configured, that one; with none, no mode.
fn attempt_mode(provider: &Provider, asked: Option<Mode>) -> Result<Option<Mode>, ConnectError> {
    let modes = provider.modes();
    let names = || modes.iter().map(|mode| mode.as_str()).collect::<Vec<_>>().join(", ");
    match (asked, modes.as_slice()) {
        (None, []) => Ok(None),
        (Some(mode), []) => Err(ConnectError::Mode(format!("{} has no modes to choose from; send no mode (was {})", provider.name(), mode.as_str()))),
        (None, [only]) => Ok(Some(*only)),
        (None, _) => Err(ConnectError::Mode(format!("mode is required: {} is configured for {}", provider.name(), names()))),
        (Some(mode), _) if modes.contains(&mode) => Ok(Some(mode)),
        (Some(mode), _) => Err(ConnectError::Mode(format!("{} mode is not configured for {}; choose one of {}", mode.as_str(), provider.name(), names()))),
    }
}

/// Binds `state`, the PKCE challenge, the return address and the mode to this session, and answers
/// the provider's authorize URL (for a client per mode, that mode's install link) for them.
pub(crate) async fn start_attempt(
    state: &Core,
    provider: &Provider,
    user: &CurrentUser,
    request: &StartAttemptRequest,
) -> Result<StartAttemptResponse, ConnectError> {
    check_state(&request.state)?;
    if request.code_challenge_method != "S256" {
        return Err(ConnectError::Invalid("code_challenge_method must be S256"));
    }
    if !pkce::is_valid_s256_challenge(&request.code_challenge) {
        return Err(ConnectError::Invalid("code_challenge must be 43 base64url characters (an S256 challenge)"));
    }
    let registered = state.redirect_uris(provider.id());
    let redirect_uri = match &request.redirect_uri {
        None => registered[0].clone(),
        Some(uri) if registered.contains(uri) => uri.clone(),
        Some(_) => return Err(ConnectError::UnregisteredReturnAddress),
    };
    let mode = attempt_mode(provider, request.mode)?;
    let now = Utc::now().timestamp();
    if !state
        .db
        .insert_attempt(&user.workspace, request.state.secret(), provider.id(), &user.subject, &request.code_challenge, &redirect_uri, mode, now)
        .await?
    {
        return Err(ConnectError::Invalid("this state value is already registered; generate a new one"));
    }
    let expires_at = DateTime::<Utc>::from_timestamp(now + ATTEMPT_LIFETIME_SECS, 0).expect("now is in range").into();
    let authorize_url = provider
        .authorize_url(request.state.secret(), &request.code_challenge, &redirect_uri, mode)
        .ok_or(ConnectError::Invalid("this data source has no authorization page: its key is entered instead"))?
        .to_string();
    Ok(StartAttemptResponse { expires_at, authorize_url })
}

/// Checks the grant, exchanges the code once, stores the connection with its tokens encrypted.
pub(crate) async fn finish_grant(
    state: &Core,
    provider: &Provider,
    user: &CurrentUser,
    code: &AuthorizationCode,
    attempt_state: &OAuthState,
    verifier: &PkceVerifier,
) -> Result<GrantResponse, ConnectError> {
    finish_grant_as(state, provider, user, code, attempt_state, verifier, None).await
}

/// A grant made through a connect link: its attempt was bound to the link, not a session.
pub(crate) struct ThroughLink<'a> {
    pub id: &'a str,
    /// A reconnect link: the account the consent must be for.
    pub account_id: Option<&'a str>,
    /// "through a link made by Ada", for the audit line.
    pub detail: &'a str,
}

/// [`finish_grant`], or with `link` the same through a connect link, which storing uses up.
pub(crate) async fn finish_grant_as(
    state: &Core,
    provider: &Provider,
    user: &CurrentUser,
    code: &AuthorizationCode,
    attempt_state: &OAuthState,
    verifier: &PkceVerifier,
    link: Option<ThroughLink<'_>>,
) -> Result<GrantResponse, ConnectError> {
    check_code(code)?;
    check_state(attempt_state)?;
    if !pkce::is_valid_verifier(verifier.secret()) {
        return Err(ConnectError::Invalid("code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~] (RFC 7636)"));
    }
    let now = Utc::now().timestamp();
    let attempt = match state.db.consume_attempt(&user.workspace, provider.id(), attempt_state.secret(), &user.subject, now).await? {
        Ok(attempt) => attempt,
        Err(AttemptRefusal::Unknown) => return Err(ConnectError::UnknownAttempt),
        Err(AttemptRefusal::AlreadyUsed) => return Err(ConnectError::AttemptUsed),
        Err(AttemptRefusal::Expired) => return Err(ConnectError::AttemptExpired),
    };
    if !pkce::verifier_matches(verifier.secret(), &attempt.code_challenge) {
        return Err(ConnectError::PkceMismatch);
    }
    let redirect_uri = attempt.redirect_uri.unwrap_or_else(|| state.redirect_uri(provider.id()));
    // The attempt's mode: its code belongs to that mode, and only its key exchanges it.
    let grant = provider.exchange_code(code, Some(verifier), &redirect_uri, attempt.mode).await?;
    let detail = match &link {
        Some(link) => format!("Connected with {} {}", provider.name(), link.detail),
        None => format!("Connected with {}", provider.name()),
    };
    let store = async {
        let (account_id, account_name) = account_of(provider, &grant).await?;
        if link.as_ref().and_then(|link| link.account_id).is_some_and(|expected| expected != account_id) {
            return Err(ConnectError::LinkWrongAccount { provider: provider.name().to_owned() });
        }
        let account = Account { id: &account_id, name: &account_name, mode: attempt.mode };
        store_connection(state, provider, user, &grant, account, now, &detail, link.as_ref().map(|link| link.id)).await
    };
    finish_or_undo(state, provider, grant_undo(&grant, &user.workspace), store).await
}

/// Tokens to withdraw at the provider if storing fails.
struct Undo {
    workspace: String,
    account_id: Option<String>,
    refresh_token: Option<crate::secret::Secret<String>>,
    access_token: crate::secret::Secret<String>,
}

fn grant_undo(grant: &TokenGrant, workspace: &str) -> Undo {
    Undo {
        workspace: workspace.to_owned(),
        account_id: grant.account_id.clone(),
        refresh_token: grant.refresh_token.clone(),
        access_token: grant.access_token.clone(),
    }
}

async fn finish_or_undo<T: Send + 'static>(
    state: &Core,
    provider: &Provider,
    undo: Undo,
    work: impl std::future::Future<Output = Result<T, ConnectError>> + Send,
) -> Result<T, ConnectError> {
    match work.await {
        Ok(value) => Ok(value),
        Err(error) => {
            undo_at_provider(&state.db, provider, undo).await;
            Err(error)
        }
    }
}

/// The account the new tokens belong to: named by the token answer (Stripe) or only by the account
/// endpoint (`oauth2`); both must agree.
async fn account_of(provider: &Provider, grant: &TokenGrant) -> Result<(String, String), ConnectError> {
    let account = provider.fetch_account(&grant.access_token).await?;
    if grant.account_id.as_deref().is_some_and(|id| id != account.id) || !provider.is_account_id(&account.id) {
        return Err(ConnectError::AccountMismatch { provider: provider.name().to_owned() });
    }
    Ok((account.id, account.display_name))
}

/// The account a grant is for, and the mode whose client made it.
struct Account<'a> {
    id: &'a str,
    name: &'a str,
    mode: Option<Mode>,
}

#[allow(clippy::too_many_arguments)]
async fn store_connection(
    state: &Core,
    provider: &Provider,
    user: &CurrentUser,
    grant: &TokenGrant,
    account: Account<'_>,
    now: i64,
    detail: &str,
    link: Option<&str>,
) -> Result<GrantResponse, ConnectError> {
    keep_live(state, provider, &user.workspace, account.id, account.mode).await?;
    let seal = |kind, token| state.cipher.seal(provider.id(), account.id, kind, token);
    let new = NewConnection {
        workspace: &user.workspace,
        provider: provider.id(),
        account_id: account.id,
        account_name: account.name,
        livemode: grant.livemode,
        mode: account.mode,
        scope: &grant.scope,
        access_token: seal(TokenKind::Access, &grant.access_token),
        refresh_token: grant.refresh_token.as_ref().map(|t| seal(TokenKind::Refresh, t)),
        access_expires_at: grant.access_expires_at,
        publishable_key: grant.publishable_key.as_deref(),
        connected_by_subject: &user.subject,
        connected_by_name: &user.name,
        now,
    };
    let (connection, renewed) = match link {
        None => state.db.upsert_connection(new, detail, CONNECTED).await?,
        // Used up in the same transaction; one used, revoked or expired meanwhile stores nothing.
        Some(link) => {
            state.db.upsert_connection_through_link(new, detail, CONNECTED, link).await?.ok_or(ConnectError::LinkClosed(crate::storage::LinkState::Used))?
        }
    };
    tracing::info!(connection = %connection.id, provider = provider.id(), by = %user.subject, renewed, "connected");
    let connection = super::data_access::after_connecting(state, provider, connection).await;
    Ok(GrantResponse { connection: connection.into(), outcome: if renewed { GrantOutcome::Renewed } else { GrantOutcome::Created } })
}

/// An account's live connection is not replaced by a grant of another mode (test → live is how one
/// goes live; live → test would silently swap the live access for test data).
async fn keep_live(state: &Core, provider: &Provider, workspace: &str, account_id: &str, mode: Option<Mode>) -> Result<(), ConnectError> {
    let Some(mode) = mode.filter(|mode| !mode.is_live()) else { return Ok(()) };
    let Some(existing) = state.db.connection_by_account(workspace, provider.id(), account_id).await? else { return Ok(()) };
    let live = Mode::shown(existing.view.mode, existing.view.livemode) == Some(Mode::Live);
    let holds_access = matches!(existing.view.status, ConnectionStatus::Connected | ConnectionStatus::ReauthenticationRequired);
    if live && holds_access {
        return Err(ConnectError::ModeChange { account: existing.view.account_name, mode: mode.as_str() });
    }
    Ok(())
}

/// A new connection is a connect in the audit trail and announced as created; a known account's is
/// a reauthentication, announced as such.
pub const CONNECTED: OnUpsert =
    OnUpsert { new: (AuditAction::Connect, Some(Notification::Created)), known: (AuditAction::Reauthenticate, Some(Notification::Reauthenticated)) };

/// Nothing was stored, so don't leave the app authorized at the provider either. Not when the
/// account is connected here (withdrawing would cut the connection that still works), nor, where the
/// provider's revocation ends the whole account's authorization, when any workspace holds it.
async fn undo_at_provider(db: &Db, provider: &Provider, undo: Undo) {
    let withdrawn =
        super::lifecycle::withdraw_unused(db, provider, &undo.workspace, undo.account_id.as_deref(), undo.refresh_token.as_ref(), Some(&undo.access_token))
            .await;
    match withdrawn {
        Ok(Some(Revocation::NotSupported)) => {
            tracing::warn!(provider = provider.id(), "nothing stored, and this data source has no call to withdraw the authorization")
        }
        Ok(_) => {}
        Err(super::lifecycle::LifecycleError::Provider(error)) => crate::observability::log_chain(&error),
        Err(error) => tracing::warn!(%error, "could not check for connections still using the account; not undoing"),
    }
}

/// A callback with a code but no `state` of ours (the user began at the provider). The code is
/// exchanged so the account can be named, but nothing is linked until an administrator confirms: a
/// login-CSRF'd code shows up as an account nobody expected.
pub(crate) async fn start_install(state: &Core, provider: &Provider, user: &CurrentUser, code: &AuthorizationCode) -> Result<PendingInstall, ConnectError> {
    check_code(code)?;
    // No `state`, so no attempt says the mode: the key that takes the code says it.
    let (grant, mode) = provider.exchange_install(code, &state.redirect_uri(provider.id())).await?;
    let now = Utc::now().timestamp();
    let pending = async {
        let (account_id, account_name) = account_of(provider, &grant).await?;
        keep_live(state, provider, &user.workspace, &account_id, mode).await?;
        let install = PendingInstall {
            id: format!("inst_{}", uuid::Uuid::new_v4().simple()),
            provider: provider.id().to_owned(),
            account_id,
            account_name,
            livemode: grant.livemode,
            mode,
            scope: grant.scope.clone(),
            expires_at: DateTime::<Utc>::from_timestamp(now + INSTALL_LIFETIME_SECS, 0).expect("now is in range").into(),
        };
        let seal = |kind, token| state.cipher.seal(provider.id(), &install.account_id, kind, token);
        let tokens = RenewedTokens {
            access_token: seal(TokenKind::Access, &grant.access_token),
            refresh_token: grant.refresh_token.as_ref().map(|t| seal(TokenKind::Refresh, t)),
            access_expires_at: grant.access_expires_at,
        };
        let stored = NewInstall {
            id: &install.id,
            provider: &install.provider,
            account_id: &install.account_id,
            account_name: &install.account_name,
            livemode: install.livemode,
            mode: install.mode,
            scope: &install.scope,
            expires_at: install.expires_at.timestamp(),
        };
        state.db.insert_install(&user.workspace, &stored, &user.subject, tokens, grant.publishable_key.as_deref(), now).await?;
        Ok(install)
    };
    finish_or_undo(state, provider, grant_undo(&grant, &user.workspace), pending).await
}

/// Links the pending install as a connection.
pub(crate) async fn confirm_install(state: &Core, provider: &Provider, user: &CurrentUser, id: &str) -> Result<GrantResponse, ConnectError> {
    let now = Utc::now().timestamp();
    let install = state.db.take_install(&user.workspace, provider.id(), id, &user.subject, now).await?.ok_or(ConnectError::UnknownInstall)?;
    keep_live(state, provider, &user.workspace, &install.account_id, install.mode).await?;
    let (connection, renewed) = state
        .db
        .upsert_connection(
            NewConnection {
                workspace: &user.workspace,
                provider: provider.id(),
                account_id: &install.account_id,
                account_name: &install.account_name,
                livemode: install.livemode,
                mode: install.mode,
                scope: &install.scope,
                access_token: install.access_token,
                refresh_token: install.refresh_token,
                access_expires_at: install.access_expires_at,
                publishable_key: install.publishable_key.as_deref(),
                connected_by_subject: &user.subject,
                connected_by_name: &user.name,
                now,
            },
            &format!("Installed from {}, confirmed by an administrator", provider.name()),
            CONNECTED,
        )
        .await?;
    tracing::info!(connection = %connection.id, by = %user.subject, renewed, "install confirmed");
    let connection = super::data_access::after_connecting(state, provider, connection).await;
    Ok(GrantResponse { connection: connection.into(), outcome: if renewed { GrantOutcome::Renewed } else { GrantOutcome::Created } })
}

/// Forgets the pending install, and withdraws it at the provider where that is possible.
pub(crate) async fn decline_install(state: &Core, provider: &Provider, user: &CurrentUser, id: &str) -> Result<(), ConnectError> {
    let now = Utc::now().timestamp();
    let install = state.db.take_install(&user.workspace, provider.id(), id, &user.subject, now).await?.ok_or(ConnectError::UnknownInstall)?;
    let open = |kind, stored: &[u8]| state.cipher.open(provider.id(), &install.account_id, kind, stored).ok();
    let undo = Undo {
        workspace: user.workspace.clone(),
        account_id: Some(install.account_id.clone()),
        refresh_token: install.refresh_token.as_deref().and_then(|t| open(TokenKind::Refresh, t)),
        access_token: open(TokenKind::Access, &install.access_token).unwrap_or_else(|| crate::secret::Secret::new(String::new())),
    };
    undo_at_provider(&state.db, provider, undo).await;
    let detail = format!("Installed from {}, declined by an administrator", provider.name());
    state
        .db
        .record_event(AuditEntry {
            workspace: &user.workspace,
            provider: provider.id(),
            account_id: &install.account_id,
            action: AuditAction::Install,
            success: false,
            actor_subject: &user.subject,
            actor_name: &user.name,
            detail: &detail,
            at: now,
        })
        .await?;
    Ok(())
}

/// Counts one request of `action` by the session against its allowance of `per_minute`: `Some`
/// (the seconds until one falls out of the minute) when it is spent.
pub(crate) async fn count_request(db: &Db, user: &CurrentUser, action: &str, per_minute: u32) -> Result<Option<u64>, sqlx::Error> {
    db.count_rate_event(&user.workspace, &user.subject, action, Utc::now().timestamp(), per_minute, 60).await
}

/// Puts a failed attempt (to connect, to install) in the audit trail, `detail` in the API's words.
pub(crate) async fn record_failure(db: &Db, provider: &str, user: &CurrentUser, action: AuditAction, detail: &str) {
    let event = AuditEntry {
        workspace: &user.workspace,
        provider,
        account_id: "",
        action,
        success: false,
        actor_subject: &user.subject,
        actor_name: &user.name,
        detail,
        at: Utc::now().timestamp(),
    };
    if let Err(error) = db.record_event(event).await {
        tracing::warn!(%error, "could not record a failed attempt");
    }
}
