//! Connect links (issue 23): an administrator (or the product's backend) makes a link that lets the
//! account owner, who may not be a BI admin, connect one provider for one workspace. The token is
//! 256 random bits, shown once and stored as its SHA-256; the link is used up by the first
//! connection made through it, expires, can be revoked, and opens nothing else: the attempt it
//! starts is bound to the link the way an admin's is bound to the session.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Utc;
use connections_wire::{
    AuditAction, ConnectLinkCreated, ConnectLinkView, GrantRequest, KeyConnectRequest, LinkGrantResponse, LinkPage, LinkStatus, Role, StartAttemptRequest,
    StartAttemptResponse, Timestamp, LINK_MAX_SECS, LINK_MIN_SECS,
};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::connect::{self, ConnectError, ThroughLink};
use super::keys::{self, KeyError};
use super::Core;
use crate::providers::Provider;
use crate::session::CurrentUser;
use crate::storage::{AuditEntry, Db, LinkState, NewLink, StoredLink};

/// Links other than open ones stay in the admins' list this long after they were made.
const RECENT_SECS: i64 = 14 * 24 * 3600;
/// A note is a sentence or two.
const MAX_NOTE_CHARS: usize = 500;
/// Who does what in the audit trail when it is the link (its expiry) and not a person.
const LINK_ACTOR: &str = "connect-link";

#[derive(Debug, thiserror::Error)]
pub(crate) enum LinkError {
    #[error("{0}")]
    Invalid(String),
    #[error("unknown provider {0:?}")]
    UnknownProvider(String),
    /// No such link (or connection) in this workspace.
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// Who makes a link: an administrator's session, or a backend naming the workspace and the person.
pub(crate) struct Maker<'a> {
    pub workspace: &'a str,
    /// The workspace's display name, if the caller knows one.
    pub workspace_name: Option<&'a str>,
    pub subject: &'a str,
    pub name: &'a str,
}

/// What a link is for.
pub(crate) struct LinkRequest<'a> {
    pub provider: &'a str,
    pub connection_id: Option<&'a str>,
    pub expires_in_secs: i64,
    pub note: Option<&'a str>,
}

/// The SHA-256 of a token, as stored.
pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `PUBLIC_URL/connect/<token>`.
fn link_url(core: &Core, token: &str) -> String {
    let mut url = core.public_url.clone();
    let base = url.path().trim_end_matches('/').to_owned();
    url.set_path(&format!("{base}{}{token}", connections_wire::paths::LINK_PAGE_PREFIX));
    url.to_string()
}

fn stamp(at: i64) -> Timestamp {
    Timestamp::from_timestamp(at)
}

