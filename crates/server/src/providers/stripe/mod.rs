//! Stripe's two ways in, Stripe Apps OAuth 2.0 (`apps`) and Connect OAuth (`connect`), and what they
//! share here: both take the secret key as HTTP Basic user name, answer the same token fields
//! (`stripe_user_id`, `livemode`, …), read the account at `GET /v1/account`, list data at
//! `/v1/<table>` and sign their events with `Stripe-Signature`. They differ in lifetimes (Apps:
//! 1-hour access tokens and a refresh token rolled on every refresh; Connect: no expiry) and in
//! undoing (Connect has `/oauth/deauthorize`; Apps documents no call, the admin uninstalls in the
//! Dashboard).

pub(crate) mod apps;
pub(crate) mod connect;
pub(crate) mod key;
pub(crate) mod modes;

use std::time::Duration;

use connections_wire::Dialect;
use serde::Deserialize;
use url::Url;

use super::spec::{self, Common, DialectSpec, Env, KeyProblem, ProviderSpec};
use super::transport::Http;
use super::{AccountInfo, ProviderError, ProviderEvent, TokenGrant, WebhookError};
use crate::secret::Secret;
pub use connect::ConnectSpec;
pub use modes::{ModeClient, ModeSettings};

pub(crate) const STRIPE_APPS_AUTHORIZE_URL: &str = "https://marketplace.stripe.com/oauth/v2/authorize";
pub(crate) const STRIPE_APPS_TOKEN_URL: &str = "https://api.stripe.com/v1/oauth/token";
pub(crate) const STRIPE_APPS_UNINSTALL_URL: &str = "https://dashboard.stripe.com/settings/apps";
pub(crate) const STRIPE_CONNECT_AUTHORIZE_URL: &str = "https://connect.stripe.com/oauth/authorize";
pub(crate) const STRIPE_CONNECT_TOKEN_URL: &str = "https://connect.stripe.com/oauth/token";
pub(crate) const STRIPE_CONNECT_DEAUTHORIZE_URL: &str = "https://connect.stripe.com/oauth/deauthorize";
pub(crate) const STRIPE_API_BASE: &str = "https://api.stripe.com";
pub(crate) const STRIPE_DOCS_URL: &str = "https://docs.stripe.com/stripe-apps/api-authentication/oauth";

/// What Stripe data the product syncs once connected.
pub(crate) const STRIPE_DATA_SYNCED: [&str; 7] = ["Customers", "Charges", "Coupons", "Invoices", "Plans", "Subscriptions", "Events"];

/// Stripe Apps access tokens last one hour; the token answer does not say so (no `expires_in`).
pub(crate) const APPS_ACCESS_TOKEN_SECS: i64 = 3600;

/// What both Stripe dialects are configured with, checked.
#[derive(Clone, Debug)]
pub struct StripeSpec {
    pub client_id: String,
    pub secret_key: Secret<String>,
    pub authorize_url: Url,
    pub token_url: Url,
    /// `<api base>/v1/account`; the data lists are its siblings.
    pub account_url: Url,
    /// As sent and shown: `stripe_apps`, or Connect's `read_only` / `read_write`.
    pub scope: String,
    /// The webhook signing secret (`whsec_…`); `None`: its webhook route is off.
    pub webhook_secret: Option<Secret<String>>,
    /// A Stripe App's client per mode (`modes`), in the order live, test, sandbox; empty: the one
    /// client above serves every mode. With modes, the fields above are the first mode's.
    pub modes: Vec<ModeClient>,
}

