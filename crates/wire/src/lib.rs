//! The JSON the SPA and the server exchange. Both sides compile these same types, so a field renamed
//! here is renamed everywhere or the build fails.
//!
//! Nothing in here ever carries an OAuth token: the browser only sees connection metadata.

use serde::{Deserialize, Serialize};

mod delivery;
mod problem;
mod secrets;
mod time;
pub use delivery::{DataCheck, DeliveryStatus, TableAccess, TableCheck, WebhookDelivery};
pub use problem::{ErrorCode, Problem, PROBLEM_CONTENT_TYPE};
pub use secrets::{ApiKey, AuthorizationCode, ConnectLinkToken, OAuthState, PkceVerifier};
pub use time::Timestamp;

/// Path of every API route, so the SPA and the server cannot drift apart.
pub mod paths {
    pub const SESSION: &str = "/api/session";
    pub const DEMO_SESSION: &str = "/api/demo/session";
    pub const PROVIDERS: &str = "/api/providers";
    pub const CONNECTIONS: &str = "/api/connections";
    pub const AUDIT: &str = "/api/audit";
    pub const CONNECT_LINKS: &str = "/api/connect-links";
    /// The public link routes: the token travels in the body, never in a path (paths are logged).
    pub const LINK: &str = "/api/link";
    pub const LINK_ATTEMPTS: &str = "/api/link/attempts";
    pub const LINK_GRANTS: &str = "/api/link/grants";
    /// A key-based source's key, pasted on a link's page.
    pub const LINK_KEYS: &str = "/api/link/keys";
    /// The link's page in the SPA: `/connect/<token>`.
    pub const LINK_PAGE_PREFIX: &str = "/connect/";

    pub fn connect_link(id: &str) -> String {
        format!("/api/connect-links/{id}")
    }
    pub const STRIPE_WEBHOOK: &str = "/api/webhooks/stripe";

    /// `POST`: events a provider sends about its accounts (signed).
    pub fn webhook(provider: &str) -> String {
        format!("/api/webhooks/{provider}")
    }

    /// `GET`: one connection with its history.
    pub fn connection(id: &str) -> String {
        format!("/api/connections/{id}")
    }

    /// `POST`: deauthorize at the provider and forget the tokens.
    pub fn disconnect(id: &str) -> String {
        format!("/api/connections/{id}/disconnect")
    }

    /// `POST`: check now that the stored token still works.
    pub fn check(id: &str) -> String {
        format!("/api/connections/{id}/check")
    }

    /// `POST`: read one page of each data table with the connection's access.
    pub fn data_check(id: &str) -> String {
        format!("/api/connections/{id}/data-check")
    }

    /// `POST`: send a failed (or waiting) outgoing webhook event again now.
    pub fn retry_delivery(id: &str) -> String {
        format!("/api/webhook-deliveries/{id}/retry")
    }

    /// `POST`: a provider-started install: exchange the code and show the account before linking.
    pub fn installs(provider: &str) -> String {
        format!("/api/providers/{provider}/installs")
    }

    /// `POST`: link the pending install as a connection.
    pub fn confirm_install(provider: &str, id: &str) -> String {
        format!("/api/providers/{provider}/installs/{id}/confirm")
    }

    /// `POST`: refuse the pending install; it is undone at the provider.
    pub fn decline_install(provider: &str, id: &str) -> String {
        format!("/api/providers/{provider}/installs/{id}/decline")
    }

    /// `POST`: register a connect attempt (state + PKCE challenge) before leaving for the provider.
    pub fn attempts(provider: &str) -> String {
        format!("/api/providers/{provider}/attempts")
    }

    /// `POST`: hand the grant (code, state, verifier) back after the provider redirected.
    /// `POST`: a pasted key, tested and stored (key-based dialects).
    pub fn keys(provider: &str) -> String {
        format!("/api/providers/{provider}/keys")
    }

    pub fn grants(provider: &str) -> String {
        format!("/api/providers/{provider}/grants")
    }

    /// Where the provider sends the browser back to; an SPA route, not an API route.
    pub fn callback(provider: &str) -> String {
        format!("/connections/{provider}/callback")
    }
}