/// Makes a link; answers its address, which holds the token, this once.
pub(crate) async fn create(core: &Core, maker: &Maker<'_>, request: &LinkRequest<'_>) -> Result<ConnectLinkCreated, LinkError> {
    let provider = core.providers.get(request.provider).ok_or_else(|| LinkError::UnknownProvider(request.provider.chars().take(40).collect()))?;
    if !(LINK_MIN_SECS..=LINK_MAX_SECS).contains(&request.expires_in_secs) {
        return Err(LinkError::Invalid(format!("expires_in_secs must be from {LINK_MIN_SECS} (1 hour) to {LINK_MAX_SECS} (7 days)")));
    }
    let note = request.note.map(str::trim).filter(|note| !note.is_empty());
    if note.is_some_and(|note| note.chars().count() > MAX_NOTE_CHARS || note.chars().any(|c| c.is_control() && c != '\n')) {
        return Err(LinkError::Invalid(format!("note must be at most {MAX_NOTE_CHARS} characters, without control characters")));
    }
    if maker.workspace.is_empty() || maker.subject.is_empty() || maker.name.trim().is_empty() || maker.name.chars().count() > 200 {
        return Err(LinkError::Invalid("the workspace, and who made the link (1 to 200 characters), are required".into()));
    }
    let account_id = match request.connection_id {
        None => None,
        Some(id) => {
            let record = core.db.connection_in(maker.workspace, id).await?.ok_or(LinkError::NotFound)?;
            if record.view.provider != provider.id() {
                return Err(LinkError::Invalid("the connection is of another data source".into()));
            }
            // No new key could be matched to it: its account is named only by the old key's hash.
            if provider.pasted_key().is_some() && keys::is_fingerprint(&record.view.account_id) {
                return Err(LinkError::Invalid(format!(
                    "{} is known here only by its key (the key cannot read its account), so a new key cannot be matched to it: send a link to connect instead, then disconnect the old connection",
                    record.view.account_name
                )));
            }
            Some(record.view.account_id)
        }
    };
    let now = Utc::now().timestamp();
    let token = new_token();
    let id = format!("link_{}", uuid::Uuid::new_v4().simple());
    let expires_at = now + request.expires_in_secs;
    let detail = format!("Link made by {} for {}, valid until {}", maker.name, provider.name(), stamp(expires_at));
    let link = NewLink {
        id: &id,
        token_hash: &token_hash(&token),
        workspace: maker.workspace,
        workspace_name: maker.workspace_name.filter(|name| !name.trim().is_empty()).unwrap_or(maker.workspace),
        provider: provider.id(),
        connection_id: request.connection_id,
        created_by_subject: maker.subject,
        created_by_name: maker.name,
        note,
        created_at: now,
        expires_at,
    };
    let audit = AuditEntry {
        workspace: maker.workspace,
        provider: provider.id(),
        account_id: account_id.as_deref().unwrap_or(""),
        action: AuditAction::ConnectLink,
        success: true,
        actor_subject: maker.subject,
        actor_name: maker.name,
        detail: &detail,
        at: now,
    };
    core.db.insert_link(&link, audit).await?;
    Ok(ConnectLinkCreated { id, url: link_url(core, &token), expires_at: stamp(expires_at) })
}

fn view(link: StoredLink, now: i64) -> ConnectLinkView {
    let status = match link.state(now) {
        LinkState::Open => LinkStatus::Open,
        LinkState::Used => LinkStatus::Used,
        LinkState::Revoked => LinkStatus::Revoked,
        LinkState::Expired => LinkStatus::Expired,
    };
    ConnectLinkView {
        id: link.id,
        provider: link.provider,
        connection_id: link.connection_id,
        created_by: link.created_by_name,
        note: link.note,
        created_at: stamp(link.created_at),
        expires_at: stamp(link.expires_at),
        status,
        used_by_connection: link.used_by_connection,
    }
}

/// A workspace's links, newest first: the open ones, and the others of the last two weeks.
pub(crate) async fn list(core: &Core, workspace: &str, only_open: bool) -> Result<Vec<ConnectLinkView>, LinkError> {
    let now = Utc::now().timestamp();
    let links = core.db.links_of(workspace, now, RECENT_SECS).await?;
    Ok(links.into_iter().filter(|link| !only_open || link.state(now) == LinkState::Open).map(|link| view(link, now)).collect())
}

/// Revokes an open link of the workspace. Another workspace's, or one no longer open, is not found.
pub(crate) async fn revoke(core: &Core, workspace: &str, id: &str, subject: &str, name: &str) -> Result<(), LinkError> {
    let link = core.db.link_in(workspace, id).await?.ok_or(LinkError::NotFound)?;
    let now = Utc::now().timestamp();
    let account_id = reconnect_account(&core.db, &link).await?;
    let detail = format!("Link made by {} revoked by {name}", link.created_by_name);
    let audit = AuditEntry {
        workspace,
        provider: &link.provider,
        account_id: account_id.as_deref().unwrap_or(""),
        action: AuditAction::ConnectLink,
        success: true,
        actor_subject: subject,
        actor_name: name,
        detail: &detail,
        at: now,
    };
    if core.db.revoke_link(workspace, id, now, audit).await? {
        Ok(())
    } else {
        Err(LinkError::NotFound)
    }
}