/// Stripe, from the `STRIPE_*` settings or a providers-file entry; unset URLs take Stripe's own.
pub struct StripeSettings {
    pub dialect: Dialect,
    pub client_id: String,
    /// The one client's key (`STRIPE_SECRET_KEY`); `None` with a client per mode.
    pub secret_key: Option<Secret<String>>,
    pub authorize_url: Option<Url>,
    pub token_url: Option<Url>,
    pub deauthorize_url: Option<Url>,
    pub api_base: Option<Url>,
    /// Connect only: `read_only` or `read_write`.
    pub scope: String,
    pub webhook_secret: Option<Secret<String>>,
    /// A Stripe App's client per mode (`STRIPE_LIVE_*`, `STRIPE_TEST_*`, `STRIPE_SANDBOX_*`).
    pub modes: Vec<ModeSettings>,
    pub timeout: Duration,
}

impl StripeSettings {
    /// Problems name the `STRIPE_*` setting.
    pub(crate) fn into_spec(self, id: &str, name: &str) -> Result<ProviderSpec, (&'static str, String)> {
        let parse = |value: &str| Url::parse(value).expect("Stripe's URLs parse");
        let connect = self.dialect == Dialect::StripeConnect;
        if !self.client_id.starts_with("ca_") {
            return Err(("STRIPE_CLIENT_ID", "must be a client id starting with ca_".into()));
        }
        if connect {
            if let Some(first) = self.modes.first() {
                let setting = modes::setting(first.mode, modes::Part::SecretKey);
                return Err((setting, "a client per mode is for Stripe Apps (STRIPE_OAUTH=apps); a Connect platform has one".into()));
            }
        }
        let modes = modes::check(self.modes)?;
        let (secret_key, authorize_url, webhook_secret) = match (modes.first(), self.secret_key) {
            (None, None) => return Err(("STRIPE_SECRET_KEY", "is required".into())),
            (None, Some(key)) => {
                if !(key.expose().starts_with("sk_") || key.expose().starts_with("rk_")) {
                    return Err(("STRIPE_SECRET_KEY", "must be a secret key starting with sk_ or rk_".into()));
                }
                (key, self.authorize_url, self.webhook_secret)
            }
            (Some(first), one) => {
                let both = [
                    ("STRIPE_SECRET_KEY", one.is_some()),
                    ("STRIPE_AUTHORIZE_URL", self.authorize_url.is_some()),
                    ("STRIPE_WEBHOOK_SECRET", self.webhook_secret.is_some()),
                ];
                if let Some((setting, _)) = both.into_iter().find(|(_, set)| *set) {
                    let named = modes::setting(first.mode, modes::Part::SecretKey);
                    return Err((setting, format!("is for one client; with a client per mode ({named} …) give each mode's instead")));
                }
                (first.secret_key.clone(), Some(first.authorize_url.clone()), first.webhook_secret.clone())
            }
        };
        if connect && !matches!(self.scope.as_str(), "read_only" | "read_write") {
            return Err(("STRIPE_SCOPE", format!("{:?} must be read_only or read_write", self.scope)));
        }
        let api_base = self.api_base.unwrap_or_else(|| parse(STRIPE_API_BASE));
        let account_url = api_base.join("v1/account").map_err(|e| ("STRIPE_API_BASE", e.to_string()))?;
        let (authorize_default, token_default) =
            if connect { (STRIPE_CONNECT_AUTHORIZE_URL, STRIPE_CONNECT_TOKEN_URL) } else { (STRIPE_APPS_AUTHORIZE_URL, STRIPE_APPS_TOKEN_URL) };
        let (scope, access_summary) = if connect {
            let summary = match self.scope.as_str() {
                "read_write" => "Read and write access to your Stripe account's data. Stripe will ask you to approve this.",
                _ => "Read-only access to your Stripe account's data. Nothing in your Stripe account can be changed, and no money can be moved.",
            };
            (self.scope.clone(), summary)
        } else {
            ("stripe_apps".to_owned(), "Access to your Stripe account's data as the app's permissions allow, which Stripe shows you before you install it.")
        };
        let stripe = StripeSpec {
            client_id: self.client_id,
            secret_key,
            authorize_url: authorize_url.unwrap_or_else(|| parse(authorize_default)),
            token_url: self.token_url.unwrap_or_else(|| parse(token_default)),
            account_url,
            scope,
            webhook_secret,
            modes,
        };
        let dialect = if connect {
            DialectSpec::StripeConnect(ConnectSpec { stripe, deauthorize_url: self.deauthorize_url.unwrap_or_else(|| parse(STRIPE_CONNECT_DEAUTHORIZE_URL)) })
        } else {
            DialectSpec::StripeApps(stripe)
        };
        let mut spec = ProviderSpec::bare(id, name, dialect);
        spec.categories = vec!["payments".to_owned()];
        spec.icon = Some("/public/stripe.svg".to_owned());
        spec.access_summary = access_summary.to_owned();
        spec.data = STRIPE_DATA_SYNCED.iter().map(|s| s.to_string()).collect();
        spec.docs_url = Some(parse(if connect { "https://docs.stripe.com/connect/oauth-reference" } else { STRIPE_DOCS_URL }));
        spec.uninstall_url = (!connect).then(|| parse(STRIPE_APPS_UNINSTALL_URL));
        spec.timeout = self.timeout;
        Ok(spec)
    }
}