/// Who is signed in, as the server sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub subject: String,
    pub name: String,
    pub role: Role,
    /// The workspace (company) the session acts for: the token's `org`.
    #[serde(default)]
    pub workspace: String,
    /// The demo offers its own sign-in page; a production deployment signs in through its host portal.
    pub demo: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Viewer,
}

impl Role {
    /// The session token's `role` claim. Anything but `admin` is treated as a viewer.
    pub fn from_claim(claim: &str) -> Self {
        if claim == "admin" {
            Role::Admin
        } else {
            Role::Viewer
        }
    }
}

/// `POST /api/demo/session` (demo only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoSignInRequest {
    pub role: Role,
    /// One of the demo's two companies, `acme` (the default) or `globex`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
}

/// The demo's companies, so a newcomer can see that each sees only its own connections.
pub const DEMO_WORKSPACES: [(&str, &str); 2] = [("acme", "Acme Inc."), ("globex", "Globex")];

/// How a provider speaks OAuth: one implementation per dialect in the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Dialect {
    /// Any standards-following OAuth 2.0 provider (RFC 6749, PKCE per RFC 7636, RFC 7009 revocation).
    Oauth2,
    /// Stripe Apps OAuth 2.0: Stripe's current way in.
    StripeApps,
    /// Stripe Connect OAuth, for platforms that already use it.
    StripeConnect,
    /// Any source read with an API key an administrator pastes.
    ApiKey,
    /// A Stripe restricted (or secret) key an administrator pastes.
    StripeKey,
}

impl Dialect {
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Oauth2 => "oauth2",
            Dialect::StripeApps => "stripe-apps",
            Dialect::StripeConnect => "stripe-connect",
            Dialect::ApiKey => "api-key",
            Dialect::StripeKey => "stripe-key",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Dialect::Oauth2, Dialect::StripeApps, Dialect::StripeConnect, Dialect::ApiKey, Dialect::StripeKey].into_iter().find(|d| d.as_str() == value)
    }
}

/// A mode of a provider whose accounts have several (Stripe): each has its own data, keys and, for a
/// Stripe App, its own install link, secret key and webhook secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Live,
    Test,
    /// A Stripe sandbox: test data, with keys and webhook endpoints of its own.
    Sandbox,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::Live, Mode::Test, Mode::Sandbox];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Live => "live",
            Mode::Test => "test",
            Mode::Sandbox => "sandbox",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Mode::ALL.into_iter().find(|mode| mode.as_str() == value)
    }

    /// Stripe's `livemode` for accounts in this mode.
    pub fn is_live(self) -> bool {
        self == Mode::Live
    }

    /// The mode to show (and renew in): the one stored, else the one `livemode` says.
    pub fn shown(mode: Option<Mode>, livemode: Option<bool>) -> Option<Mode> {
        mode.or(livemode.map(|live| if live { Mode::Live } else { Mode::Test }))
    }
}

/// A data source an administrator can connect, and what connecting it means. Configured on the
/// server (`CONNECTIONS_PROVIDERS`); the SPA shows whatever it is given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderInfo {
    /// Stable id used in paths, `[a-z0-9-]+`, e.g. `stripe`.
    pub id: String,
    pub name: String,
    pub dialect: Dialect,
    /// Gallery categories, e.g. `payments`, `crm`.
    #[serde(default)]
    pub categories: Vec<String>,
    /// The logo: an absolute URL or a path on the server. `None`: the gallery shows the initials.
    #[serde(default)]
    pub icon_url: Option<String>,
    /// The access that will be requested, as the provider writes it (scopes joined by its separator).
    pub scope: String,
    /// What that access lets the product do, in plain words (English; the SPA translates known scopes).
    pub access_summary: String,
    /// The kinds of data that will sync once connected.
    pub data_synced: Vec<String>,
    /// The provider's documentation about connecting.
    #[serde(default)]
    pub docs_url: Option<String>,
    /// Whether its accounts are in test or live mode (the Mode column is shown only then).
    #[serde(default)]
    pub has_modes: bool,
    /// The modes an administrator chooses between on the authorization page (a Stripe App configured
    /// with a client per mode), in the order configured; empty: one client, nothing to choose.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub modes: Vec<Mode>,
    /// Where an administrator removes the app at the provider, for dialects where disconnecting here
    /// cannot withdraw the authorization (Stripe Apps documents no such call).
    #[serde(default)]
    pub uninstall_url: Option<String>,
    /// The return address of the app on the server's own pages.
    pub redirect_uri: String,
    /// Every return address registered with the provider: `redirect_uri` and the host pages the app
    /// is embedded in (`CONNECTIONS_EMBED_URLS`). The app uses the one for where it runs.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// For a key-based dialect: the field the key is pasted in. `None`: the provider's consent page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<KeyField>,
}