async fn reconnect_account(db: &Db, link: &StoredLink) -> Result<Option<String>, sqlx::Error> {
    Ok(match &link.connection_id {
        Some(id) => db.connection_in(&link.workspace, id).await?.map(|record| record.view.account_id),
        None => None,
    })
}

/// The open link a token names. Unknown and expired are not told apart; the work is the same for
/// both (the hash, one read), so neither is the time.
pub(crate) async fn open_link(db: &Db, token: &str) -> Result<StoredLink, ConnectError> {
    let link = db.link_by_token_hash(&token_hash(token)).await?;
    match link {
        None => Err(ConnectError::LinkClosed(LinkState::Expired)),
        Some(link) => match link.state(Utc::now().timestamp()) {
            LinkState::Open => Ok(link),
            closed => Err(ConnectError::LinkClosed(closed)),
        },
    }
}

/// Counts one request with this token against its per-minute allowance (`Some`: seconds to wait).
/// Counted by the token's hash, so unknown tokens count like known ones.
pub(crate) async fn count_request(db: &Db, token: &str, action: &str, per_minute: u32) -> Result<Option<u64>, sqlx::Error> {
    db.count_rate_event("connect-link", &token_hash(token), action, Utc::now().timestamp(), per_minute, 60).await
}

/// Who the link acts as: bound to the link, in its workspace, never an administrator.
fn link_user(link: &StoredLink) -> CurrentUser {
    CurrentUser {
        subject: format!("link:{}", link.id),
        name: format!("a link made by {}", link.created_by_name),
        role: Role::Viewer,
        workspace: link.workspace.clone(),
        workspace_name: None,
    }
}

fn provider_of(core: &Core, link: &StoredLink) -> Result<std::sync::Arc<Provider>, ConnectError> {
    // A provider taken out of the configuration since: the link cannot be used.
    core.providers.get(&link.provider).ok_or(ConnectError::LinkClosed(LinkState::Expired))
}

/// The link page's data. The opening is audited after the answer is made, so a known link's
/// answer takes no longer than an unknown one's.
pub(crate) async fn page(core: &Core, token: &str) -> Result<LinkPage, ConnectError> {
    let link = open_link(&core.db, token).await?;
    let provider = provider_of(core, &link)?;
    let reconnecting = match &link.connection_id {
        Some(id) => core.db.connection_in(&link.workspace, id).await?.map(|record| record.view),
        None => None,
    };
    let mut info = provider.info(core.redirect_uris(provider.id()));
    // A reconnect link reconnects the connection in its own mode: the only one offered.
    if let Some(mode) = reconnecting.as_ref().and_then(|view| reconnect_mode(&provider, view)) {
        info.modes = vec![mode];
    }
    let reconnect_name = reconnecting.map(|view| view.account_name);
    let page = LinkPage {
        company: link.workspace_name.clone(),
        asked_by: link.created_by_name.clone(),
        note: link.note.clone(),
        provider: info,
        reconnect_account: reconnect_name,
        expires_at: stamp(link.expires_at),
    };
    let db = core.db.clone();
    core.tasks.spawn(async move {
        let account_id = reconnect_account(&db, &link).await.ok().flatten();
        let detail = format!("Link made by {} opened", link.created_by_name);
        let entry = AuditEntry {
            workspace: &link.workspace,
            provider: &link.provider,
            account_id: account_id.as_deref().unwrap_or(""),
            action: AuditAction::ConnectLink,
            success: true,
            actor_subject: LINK_ACTOR,
            actor_name: "Connect link",
            detail: &detail,
            at: Utc::now().timestamp(),
        };
        if let Err(error) = db.record_link_event(entry).await {
            tracing::warn!(%error, "could not record a link's opening");
        }
    });
    Ok(page)
}