/// The keys both Stripe dialects read in a providers-file entry.
pub(crate) struct FileKeys<'a> {
    pub client_id: &'a str,
    /// `None` with a `modes` table.
    pub client_secret_env: Option<&'a str>,
    pub webhook_secret_env: &'a Option<String>,
    pub authorize_url: &'a Option<String>,
    pub token_url: &'a Option<String>,
    pub api_base: &'a Option<String>,
    /// Stripe's links take exactly their own parameters: these are checked as for any entry, and not
    /// sent.
    pub authorize_params: &'a toml::Table,
    /// A Stripe App's `modes` table.
    pub modes: Option<&'a std::collections::BTreeMap<String, modes::ModeFile>>,
}

/// A Stripe entry of the providers file: its keys, then [`StripeSettings`] with problems named by
/// the file's keys, then the entry's own words over Stripe's defaults.
fn from_file(
    dialect: Dialect,
    keys: FileKeys<'_>,
    deauthorize_url: Option<Url>,
    scope: String,
    common: Common,
    env: Env<'_>,
) -> Result<ProviderSpec, KeyProblem> {
    let client_id = spec::client_id(keys.client_id)?;
    spec::authorize_params(keys.authorize_params)?;
    let (secret_key, modes) = match (keys.client_secret_env, keys.modes) {
        (Some(_), Some(_)) => return Err(("modes", "is instead of client_secret_env: give each mode's key in its table".into())),
        (None, None) => return Err(("client_secret_env", "is required (or a modes table with a client per mode)".into())),
        (Some(variable), None) => (Some(spec::secret_from_env("client_secret_env", variable, env)?), Vec::new()),
        (None, Some(table)) => (None, modes::from_file(table, env)?),
    };
    let settings = StripeSettings {
        dialect,
        client_id,
        secret_key,
        authorize_url: spec::optional_url("authorize_url", keys.authorize_url)?,
        token_url: spec::optional_url("token_url", keys.token_url)?,
        deauthorize_url,
        api_base: spec::optional_url("api_base", keys.api_base)?,
        scope,
        webhook_secret: spec::webhook_secret("webhook_secret_env", keys.webhook_secret_env, env)?,
        modes,
        timeout: common.timeout,
    };
    let base = settings.into_spec(&common.id, &common.name).map_err(|(key, problem)| (file_key(key), problem))?;
    Ok(common.over(base))
}