/// The field of a key-based provider's authorization page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyField {
    /// The field's label, e.g. `API key`.
    pub label: String,
    /// A regular expression the whole key must match (the browser checks it too); `None`: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Where a key is made at the provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help_url: Option<String>,
    /// Stripe: secret keys (`sk_`) are taken too, which the page warns about.
    #[serde(default)]
    pub secret_keys_allowed: bool,
}

/// `POST /api/providers/{provider}/keys`: the pasted key, once, and a name for the account when the
/// key cannot read it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyConnectRequest {
    pub key: ApiKey,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The answer to a stored key: the connection, what happened, and what the key can read (a key
/// refused or reading nothing is answered as a `key_refused` problem with the same `tables`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyConnectResponse {
    #[serde(flatten)]
    pub connection: ConnectionView,
    pub outcome: GrantOutcome,
    pub tables: Vec<TableCheck>,
}

/// `POST /api/providers/{provider}/attempts`. The browser makes `state` and the PKCE pair; the server
/// builds the provider's authorize URL from its configuration and answers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartAttemptRequest {
    pub state: OAuthState,
    pub code_challenge: String,
    /// Only `S256` is accepted.
    pub code_challenge_method: String,
    /// The return address the app will be sent back to: one of the provider's `redirect_uris`.
    /// Absent: the server's own (`redirect_uri`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// One of the provider's `modes`: whose install link, and later whose secret key, the attempt
    /// uses. Required when it has more than one; absent with one, that one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartAttemptResponse {
    /// The attempt must be finished before this moment.
    pub expires_at: Timestamp,
    /// Where to send the browser: the provider's authorization page with `state` (and, for dialects
    /// that take it, the PKCE challenge) filled in.
    pub authorize_url: String,
}

/// `POST /api/providers/{provider}/grants`: what came back from the provider, plus the PKCE verifier
/// that only the tab which started the attempt holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantRequest {
    pub code: AuthorizationCode,
    pub state: OAuthState,
    pub code_verifier: PkceVerifier,
}

/// Whether a grant made a new connection or renewed one of the same provider account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantOutcome {
    Created,
    Renewed,
}

/// The answer to a grant or a confirmed install: the connection's fields, plus what happened
/// (`201` when created, `200` when renewed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantResponse {
    #[serde(flatten)]
    pub connection: ConnectionView,
    pub outcome: GrantOutcome,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    Connected,
    ReauthenticationRequired,
    Revoked,
    Disconnected,
}

impl ConnectionStatus {
    pub fn label(self) -> &'static str {
        match self {
            ConnectionStatus::Connected => "Connected",
            ConnectionStatus::ReauthenticationRequired => "Reauthentication required",
            ConnectionStatus::Revoked => "Revoked",
            ConnectionStatus::Disconnected => "Disconnected",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionStatus::Connected => "connected",
            ConnectionStatus::ReauthenticationRequired => "reauthentication_required",
            ConnectionStatus::Revoked => "revoked",
            ConnectionStatus::Disconnected => "disconnected",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [ConnectionStatus::Connected, ConnectionStatus::ReauthenticationRequired, ConnectionStatus::Revoked, ConnectionStatus::Disconnected]
            .into_iter()
            .find(|status| status.as_str() == value)
    }
}

