//! One abstraction for "a source you connect with OAuth": build the authorize URL, exchange a code,
//! refresh, read the account, revoke, and read its webhooks. One implementation per dialect
//! (`oauth2`, `stripe-apps`, `stripe-connect`); nothing outside this module asks which one it is.
//!
//! The registry is built once at start from configuration (`spec`); routes find a provider by id
//! through it and never compare provider names. Every call to a provider is counted and timed here,
//! whatever the dialect (`observability::provider_call`).

mod generic;
pub mod spec;
pub mod stripe;

use std::sync::Arc;
use std::time::Instant;

use connections_wire::{AuthorizationCode, Dialect, PkceVerifier, ProviderInfo};
use url::Url;

use crate::observability;
use crate::secret::Secret;
pub use spec::{ClientAuth, ProviderSpec, ProvidersError};

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// Network failure, timeout, or a 5xx: trying again later may work.
    #[error("{provider} could not be reached: {reason}")]
    Unavailable {
        provider: String,
        reason: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The provider answered with an OAuth or API error (`invalid_grant`, …). The description is the
    /// provider's own text: for the log, not for the API answer.
    #[error("{provider} refused: {error}: {description}")]
    Rejected { provider: String, error: String, description: String },
    /// A success status with a body that is not what the provider documents.
    #[error("{provider} sent a response we could not read: {detail}")]
    Malformed { provider: String, detail: String },
    /// The connected account's token was refused (401): access was revoked or expired.
    #[error("{provider} refused the token")]
    TokenRefused { provider: String },
    /// The token is good, but its access does not cover what was asked (403).
    #[error("{provider} refused for lack of permission: {error}: {description}")]
    PermissionMissing { provider: String, error: String, description: String },
}

impl ProviderError {
    /// The provider says the grant (code or refresh token) is dead: only a new consent helps.
    pub fn is_invalid_grant(&self) -> bool {
        matches!(self, ProviderError::Rejected { error, .. } if error == "invalid_grant") || matches!(self, ProviderError::TokenRefused { .. })
    }

    pub fn is_unavailable(&self) -> bool {
        matches!(self, ProviderError::Unavailable { .. } | ProviderError::Malformed { .. })
    }
}

/// What a token endpoint granted. `account_id` is known here for Stripe (`stripe_user_id`); the
/// generic dialect learns it from the account endpoint.
#[derive(Debug)]
pub struct TokenGrant {
    pub access_token: Secret<String>,
    pub refresh_token: Option<Secret<String>>,
    /// Unix seconds; `None` when the provider's tokens do not expire (Stripe Connect).
    pub access_expires_at: Option<i64>,
    pub account_id: Option<String>,
    pub scope: String,
    pub livemode: Option<bool>,
    pub publishable_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountInfo {
    pub id: String,
    pub display_name: String,
}

/// How a revocation at the provider ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Revocation {
    Revoked,
    /// The provider says the app was not connected to that account (any more).
    AlreadyRevoked,
    /// The dialect has no call for it (Stripe Apps, or an `oauth2` source without `revoke_url`):
    /// the admin removes the app at the provider.
    NotSupported,
}

/// What a verified webhook event means for our connections.
#[derive(Debug, PartialEq, Eq)]
pub enum WebhookEvent {
    /// The account owner removed the app at the provider.
    Revoked { account_id: String, event_id: String, created: Option<i64> },
    /// The app was installed on an account (Stripe Apps); the redirect finishes the link.
    Authorized { account_id: String },
    /// Verified, but nothing we act on.
    Ignored { kind: String },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WebhookError {
    #[error("this data source sends no webhooks here")]
    NotConfigured,
    #[error("{0}")]
    Signature(String),
    #[error("not an event of this data source: {0}")]
    Malformed(String),
}

enum Client {
    Generic(generic::GenericClient),
    Stripe(stripe::StripeClient),
}

/// A configured data source and the client that speaks its dialect.
pub struct Provider {
    spec: ProviderSpec,
    client: Client,
    /// The same client the dialect's uses (one connection pool), for calls every dialect makes alike.
    http: reqwest::Client,
}

impl Provider {
    pub fn new(spec: ProviderSpec) -> Self {
        let http = http_client(&spec);
        let client = match spec.dialect {
            Dialect::Oauth2 => Client::Generic(generic::GenericClient::new(http.clone())),
            Dialect::StripeApps | Dialect::StripeConnect => Client::Stripe(stripe::StripeClient::new(http.clone())),
        };
        Provider { spec, client, http }
    }