/// The file's key for a [`StripeSettings`] problem (which names `STRIPE_*` settings).
fn file_key(setting: &'static str) -> &'static str {
    match setting {
        "STRIPE_CLIENT_ID" => "client_id",
        "STRIPE_SECRET_KEY" => "client_secret_env",
        "STRIPE_SCOPE" => "scopes",
        "STRIPE_AUTHORIZE_URL" => "authorize_url",
        "STRIPE_WEBHOOK_SECRET" => "webhook_secret_env",
        other => modes::file_key_of(other).unwrap_or(other),
    }
}

/// Account ids are `acct_` and alphanumerics; anything else from the wire is refused before storing.
pub(crate) fn is_account_id(id: &str) -> bool {
    id.len() <= 64 && id.strip_prefix("acct_").is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The list endpoint of one of Stripe's data tables (`Customers` → `/v1/customers?limit=1`), beside
/// `account_url` (`<api base>/v1/account`).
fn list_url(account_url: &Url, table: &str) -> Option<Url> {
    const LISTS: [&str; 7] = ["customers", "charges", "coupons", "invoices", "plans", "subscriptions", "events"];
    let path = table.trim().to_ascii_lowercase();
    let path = LISTS.iter().find(|list| **list == path)?;
    let mut url = account_url.join(path).ok()?;
    url.set_query(Some("limit=1"));
    Some(url)
}

/// `GET /v1/account` with an access token or a key.
async fn read_account(http: &Http, access_token: &Secret<String>, account_url: &Url) -> Result<AccountInfo, ProviderError> {
    let (status, body) = http.get_with_token(access_token, account_url).await?;
    if !status.is_success() {
        return Err(match serde_json::from_slice::<ApiErrorBody>(&body) {
            Ok(e) => ProviderError::Rejected {
                provider: http.name.clone(),
                error: e.error.code.or(e.error.kind).unwrap_or_else(|| status.as_u16().to_string()),
                description: e.error.message,
            },
            Err(_) => http.malformed(format!("status {status} without an API error body")),
        });
    }
    let account: AccountBody = serde_json::from_slice(&body).map_err(|e| http.malformed(format!("account: {e}")))?;
    if !is_account_id(&account.id) {
        return Err(http.malformed("account without a valid id".into()));
    }
    let non_empty = |name: Option<String>| name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    let display_name = non_empty(account.business_profile.and_then(|p| p.name))
        .or_else(|| non_empty(account.settings.and_then(|s| s.dashboard).and_then(|d| d.display_name)))
        .or_else(|| non_empty(account.email))
        .unwrap_or_else(|| account.id.clone());
    Ok(AccountInfo { id: account.id, display_name })
}

/// What both Stripe dialects do alike, with the spec and client of one configured Stripe.
pub(crate) struct Stripe {
    spec: StripeSpec,
    http: Http,
}

impl Stripe {
    pub(crate) fn new(spec: StripeSpec, http: Http) -> Self {
        Stripe { spec, http }
    }

    /// The list endpoint of one of Stripe's data tables (`Customers` → `/v1/customers?limit=1`).
    fn data_url(&self, table: &str) -> Option<Url> {
        list_url(&self.spec.account_url, table)
    }

    /// A token request (code or refresh token); `expires_in` is what the token's lifetime is known
    /// to be (Stripe does not say it).
    async fn token_request(&self, form: &[(&str, &str)], expires_in: Option<i64>) -> Result<TokenGrant, ProviderError> {
        let (spec, http) = (&self.spec, &self.http);
        let response = http
            .client
            .post(spec.token_url.clone())
            .basic_auth(spec.secret_key.expose(), None::<&str>)
            .form(form)
            .send()
            .await
            .map_err(|e| http.unavailable(e))?;
        let status = response.status();
        let body = http.read_answer(response).await?;
        if status.is_server_error() {
            return Err(http.server_error(status));
        }
        if !status.is_success() {
            return Err(match serde_json::from_slice::<OAuthErrorBody>(&body) {
                Ok(e) => ProviderError::Rejected { provider: http.name.clone(), error: e.error, description: e.error_description },
                Err(_) => http.malformed(format!("status {status} without an OAuth error body")),
            });
        }
        let token: TokenResponseBody = serde_json::from_slice(&body).map_err(|e| http.malformed(format!("token response: {e}")))?;
        if token.access_token.is_empty() || !is_account_id(&token.stripe_user_id) {
            return Err(http.malformed("token response without an access token or account id".into()));
        }
        let now = chrono::Utc::now().timestamp();
        Ok(TokenGrant {
            access_token: Secret::new(token.access_token),
            refresh_token: token.refresh_token.filter(|t| !t.is_empty()).map(Secret::new),
            access_expires_at: expires_in.map(|secs| now + secs),
            account_id: Some(token.stripe_user_id),
            scope: token.scope.unwrap_or_else(|| spec.scope.clone()),
            livemode: Some(token.livemode),
            publishable_key: token.stripe_publishable_key,
        })
    }

    async fn refresh(&self, refresh_token: &Secret<String>, expires_in: Option<i64>) -> Result<TokenGrant, ProviderError> {
        self.token_request(&[("grant_type", "refresh_token"), ("refresh_token", refresh_token.expose())], expires_in).await
    }

    /// `GET /v1/account` with the connected account's access token.
    async fn fetch_account(&self, access_token: &Secret<String>) -> Result<AccountInfo, ProviderError> {
        read_account(&self.http, access_token, &self.spec.account_url).await
    }

    /// Verifies `Stripe-Signature` and reads what the event means.
    fn webhook_event(&self, headers: &http::HeaderMap, body: &[u8], now: i64) -> Result<ProviderEvent, WebhookError> {
        let secret = self.spec.webhook_secret.as_ref().ok_or(WebhookError::NotConfigured)?;
        let signature = headers.get("stripe-signature").and_then(|v| v.to_str().ok()).unwrap_or("");
        crate::stripe_signature::verify(secret.expose(), signature, body, now).map_err(|e| WebhookError::Signature(e.to_string()))?;
        let event: Event = serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
        let account =
            || event.account.clone().filter(|id| is_account_id(id)).ok_or_else(|| WebhookError::Malformed(format!("{} without an account", event.kind)));
        Ok(match event.kind.as_str() {
            "account.application.deauthorized" => ProviderEvent::Revoked {
                account_id: account()?,
                event_id: event.id.clone(),
                created: event.created.and_then(|at| super::provider_time(at, "a webhook event's creation time")),
                mode: None,
            },
            "account.application.authorized" => ProviderEvent::Authorized { account_id: account()? },
            _ => ProviderEvent::Ignored { kind: event.kind },
        })
    }
}

#[derive(Deserialize)]
struct TokenResponseBody {
    access_token: String,
    refresh_token: Option<String>,
    livemode: bool,
    stripe_user_id: String,
    scope: Option<String>,
    stripe_publishable_key: Option<String>,
}

#[derive(Deserialize)]
struct OAuthErrorBody {
    error: String,
    #[serde(default)]
    error_description: String,
}

#[derive(Deserialize)]
struct ApiErrorBody {
    error: ApiErrorDetail,
}

#[derive(Deserialize)]
struct ApiErrorDetail {
    #[serde(default)]
    code: Option<String>,
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
struct AccountBody {
    id: String,
    business_profile: Option<BusinessProfile>,
    settings: Option<Settings>,
    email: Option<String>,
}

#[derive(Deserialize)]
struct BusinessProfile {
    name: Option<String>,
}

#[derive(Deserialize)]
struct Settings {
    dashboard: Option<Dashboard>,
}

#[derive(Deserialize)]
struct Dashboard {
    display_name: Option<String>,
}

#[derive(Deserialize)]
struct Event {
    #[serde(default)]
    id: String,
    #[serde(rename = "type")]
    kind: String,
    /// The connected account the event is about.
    account: Option<String>,
    /// Unix seconds; Stripe always sends it.
    created: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::is_account_id;

    #[test]
    fn account_ids_are_checked_before_they_are_stored() {
        assert!(is_account_id("acct_1DemoAcmeBooks00"));
        assert!(!is_account_id("acct_"));
        assert!(!is_account_id("acct_<script>"));
        assert!(!is_account_id("cus_123"));
    }
}