/// A row of the Data Sources table. Deliberately has no token fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionView {
    pub id: String,
    /// Provider id, e.g. `stripe`.
    pub provider: String,
    /// The provider's account id, e.g. `acct_1Nv0FGQ9RKHgCVdK`.
    pub account_id: String,
    /// The account's display name at the provider.
    pub account_name: String,
    /// Test or live mode, for providers that have modes (Stripe); `None` for the others.
    pub livemode: Option<bool>,
    /// The mode it was connected in, where that is known beyond `livemode`: a Stripe App configured
    /// with a client per mode (a sandbox is `livemode: false`). Otherwise `livemode` says it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    pub scope: String,
    pub status: ConnectionStatus,
    pub connected_by: String,
    pub connected_at: Timestamp,
    /// When a health check last reached the provider with this connection's token.
    pub last_checked_at: Option<Timestamp>,
    /// The newest object the last data-access check read, across the provider's tables ("last data
    /// point"); absent before any check, or when nothing could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_data_at: Option<Timestamp>,
}

impl ConnectionView {
    /// Live, test or sandbox, for providers that have modes.
    pub fn shown_mode(&self) -> Option<Mode> {
        Mode::shown(self.mode, self.livemode)
    }
}

/// What a disconnect did at the provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderRevocation {
    /// The app's authorization was withdrawn at the provider.
    Revoked,
    /// The provider had already ended it.
    AlreadyRevoked,
    /// The provider has no call for it: the app is removed there by hand.
    NotSupported,
    /// Not asked: the provider's revocation ends the whole account's authorization, and other
    /// connections of the account (in this or other workspaces) still use it. Only the tokens
    /// stored for this connection were deleted; the others keep working.
    KeptForOtherConnections,
    /// A pasted key was deleted here; it still works at the provider until it is rolled there.
    KeyToRoll,
}

/// The answer to `POST /api/connections/{id}/disconnect`: the row as it is now, and what was done at
/// the provider. The row's fields are at the top level, so a client that reads a `ConnectionView`
/// reads this too.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisconnectResponse {
    #[serde(flatten)]
    pub connection: ConnectionView,
    /// Absent from older servers, and when the connection was already disconnected (nothing done).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation: Option<ProviderRevocation>,
}

/// What happened to a connection, for the audit trail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    Connect,
    Reauthenticate,
    Disconnect,
    /// The account owner disconnected the app at the provider.
    Revoke,
    HealthCheck,
    /// A provider-started install shown for confirmation, then confirmed or declined.
    Install,
    /// A new access token obtained with the refresh token (before use, or by a health check).
    Renew,
    /// A service key was handed the access token (`/service/v1/`); the token itself is never logged.
    TokenRead,
    /// Each data table read once with the connection's access.
    DataCheck,
    /// Reauthentication was required, and the access works again without a new consent.
    Recover,
    /// A connect link was made, opened, revoked or expired (using one is the connect itself).
    ConnectLink,
}