    pub fn id(&self) -> &str {
        &self.spec.id
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    pub fn dialect(&self) -> Dialect {
        self.spec.dialect
    }

    pub fn spec(&self) -> &ProviderSpec {
        &self.spec
    }

    /// The scope string as sent at the authorize endpoint.
    pub fn scope(&self) -> String {
        self.spec.scopes.join(&self.spec.scope_separator)
    }

    /// The provider's authorization page for one attempt. `state` and the PKCE challenge come
    /// from the browser; `redirect_uri` is one of the registered return addresses.
    pub fn authorize_url(&self, state: &str, code_challenge: &str, redirect_uri: &str) -> Url {
        let mut url = self.spec.authorize_url.clone();
        {
            let mut query = url.query_pairs_mut();
            match self.spec.dialect {
                Dialect::Oauth2 => {
                    query.append_pair("response_type", "code").append_pair("client_id", &self.spec.client_id);
                    query.append_pair("redirect_uri", redirect_uri);
                    if !self.spec.scopes.is_empty() {
                        query.append_pair("scope", &self.scope());
                    }
                    query.append_pair("state", state);
                    query.append_pair("code_challenge", code_challenge).append_pair("code_challenge_method", "S256");
                    for (name, value) in &self.spec.authorize_params {
                        query.append_pair(name, value);
                    }
                }
                // Stripe's install link takes exactly these (its docs advise carrying the mode in state).
                Dialect::StripeApps => {
                    query.append_pair("client_id", &self.spec.client_id).append_pair("redirect_uri", redirect_uri).append_pair("state", state);
                }
                // Stripe does not document PKCE for Connect; the challenge is sent all the same, since
                // a provider that ignores it loses nothing and one that checks it gains.
                Dialect::StripeConnect => {
                    query
                        .append_pair("response_type", "code")
                        .append_pair("client_id", &self.spec.client_id)
                        .append_pair("scope", &self.scope())
                        .append_pair("redirect_uri", redirect_uri)
                        .append_pair("state", state)
                        .append_pair("code_challenge", code_challenge)
                        .append_pair("code_challenge_method", "S256");
                }
            }
        }
        url
    }

    /// Exchanges an authorization code, at most once per code: Stripe revokes every token issued from
    /// a code presented twice, so nothing here retries.
    pub async fn exchange_code(&self, code: &AuthorizationCode, verifier: Option<&PkceVerifier>, redirect_uri: &str) -> Result<TokenGrant, ProviderError> {
        let started = Instant::now();
        let result = match &self.client {
            Client::Generic(client) => client.exchange_code(&self.spec, code, verifier, redirect_uri).await,
            Client::Stripe(client) => client.exchange_code(&self.spec, code, verifier).await,
        };
        observability::provider_call(self.id(), "token_exchange", &result, started.elapsed());
        result
    }

    /// A new access token (and, where the provider rolls them, a new refresh token).
    pub async fn refresh(&self, refresh_token: &Secret<String>) -> Result<TokenGrant, ProviderError> {
        let started = Instant::now();
        let result = match &self.client {
            Client::Generic(client) => client.refresh(&self.spec, refresh_token).await,
            Client::Stripe(client) => client.refresh(&self.spec, refresh_token).await,
        };
        observability::provider_call(self.id(), "token_refresh", &result, started.elapsed());
        result
    }

    /// The account the access token belongs to.
    pub async fn fetch_account(&self, access_token: &Secret<String>) -> Result<AccountInfo, ProviderError> {
        let started = Instant::now();
        let result = match &self.client {
            Client::Generic(client) => client.fetch_account(&self.spec, access_token).await,
            Client::Stripe(client) => client.fetch_account(&self.spec, access_token).await,
        };
        observability::provider_call(self.id(), "account", &result, started.elapsed());
        result
    }

    /// The data tables this source lists, each with the endpoint that reads one page of it (`None`:
    /// none configured, so it cannot be checked).
    pub fn data_tables(&self) -> Vec<DataTable> {
        let spec = &self.spec;
        spec.data
            .iter()
            .map(|name| {
                let url = match spec.dialect {
                    Dialect::Oauth2 => spec.data_urls.iter().find(|(table, _)| table == name).map(|(_, url)| url.clone()),
                    Dialect::StripeApps | Dialect::StripeConnect => stripe::list_url(spec, name),
                };
                DataTable { name: name.clone(), url }
            })
            .collect()
    }

    /// Reads one page of a data table: when its newest object was created (unix seconds; `None`
    /// for an empty table).
    pub async fn read_table(&self, access_token: &Secret<String>, url: &Url) -> Result<Option<i64>, ProviderError> {
        let started = Instant::now();
        let result = read_list(&self.http, &self.spec, access_token, url).await;
        observability::provider_call(self.id(), "data_list", &result, started.elapsed());
        result
    }

    /// Withdraws the app's authorization for the account, where the dialect has a call for it.
    pub async fn revoke(
        &self,
        account_id: &str,
        refresh_token: Option<&Secret<String>>,
        access_token: Option<&Secret<String>>,
    ) -> Result<Revocation, ProviderError> {
        let started = Instant::now();
        let result = match &self.client {
            Client::Generic(client) => client.revoke(&self.spec, refresh_token.or(access_token)).await,
            Client::Stripe(client) => client.deauthorize(&self.spec, account_id).await,
        };
        // `NotSupported` is answered without a call.
        if !matches!(result, Ok(Revocation::NotSupported)) {
            observability::provider_call(self.id(), "revoke", &result, started.elapsed());
        }
        result
    }

    /// Whether [`Provider::revoke`] ends the app's authorization for the whole account, every token
    /// of every connection of it (Stripe Connect's deauthorize), rather than the tokens it is given.
    /// Such a revocation is made only when no other connection holds the account (design.md,
    /// "Shared accounts").
    pub fn revocation_ends_account(&self) -> bool {
        matches!(self.spec.dialect, Dialect::StripeConnect)
    }

    /// Verifies and reads a webhook delivery.
    pub fn webhook_event(&self, headers: &http::HeaderMap, body: &[u8], now: i64) -> Result<WebhookEvent, WebhookError> {
        match &self.client {
            Client::Generic(_) => Err(WebhookError::NotConfigured),
            Client::Stripe(_) => stripe::webhook_event(&self.spec, headers, body, now),
        }
    }

    /// Whether an account id from the wire is one this provider issues; refused before storing.
    pub fn is_account_id(&self, id: &str) -> bool {
        match self.spec.dialect {
            Dialect::Oauth2 => generic::is_account_id(id),
            Dialect::StripeApps | Dialect::StripeConnect => stripe::is_account_id(id),
        }
    }

    /// What the gallery and the authorization page show, with the return addresses for this server.
    pub fn info(&self, redirect_uris: Vec<String>) -> ProviderInfo {
        let spec = &self.spec;
        ProviderInfo {
            id: spec.id.clone(),
            name: spec.name.clone(),
            dialect: spec.dialect,
            categories: spec.categories.clone(),
            icon_url: spec.icon.clone(),
            scope: self.scope(),
            access_summary: spec.access_summary.clone(),
            data_synced: spec.data.clone(),
            docs_url: spec.docs_url.as_ref().map(Url::to_string),
            has_modes: matches!(spec.dialect, Dialect::StripeApps | Dialect::StripeConnect),
            uninstall_url: spec.uninstall_url.as_ref().map(Url::to_string),
            redirect_uri: redirect_uris.first().cloned().unwrap_or_default(),
            redirect_uris,
        }
    }
}

/// One data table of a source and where to read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataTable {
    pub name: String,
    pub url: Option<Url>,
}

/// `GET` a list endpoint with the access token. Stripe's lists (`{"data": [{"created": …}]}`, newest
/// first) and the common shapes of others (a top-level array, or `items` / `results`, with
/// `created`, `created_at` or `updated_at` as unix seconds or RFC 3339) are read.
async fn read_list(http: &reqwest::Client, spec: &ProviderSpec, access_token: &Secret<String>, url: &Url) -> Result<Option<i64>, ProviderError> {
    let (status, body) = get_with_token(http, spec, access_token, url).await?;
    let value: serde_json::Value = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    if !status.is_success() {
        // Stripe: {"error": {"code", "type", "message"}}; OAuth-style: {"error", "error_description"}.
        let error = &value["error"];
        let code = error["code"].as_str().or(error["type"].as_str()).or(error.as_str()).map_or_else(|| status.as_u16().to_string(), str::to_owned);
        let description = error["message"].as_str().or(value["error_description"].as_str()).unwrap_or_default().to_owned();
        return Err(if status == reqwest::StatusCode::FORBIDDEN {
            ProviderError::PermissionMissing { provider: spec.name.clone(), error: code, description }
        } else {
            ProviderError::Rejected { provider: spec.name.clone(), error: code, description }
        });
    }
    newest_in_list(&value).ok_or_else(|| ProviderError::Malformed { provider: spec.name.clone(), detail: "a list answer without a list".into() })
}

/// The newest creation time in a list answer; `Some(None)` for an empty list, `None` when the answer
/// is not a list at all. A time outside the years 1970 to 9999 is ignored (and logged): it is stored
/// and shown, and no calendar of ours holds it.
fn newest_in_list(value: &serde_json::Value) -> Option<Option<i64>> {
    let items = value.as_array().or_else(|| ["data", "items", "results"].iter().find_map(|key| value[*key].as_array()))?;
    let time = |item: &serde_json::Value| {
        ["created", "created_at", "updated_at"].iter().find_map(|key| match &item[*key] {
            serde_json::Value::Number(n) => n.as_i64(),
            serde_json::Value::String(s) => chrono::DateTime::parse_from_rfc3339(s).ok().map(|t| t.timestamp()),
            _ => None,
        })
    };
    Some(items.iter().filter_map(time).filter_map(|at| provider_time(at, "a list item's creation time")).max())
}

/// The last second of the year 9999 (`9999-12-31T23:59:59Z`).
pub const LAST_SECOND_OF_9999: i64 = 253_402_300_799;

/// A time a provider sent (unix seconds), checked where it enters: from 1970 to the end of 9999, or
/// `None`, logged, so that nothing stored is a time no calendar here can hold.
pub fn provider_time(secs: i64, what: &str) -> Option<i64> {
    if (0..=LAST_SECOND_OF_9999).contains(&secs) {
        Some(secs)
    } else {
        tracing::warn!(secs, what, "a provider sent a time outside the years 1970 to 9999; it is ignored");
        None
    }
}

/// `GET` a protected resource with the connected account's access token (RFC 6750). A transport
/// failure or a 5xx is `Unavailable`, a 401 `TokenRefused`; any other answer is the caller's to read.
async fn get_with_token(
    http: &reqwest::Client,
    spec: &ProviderSpec,
    access_token: &Secret<String>,
    url: &Url,
) -> Result<(reqwest::StatusCode, axum::body::Bytes), ProviderError> {
    let response = http
        .get(url.clone())
        .bearer_auth(access_token.expose())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| unavailable(spec, e))?;
    let status = response.status();
    if status.is_server_error() {
        return Err(server_error(spec, status));
    }
    if status == reqwest::StatusCode::UNAUTHORIZED {
        return Err(ProviderError::TokenRefused { provider: spec.name.clone() });
    }
    let body = read_answer(spec, response).await?;
    Ok((status, body))
}

