//! The `stripe-apps` dialect: a Stripe App using OAuth 2.0, Stripe's current way in. An install link
//! with exactly `client_id`, `redirect_uri` and `state`; 1-hour access tokens and a refresh token
//! rolled on every refresh; no call by which an app uninstalls itself; install and uninstall events.

use async_trait::async_trait;
use connections_wire::{AuthorizationCode, Dialect as Kind, PkceVerifier};
use serde::Deserialize;
use url::Url;

use super::{FileKeys, Stripe, StripeSpec, APPS_ACCESS_TOKEN_SECS};
use crate::providers::dialect::{Consent, Dialect, Refresh, Webhooks};
use crate::providers::spec::{Common, Env, KeyProblem, ProviderSpec};
use crate::providers::transport::Http;
use crate::providers::{AccountInfo, ProviderError, ProviderEvent, TokenGrant, WebhookError};
use crate::secret::Secret;

/// A `stripe-apps` entry of the providers file, as written (beside the keys every entry has).
/// `authorize_url`, `token_url` and `api_base` default to Stripe's own; a test-mode app's install
/// link goes in `authorize_url`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AppsFile {
    client_id: String,
    client_secret_env: String,
    webhook_secret_env: Option<String>,
    authorize_url: Option<String>,
    token_url: Option<String>,
    api_base: Option<String>,
    #[serde(default)]
    authorize_params: toml::Table,
}

impl AppsFile {
    pub(crate) fn check(self, common: Common, env: Env<'_>) -> Result<ProviderSpec, KeyProblem> {
        let keys = FileKeys {
            client_id: &self.client_id,
            client_secret_env: &self.client_secret_env,
            webhook_secret_env: &self.webhook_secret_env,
            authorize_url: &self.authorize_url,
            token_url: &self.token_url,
            api_base: &self.api_base,
            authorize_params: &self.authorize_params,
        };
        super::from_file(Kind::StripeApps, keys, None, String::new(), common, env)
    }
}

/// A Stripe App.
pub(crate) struct StripeApps(pub Stripe);

/// A Stripe App's spec is what both Stripe dialects have, and no more.
impl StripeSpec {
    pub(crate) fn client(self, http: Http) -> Box<dyn Dialect> {
        Box::new(StripeApps(Stripe::new(self, http)))
    }
}

#[async_trait]
impl Dialect for StripeApps {
    fn kind(&self) -> Kind {
        Kind::StripeApps
    }

    fn scope(&self) -> String {
        self.0.spec.scope.clone()
    }

    fn has_modes(&self) -> bool {
        true
    }

    fn is_account_id(&self, id: &str) -> bool {
        super::is_account_id(id)
    }

    async fn fetch_account(&self, access_token: &Secret<String>) -> Result<AccountInfo, ProviderError> {
        self.0.fetch_account(access_token).await
    }

    fn data_url(&self, table: &str) -> Option<Url> {
        self.0.data_url(table)
    }

    fn consent(&self) -> Option<&dyn Consent> {
        Some(self)
    }

    fn refresh(&self) -> Option<&dyn Refresh> {
        Some(self)
    }

    fn webhooks(&self) -> Option<&dyn Webhooks> {
        Some(self)
    }
}

#[async_trait]
impl Consent for StripeApps {
    /// Stripe's install link takes exactly these (its docs advise carrying the mode in state).
    fn authorize_url(&self, state: &str, _code_challenge: &str, redirect_uri: &str) -> Url {
        let mut url = self.0.spec.authorize_url.clone();
        url.query_pairs_mut().append_pair("client_id", &self.0.spec.client_id).append_pair("redirect_uri", redirect_uri).append_pair("state", state);
        url
    }

    /// Sent exactly what Stripe's docs list: no PKCE verifier, no `redirect_uri`.
    async fn exchange_code(&self, code: &AuthorizationCode, _verifier: Option<&PkceVerifier>, _redirect_uri: &str) -> Result<TokenGrant, ProviderError> {
        self.0.token_request(&[("grant_type", "authorization_code"), ("code", code.secret())], Some(APPS_ACCESS_TOKEN_SECS)).await
    }
}

#[async_trait]
impl Refresh for StripeApps {
    async fn refresh(&self, refresh_token: &Secret<String>) -> Result<TokenGrant, ProviderError> {
        self.0.refresh(refresh_token, Some(APPS_ACCESS_TOKEN_SECS)).await
    }
}

impl Webhooks for StripeApps {
    fn event(&self, headers: &http::HeaderMap, body: &[u8], now: i64) -> Result<ProviderEvent, WebhookError> {
        self.0.webhook_event(headers, body, now)
    }
}