impl AuditAction {
    pub fn label(self) -> &'static str {
        match self {
            AuditAction::Connect => "Connect",
            AuditAction::Reauthenticate => "Reauthenticate",
            AuditAction::Disconnect => "Disconnect",
            AuditAction::Revoke => "Revoked at the provider",
            AuditAction::HealthCheck => "Health check",
            AuditAction::Install => "Install started at the provider",
            AuditAction::Renew => "Access renewed",
            AuditAction::TokenRead => "Access token read by a service",
            AuditAction::DataCheck => "Data access checked",
            AuditAction::Recover => "Access working again",
            AuditAction::ConnectLink => "Connect link",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Connect => "connect",
            AuditAction::Reauthenticate => "reauthenticate",
            AuditAction::Disconnect => "disconnect",
            AuditAction::Revoke => "revoke",
            AuditAction::HealthCheck => "health_check",
            AuditAction::Install => "install",
            AuditAction::Renew => "renew",
            AuditAction::TokenRead => "token_read",
            AuditAction::DataCheck => "data_check",
            AuditAction::Recover => "recover",
            AuditAction::ConnectLink => "connect_link",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        use AuditAction::*;
        [Connect, Reauthenticate, Disconnect, Revoke, HealthCheck, Install, Renew, TokenRead, DataCheck, Recover, ConnectLink]
            .into_iter()
            .find(|a| a.as_str() == value)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub at: Timestamp,
    pub action: AuditAction,
    pub success: bool,
    /// Who did it: an administrator's name, the provider's name, or "Health check".
    pub actor: String,
    pub provider: String,
    /// Empty when the attempt failed before an account was known.
    pub account_id: String,
    /// The outcome in words, e.g. "Stripe could not be reached".
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionDetail {
    pub connection: ConnectionView,
    /// Newest first.
    pub history: Vec<AuditEvent>,
    /// The last data-access check; `None` before the first.
    #[serde(default)]
    pub data_check: Option<DataCheck>,
    /// The most recent outgoing webhook events about this connection, newest first (empty when no
    /// webhook receiver is configured).
    #[serde(default)]
    pub deliveries: Vec<WebhookDelivery>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditList {
    pub events: Vec<AuditEvent>,
}

/// `POST /api/providers/{provider}/installs`: a code that arrived without a `state` this app started.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallRequest {
    pub code: AuthorizationCode,
}

/// An install waiting for an administrator to confirm which account it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingInstall {
    pub id: String,
    pub provider: String,
    pub account_id: String,
    pub account_name: String,
    pub livemode: Option<bool>,
    /// The mode whose secret key took the code (a Stripe App with a client per mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    pub scope: String,
    pub expires_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionList {
    pub connections: Vec<ConnectionView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderList {
    pub providers: Vec<ProviderInfo>,
}

/// Connect links' shortest and longest lifetimes, and the one offered first.
pub const LINK_MIN_SECS: i64 = 3600;
pub const LINK_MAX_SECS: i64 = 7 * 24 * 3600;
pub const LINK_DEFAULT_SECS: i64 = 72 * 3600;

/// `POST /api/connect-links` (the workspace and the maker are the session's).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewConnectLink {
    pub provider: String,
    /// A reconnect link: the connection it must end on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
    /// From [`LINK_MIN_SECS`] to [`LINK_MAX_SECS`].
    pub expires_in_secs: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A link just made: its address holds the token, shown this once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectLinkCreated {
    pub id: String,
    pub url: String,
    pub expires_at: Timestamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkStatus {
    Open,
    Used,
    Revoked,
    Expired,
}

/// A link as admins see it (never its token).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectLinkView {
    pub id: String,
    pub provider: String,
    #[serde(default)]
    pub connection_id: Option<String>,
    pub created_by: String,
    #[serde(default)]
    pub note: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub status: LinkStatus,
    /// The connection made through it, once used.
    #[serde(default)]
    pub used_by_connection: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectLinkList {
    pub links: Vec<ConnectLinkView>,
}

/// `POST /api/link`: the token from the link's address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkToken {
    pub token: ConnectLinkToken,
}

/// What the link page shows before "Connect with {provider}".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkPage {
    /// The workspace's display name, else its id.
    pub company: String,
    /// Who made the link.
    pub asked_by: String,
    #[serde(default)]
    pub note: Option<String>,
    pub provider: ProviderInfo,
    /// For a reconnect link: the account it must end on.
    #[serde(default)]
    pub reconnect_account: Option<String>,
    pub expires_at: Timestamp,
}

/// `POST /api/link/attempts`: the link's token and the attempt, made in the browser as the admin's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkAttemptRequest {
    pub token: ConnectLinkToken,
    #[serde(flatten)]
    pub attempt: StartAttemptRequest,
}

/// `POST /api/link/grants`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkGrantRequest {
    pub token: ConnectLinkToken,
    #[serde(flatten)]
    pub grant: GrantRequest,
}

/// `POST /api/link/keys`: a key-based source's key, pasted by whoever holds the link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkKeyRequest {
    pub token: ConnectLinkToken,
    #[serde(flatten)]
    pub key: KeyConnectRequest,
}