fn http_client(spec: &ProviderSpec) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(spec.timeout)
        // OAuth endpoints must not redirect; following one could send a code or secret elsewhere.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("connections/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("TLS backend initialises")
}

/// A transport failure, in the provider's name, with its cause kept for the log.
/// The most of a provider's answer that is read: token, account, list and error answers are a few
/// KiB; a larger one is refused, not held in memory.
pub const MAX_PROVIDER_ANSWER_BYTES: usize = 1024 * 1024;

/// Why an answer's body was not read.
#[derive(Debug)]
enum BodyError {
    Http(reqwest::Error),
    TooLarge,
}

/// Reads an answer's body, up to [`MAX_PROVIDER_ANSWER_BYTES`]: refused at once when its
/// `Content-Length` says more, or as soon as more has come.
async fn read_body(mut response: reqwest::Response) -> Result<axum::body::Bytes, BodyError> {
    if response.content_length().is_some_and(|length| length > MAX_PROVIDER_ANSWER_BYTES as u64) {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Http)? {
        if body.len() + chunk.len() > MAX_PROVIDER_ANSWER_BYTES {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.into())
}

/// [`read_body`], failures in the provider's terms.
async fn read_answer(spec: &ProviderSpec, response: reqwest::Response) -> Result<axum::body::Bytes, ProviderError> {
    read_body(response).await.map_err(|error| match error {
        BodyError::Http(error) => unavailable(spec, error),
        BodyError::TooLarge => too_large(spec),
    })
}

fn too_large(provider: &ProviderSpec) -> ProviderError {
    tracing::warn!(provider = %provider.id, limit = MAX_PROVIDER_ANSWER_BYTES, "a provider's answer is larger than the limit; not read");
    ProviderError::Unavailable { provider: provider.name.clone(), reason: "its answer was larger than 1 MiB".into(), source: None }
}

fn unavailable(provider: &ProviderSpec, error: reqwest::Error) -> ProviderError {
    let reason = if error.is_timeout() { "it did not answer in time" } else { "the connection to it failed" };
    ProviderError::Unavailable { provider: provider.name.clone(), reason: reason.into(), source: Some(Box::new(error)) }
}

fn server_error(provider: &ProviderSpec, status: reqwest::StatusCode) -> ProviderError {
    ProviderError::Unavailable { provider: provider.name.clone(), reason: format!("it answered {status}"), source: None }
}

#[cfg(test)]
mod tests {
    use super::newest_in_list;
    use serde_json::json;

    #[test]
    fn lists_of_every_common_shape_give_their_newest_time() {
        assert_eq!(newest_in_list(&json!({"object": "list", "data": [{"created": 1700000000}, {"created": 1600000000}]})), Some(Some(1700000000)));
        assert_eq!(newest_in_list(&json!([{"created_at": "2026-11-30T10:00:00Z"}])), Some(Some(1796032800)));
        assert_eq!(newest_in_list(&json!({"items": [{"updated_at": 5}], "next": null})), Some(Some(5)));
        assert_eq!(newest_in_list(&json!({"data": []})), Some(None));
        assert_eq!(newest_in_list(&json!({"id": "acct_1"})), None);
    }

    #[test]
    fn times_outside_the_years_1970_to_9999_are_ignored() {
        let beyond = super::LAST_SECOND_OF_9999 + 1;
        assert_eq!(newest_in_list(&json!({"data": [{"created": beyond}, {"created": 1700000000}]})), Some(Some(1700000000)));
        assert_eq!(newest_in_list(&json!({"data": [{"created": i64::MAX}]})), Some(None));
        assert_eq!(newest_in_list(&json!({"data": [{"created": -1}]})), Some(None));
        assert_eq!(newest_in_list(&json!({"data": [{"created": super::LAST_SECOND_OF_9999}]})), Some(Some(super::LAST_SECOND_OF_9999)));
        assert_eq!(chrono::DateTime::from_timestamp(super::LAST_SECOND_OF_9999, 0).unwrap().to_rfc3339(), "9999-12-31T23:59:59+00:00");
    }
}

/// Every configured provider, in configuration order.
#[derive(Clone)]
pub struct ProviderRegistry {
    providers: Arc<Vec<Arc<Provider>>>,
}

impl ProviderRegistry {
    pub fn new(specs: Vec<ProviderSpec>) -> Self {
        ProviderRegistry { providers: Arc::new(specs.into_iter().map(|spec| Arc::new(Provider::new(spec))).collect()) }
    }

    pub fn get(&self, id: &str) -> Option<Arc<Provider>> {
        self.providers.iter().find(|p| p.id() == id).cloned()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Provider>> {
        self.providers.iter()
    }
}
