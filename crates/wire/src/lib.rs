//! The JSON the SPA and the server exchange. Both sides compile these same types, so a field renamed
//! here is renamed everywhere or the build fails.
//!
//! Nothing in here ever carries an OAuth token: the browser only sees connection metadata.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

mod problem;
pub use problem::{ErrorCode, Problem, PROBLEM_CONTENT_TYPE};

/// Path of every API route, so the SPA and the server cannot drift apart.
pub mod paths {
    pub const SESSION: &str = "/api/session";
    pub const DEMO_SESSION: &str = "/api/demo/session";
    pub const PROVIDERS: &str = "/api/providers";
    pub const CONNECTIONS: &str = "/api/connections";
    pub const AUDIT: &str = "/api/audit";
    pub const STRIPE_WEBHOOK: &str = "/api/webhooks/stripe";

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
}

/// A data source an administrator can connect, and what connecting it means.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderInfo {
    /// Stable id used in paths, e.g. `stripe`.
    pub id: String,
    pub name: String,
    /// Path of the provider's logo, served with the SPA.
    pub logo_path: String,
    /// The OAuth scope that will be requested, e.g. `read_only`.
    pub scope: String,
    /// What that scope lets the product do, in plain words.
    pub access_summary: String,
    /// The kinds of data that will sync once connected.
    pub data_synced: Vec<String>,
    /// Everything the browser needs to build the authorization URL itself.
    pub authorize_url: String,
    pub client_id: String,
    /// The return address of the app on the server's own pages.
    pub redirect_uri: String,
    /// Every return address registered with the provider: `redirect_uri` and the host pages the app
    /// is embedded in (`CONNECTIONS_EMBED_URLS`). The app uses the one for where it runs.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
}

/// `POST /api/providers/{provider}/attempts`
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartAttemptRequest {
    pub state: String,
    pub code_challenge: String,
    /// Only `S256` is accepted.
    pub code_challenge_method: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartAttemptResponse {
    /// The attempt must be finished before this moment.
    pub expires_at: DateTime<Utc>,
}

/// `POST /api/providers/{provider}/grants`: what came back from the provider, plus the PKCE verifier
/// that only the tab which started the attempt holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantRequest {
    pub code: String,
    pub state: String,
    pub code_verifier: String,
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
        [
            ConnectionStatus::Connected,
            ConnectionStatus::ReauthenticationRequired,
            ConnectionStatus::Revoked,
            ConnectionStatus::Disconnected,
        ]
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
    pub livemode: bool,
    pub scope: String,
    pub status: ConnectionStatus,
    pub connected_by: String,
    pub connected_at: DateTime<Utc>,
    /// When a health check last reached the provider with this connection's token.
    pub last_checked_at: Option<DateTime<Utc>>,
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
}

impl AuditAction {
    pub fn label(self) -> &'static str {
        match self {
            AuditAction::Connect => "Connect",
            AuditAction::Reauthenticate => "Reauthenticate",
            AuditAction::Disconnect => "Disconnect",
            AuditAction::Revoke => "Revoked at Stripe",
            AuditAction::HealthCheck => "Health check",
            AuditAction::Install => "Install from Stripe",
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
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        use AuditAction::*;
        [Connect, Reauthenticate, Disconnect, Revoke, HealthCheck, Install].into_iter().find(|a| a.as_str() == value)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub at: DateTime<Utc>,
    pub action: AuditAction,
    pub success: bool,
    /// Who did it: an administrator's name, or "Stripe" / "Health check".
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
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditList {
    pub events: Vec<AuditEvent>,
}

/// `POST /api/providers/{provider}/installs`: a code that arrived without a `state` this app started.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallRequest {
    pub code: String,
}

/// An install waiting for an administrator to confirm which account it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingInstall {
    pub id: String,
    pub provider: String,
    pub account_id: String,
    pub account_name: String,
    pub livemode: bool,
    pub scope: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionList {
    pub connections: Vec<ConnectionView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderList {
    pub providers: Vec<ProviderInfo>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_view_has_the_documented_shape_and_no_token_fields() {
        let view = ConnectionView {
            id: "conn_1".into(),
            provider: "stripe".into(),
            account_id: "acct_123".into(),
            account_name: "Acme".into(),
            livemode: false,
            scope: "read_only".into(),
            status: ConnectionStatus::ReauthenticationRequired,
            connected_by: "Ada".into(),
            connected_at: DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z").unwrap().into(),
            last_checked_at: None,
        };
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json["status"], "reauthentication_required");
        assert_eq!(json["connected_at"], "2026-11-22T10:00:00Z");
        let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        assert!(keys.iter().all(|k| !k.contains("token")), "{keys:?}");
        assert_eq!(serde_json::from_value::<ConnectionView>(json).unwrap(), view);
    }

    #[test]
    fn status_round_trips_through_its_storage_name() {
        for status in [
            ConnectionStatus::Connected,
            ConnectionStatus::ReauthenticationRequired,
            ConnectionStatus::Revoked,
            ConnectionStatus::Disconnected,
        ] {
            assert_eq!(ConnectionStatus::parse(status.as_str()), Some(status));
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
        assert_eq!(ConnectionStatus::parse("connected "), None);
    }

    #[test]
    fn audit_actions_round_trip_through_their_storage_name() {
        use AuditAction::*;
        for action in [Connect, Reauthenticate, Disconnect, Revoke, HealthCheck, Install] {
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