/// What the person who used a link is told: the account connected (no more of the workspace), and
/// for a key, what it can read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkGrantResponse {
    pub provider: String,
    pub account_name: String,
    pub outcome: GrantOutcome,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<TableCheck>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disconnect_answer_is_the_row_plus_an_optional_revocation() {
        let row = serde_json::json!({
            "id": "conn_1", "provider": "stripe", "account_id": "acct_123", "account_name": "Acme", "livemode": false,
            "scope": "read_only", "status": "disconnected", "connected_by": "Ada", "connected_at": "2026-11-22T10:00:00Z",
            "last_checked_at": null,
        });
        // From an older server: no `revocation`.
        let old: DisconnectResponse = serde_json::from_value(row.clone()).unwrap();
        assert_eq!((old.connection.status, old.revocation), (ConnectionStatus::Disconnected, None));
        let mut new = row;
        new["revocation"] = "kept_for_other_connections".into();
        let answer: DisconnectResponse = serde_json::from_value(new.clone()).unwrap();
        assert_eq!(answer.revocation, Some(ProviderRevocation::KeptForOtherConnections));
        assert_eq!(serde_json::to_value(&answer).unwrap(), new, "the row's fields stay at the top level");
        // An older client reads the row alone.
        assert_eq!(serde_json::from_value::<ConnectionView>(new).unwrap(), answer.connection);
    }

    #[test]
    fn connection_view_has_the_documented_shape_and_no_token_fields() {
        let view = ConnectionView {
            id: "conn_1".into(),
            provider: "stripe".into(),
            account_id: "acct_123".into(),
            account_name: "Acme".into(),
            livemode: Some(false),
            mode: None,
            scope: "read_only".into(),
            status: ConnectionStatus::ReauthenticationRequired,
            connected_by: "Ada".into(),
            connected_at: Timestamp::parse_rfc3339("2026-11-22T10:00:00Z").unwrap(),
            last_checked_at: None,
            last_data_at: None,
        };
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json["status"], "reauthentication_required");
        assert_eq!(json["connected_at"], "2026-11-22T10:00:00Z");
        let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        assert!(keys.iter().all(|k| !k.contains("token")), "{keys:?}");
        assert_eq!(serde_json::from_value::<ConnectionView>(json).unwrap(), view);
    }

    #[test]
    fn a_grant_response_is_the_connection_plus_its_outcome() {
        let json = serde_json::json!({
            "id": "conn_1", "provider": "acme", "account_id": "u-1", "account_name": "Acme", "livemode": null,
            "scope": "contacts.read", "status": "connected", "connected_by": "Ada",
            "connected_at": "2026-11-22T10:00:00Z", "last_checked_at": null, "outcome": "renewed"
        });
        let response: GrantResponse = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(response.outcome, GrantOutcome::Renewed);
        assert_eq!(response.connection.livemode, None);
        assert_eq!(serde_json::to_value(&response).unwrap(), json);
    }

    #[test]
    fn dialects_have_the_names_the_providers_file_uses() {
        for (dialect, name) in [
            (Dialect::Oauth2, "oauth2"),
            (Dialect::StripeApps, "stripe-apps"),
            (Dialect::StripeConnect, "stripe-connect"),
            (Dialect::ApiKey, "api-key"),
            (Dialect::StripeKey, "stripe-key"),
        ] {
            assert_eq!(serde_json::to_value(dialect).unwrap(), name);
            assert_eq!(Dialect::parse(name), Some(dialect));
        }
    }

    #[test]
    fn status_round_trips_through_its_storage_name() {
        for status in [ConnectionStatus::Connected, ConnectionStatus::ReauthenticationRequired, ConnectionStatus::Revoked, ConnectionStatus::Disconnected] {
            assert_eq!(ConnectionStatus::parse(status.as_str()), Some(status));
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
        assert_eq!(ConnectionStatus::parse("connected "), None);
    }

    #[test]
    fn audit_actions_round_trip_through_their_storage_name() {
        use AuditAction::*;
        for action in [Connect, Reauthenticate, Disconnect, Revoke, HealthCheck, Install, Renew, TokenRead, DataCheck] {
            assert_eq!(AuditAction::parse(action.as_str()), Some(action));
            assert_eq!(serde_json::to_value(action).unwrap(), action.as_str());
        }
    }

    #[test]
    fn only_the_admin_claim_makes_an_admin() {
        assert_eq!(Role::from_claim("admin"), Role::Admin);
        assert_eq!(Role::from_claim("Admin"), Role::Viewer);
        assert_eq!(Role::from_claim(""), Role::Viewer);
    }

    #[test]
    fn paths_are_built_from_the_provider_id() {
        assert_eq!(paths::attempts("stripe"), "/api/providers/stripe/attempts");
        assert_eq!(paths::grants("stripe"), "/api/providers/stripe/grants");
        assert_eq!(paths::callback("stripe"), "/connections/stripe/callback");
    }
}
