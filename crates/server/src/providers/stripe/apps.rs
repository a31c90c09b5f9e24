//! The `stripe-apps` dialect: a Stripe App using OAuth 2.0, Stripe's current way in. An install link
//! with exactly `client_id`, `redirect_uri` and `state`; 1-hour access tokens and a refresh token
//! rolled on every refresh; no call by which an app uninstalls itself; install and uninstall events.
//! Configured with one client, or with a client per mode (`modes.rs`): then each mode is a
//! `StripeApps` of its own, which the provider picks by the mode of the attempt or connection.

use std::collections::BTreeMap;

use async_trait::async_trait;
use connections_wire::{AuthorizationCode, Dialect as Kind, Mode, PkceVerifier};
use serde::Deserialize;
use url::Url;

use super::modes::ModeFile;
use super::{FileKeys, Stripe, StripeSpec, APPS_ACCESS_TOKEN_SECS};
use crate::providers::dialect::{Consent, Dialect, Refresh, Webhooks};
use crate::providers::spec::{Common, Env, KeyProblem, ProviderSpec};
use crate::providers::transport::Http;
use crate::providers::{AccountInfo, ProviderError, ProviderEvent, TokenGrant, WebhookError};
use crate::secret::Secret;

/// A `stripe-apps` entry of the providers file, as written (beside the keys every entry has).
/// `authorize_url`, `token_url` and `api_base` default to Stripe's own. One client
/// (`client_secret_env`, `authorize_url`, `webhook_secret_env`), or a `modes` table with a client per
/// mode.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AppsFile {
    client_id: String,
    client_secret_env: Option<String>,
    modes: Option<BTreeMap<String, ModeFile>>,
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
            client_secret_env: self.client_secret_env.as_deref(),
            webhook_secret_env: &self.webhook_secret_env,
            authorize_url: &self.authorize_url,
            token_url: &self.token_url,
            api_base: &self.api_base,
            authorize_params: &self.authorize_params,
            modes: self.modes.as_ref(),
        };
        super::from_file(Kind::StripeApps, keys, None, String::new(), common, env)
    }
}

/// A Stripe App: one client, or (`modes` not empty) the first mode's, with each mode's own.
pub(crate) struct StripeApps {
    stripe: Stripe,
    modes: Vec<(Mode, StripeApps)>,
}

/// A Stripe App's spec is what both Stripe dialects have, and its modes.
impl StripeSpec {
    pub(crate) fn client(self, http: Http) -> Box<dyn Dialect> {
        Box::new(StripeApps::new(self, http))
    }
}

impl StripeApps {
    fn new(mut spec: StripeSpec, http: Http) -> Self {
        let modes = std::mem::take(&mut spec.modes)
            .into_iter()
            .map(|client| {
                let one = StripeSpec {
                    secret_key: client.secret_key,
                    authorize_url: client.authorize_url,
                    webhook_secret: client.webhook_secret,
                    modes: Vec::new(),
                    ..spec.clone()
                };
                (client.mode, StripeApps { stripe: Stripe::new(one, http.clone()), modes: Vec::new() })
            })
            .collect();
        StripeApps { stripe: Stripe::new(spec, http), modes }
    }
}

#[async_trait]
impl Dialect for StripeApps {
    fn kind(&self) -> Kind {
        Kind::StripeApps
    }

    fn scope(&self) -> String {
        self.stripe.spec.scope.clone()
    }

    fn has_modes(&self) -> bool {
        true
    }

    fn modes(&self) -> Vec<Mode> {
        self.modes.iter().map(|(mode, _)| *mode).collect()
    }

    fn in_mode(&self, mode: Mode) -> Option<&dyn Dialect> {
        self.modes.iter().find(|(m, _)| *m == mode).map(|(_, apps)| apps as &dyn Dialect)
    }

    fn is_account_id(&self, id: &str) -> bool {
        super::is_account_id(id)
    }

    async fn fetch_account(&self, access_token: &Secret<String>) -> Result<AccountInfo, ProviderError> {
        self.stripe.fetch_account(access_token).await
    }

    fn data_url(&self, table: &str) -> Option<Url> {
        self.stripe.data_url(table)
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
        let mut url = self.stripe.spec.authorize_url.clone();
        url.query_pairs_mut().append_pair("client_id", &self.stripe.spec.client_id).append_pair("redirect_uri", redirect_uri).append_pair("state", state);
        url
    }

    /// Sent exactly what Stripe's docs list: no PKCE verifier, no `redirect_uri`.
    async fn exchange_code(&self, code: &AuthorizationCode, _verifier: Option<&PkceVerifier>, _redirect_uri: &str) -> Result<TokenGrant, ProviderError> {
        self.stripe.token_request(&[("grant_type", "authorization_code"), ("code", code.secret())], Some(APPS_ACCESS_TOKEN_SECS)).await
    }
}

#[async_trait]
impl Refresh for StripeApps {
    async fn refresh(&self, refresh_token: &Secret<String>) -> Result<TokenGrant, ProviderError> {
        self.stripe.refresh(refresh_token, Some(APPS_ACCESS_TOKEN_SECS)).await
    }
}

impl Webhooks for StripeApps {
    /// With a client per mode, each mode's endpoint signs with its own secret: the event is the
    /// first mode's whose secret verifies it.
    fn event(&self, headers: &http::HeaderMap, body: &[u8], now: i64) -> Result<ProviderEvent, WebhookError> {
        if self.modes.is_empty() {
            return self.stripe.webhook_event(headers, body, now);
        }
        let mut refused = WebhookError::NotConfigured;
        for (mode, apps) in &self.modes {
            match apps.stripe.webhook_event(headers, body, now) {
                Err(error @ (WebhookError::NotConfigured | WebhookError::Signature(_))) => {
                    if !matches!(error, WebhookError::NotConfigured) {
                        refused = error;
                    }
                }
                // An uninstall in one mode ends that mode's connection of the account, not the others'.
                Ok(ProviderEvent::Revoked { account_id, event_id, created, .. }) => {
                    return Ok(ProviderEvent::Revoked { account_id, event_id, created, mode: Some(*mode) })
                }
                verified => return verified,
            }
        }
        Err(refused)
    }
}