/// Registers an attempt bound to the link (`state`, the PKCE challenge, the return address made in
/// the browser, as the admin's).
pub(crate) async fn start_attempt(core: &Core, token: &str, request: &StartAttemptRequest) -> Result<StartAttemptResponse, ConnectError> {
    let link = open_link(&core.db, token).await?;
    let provider = provider_of(core, &link)?;
    let mut request = request.clone();
    if let Some(id) = &link.connection_id {
        let view = core.db.connection_in(&link.workspace, id).await?.ok_or(ConnectError::LinkClosed(LinkState::Expired))?.view;
        if let Some(mode) = reconnect_mode(&provider, &view) {
            match request.mode {
                Some(asked) if asked != mode => {
                    return Err(ConnectError::Mode(format!(
                        "this link reconnects {}'s {} mode connection; the attempt must be in {} mode",
                        view.account_name,
                        mode.as_str(),
                        mode.as_str()
                    )))
                }
                _ => request.mode = Some(mode),
            }
        }
    }
    connect::start_attempt(core, &provider, &link_user(&link), &request).await
}

/// The mode a reconnect link's attempt is in: the connection's, where its provider has a client per
/// mode and that mode is still configured.
fn reconnect_mode(provider: &Provider, view: &crate::storage::Connection) -> Option<connections_wire::Mode> {
    let modes = provider.modes();
    connections_wire::Mode::shown(view.mode, view.livemode).filter(|mode| modes.contains(mode))
}

/// Finishes the link's attempt: the grant is exchanged once, the connection stored and the link
/// used up together; a reconnect link must end on its connection's account.
pub(crate) async fn finish_grant(core: &Core, token: &str, grant: &GrantRequest) -> Result<LinkGrantResponse, ConnectError> {
    let link = open_link(&core.db, token).await?;
    let provider = provider_of(core, &link)?;
    let account_id = match &link.connection_id {
        // The connection is gone: the link can reconnect nothing.
        Some(_) => Some(reconnect_account(&core.db, &link).await?.ok_or(ConnectError::LinkClosed(LinkState::Expired))?),
        None => None,
    };
    let detail = format!("through a link made by {}", link.created_by_name);
    let through = ThroughLink { id: &link.id, account_id: account_id.as_deref(), detail: &detail };
    let granted = connect::finish_grant_as(core, &provider, &link_user(&link), &grant.code, &grant.state, &grant.code_verifier, Some(through)).await?;
    Ok(LinkGrantResponse { provider: provider.id().to_owned(), account_name: granted.connection.account_name, outcome: granted.outcome, tables: Vec::new() })
}

/// A key-based source's key through the link: tested as an administrator's would be, stored with
/// the link used up together; a reconnect link's key must be for its connection's account.
pub(crate) async fn connect_key(core: &Core, token: &str, request: &KeyConnectRequest) -> Result<LinkGrantResponse, KeyError> {
    let link = open_link(&core.db, token).await.map_err(KeyError::Link)?;
    let provider = provider_of(core, &link).map_err(KeyError::Link)?;
    let account_id = match &link.connection_id {
        Some(_) => Some(reconnect_account(&core.db, &link).await?.ok_or(KeyError::Link(ConnectError::LinkClosed(LinkState::Expired)))?),
        None => None,
    };
    let detail = format!("through a link made by {}", link.created_by_name);
    let through = ThroughLink { id: &link.id, account_id: account_id.as_deref(), detail: &detail };
    let stored = keys::connect_key_as(core, &provider, &link_user(&link), &request.key, request.name.as_deref(), Some(through)).await?;
    Ok(LinkGrantResponse { provider: provider.id().to_owned(), account_name: stored.connection.account_name, outcome: stored.outcome, tables: stored.tables })
}

/// Puts links that expired unused in the audit trail, once each (the maintenance round).
pub(crate) async fn record_expired(db: &Db) -> Result<u64, sqlx::Error> {
    db.record_expired_links(Utc::now().timestamp(), |link| (String::new(), format!("Link made by {} expired unused", link.created_by_name))).await
}

/// Puts a failed link grant in the audit trail.
pub(crate) async fn record_failure(db: &Db, token: &str, detail: &str) {
    let Ok(Some(link)) = db.link_by_token_hash(&token_hash(token)).await else { return };
    let user = link_user(&link);
    connect::record_failure(db, &link.provider, &user, AuditAction::Connect, detail).await;
}
