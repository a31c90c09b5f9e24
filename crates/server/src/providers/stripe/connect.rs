//! The `stripe-connect` dialect: Connect OAuth, for platforms that already use it. An authorize page
//! with `scope` (`read_only` or `read_write`); tokens that do not expire; `POST /oauth/deauthorize`,
//! which ends the platform's authorization for the whole account; the uninstall event.

use async_trait::async_trait;
use connections_wire::{AuthorizationCode, Dialect as Kind, PkceVerifier};
use serde::Deserialize;
use url::Url;

use super::{FileKeys, Stripe, StripeSpec};
use crate::providers::dialect::{Consent, Dialect, Refresh, Revoke, Webhooks};
use crate::providers::spec::{self, Common, Env, KeyProblem, ProviderSpec};
use crate::providers::transport::Http;
use crate::providers::{AccountInfo, ProviderError, ProviderEvent, Revocation, TokenGrant, WebhookError};
use crate::secret::Secret;

/// A `stripe-connect` entry of the providers file, as written (beside the keys every entry has).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConnectFile {
    client_id: String,
    client_secret_env: String,
    webhook_secret_env: Option<String>,
    authorize_url: Option<String>,
    token_url: Option<String>,
    api_base: Option<String>,
    #[serde(default)]
    authorize_params: toml::Table,
    /// `/oauth/deauthorize`.
    deauthorize_url: Option<String>,
    /// One of `read_only` (the default) and `read_write`.
    scopes: Option<Vec<String>>,
}

/// A Connect platform, checked.
#[derive(Clone, Debug)]
pub struct ConnectSpec {
    pub stripe: StripeSpec,
    pub deauthorize_url: Url,
}

impl ConnectSpec {
    pub(crate) fn client(self, http: Http) -> Box<dyn Dialect> {
        Box::new(StripeConnect { stripe: Stripe::new(self.stripe, http), deauthorize_url: self.deauthorize_url })
    }
}

impl ConnectFile {
    pub(crate) fn check(self, common: Common, env: Env<'_>) -> Result<ProviderSpec, KeyProblem> {
        let keys = FileKeys {
            client_id: &self.client_id,
            client_secret_env: Some(&self.client_secret_env),
            webhook_secret_env: &self.webhook_secret_env,
            authorize_url: &self.authorize_url,
            token_url: &self.token_url,
            api_base: &self.api_base,
            authorize_params: &self.authorize_params,
            modes: None,
        };
        let deauthorize_url = spec::optional_url("deauthorize_url", &self.deauthorize_url)?;
        let scope = match self.scopes.as_deref() {
            None => "read_only".to_owned(),
            Some([scope]) => scope.clone(),
            Some(_) => return Err(("scopes", "Stripe Connect takes one scope: read_only or read_write".into())),
        };
        super::from_file(Kind::StripeConnect, keys, deauthorize_url, scope, common, env)
    }
}

/// A Connect platform's way in.
pub(crate) struct StripeConnect {
    pub stripe: Stripe,
    pub deauthorize_url: Url,
}

#[async_trait]
impl Dialect for StripeConnect {
    fn kind(&self) -> Kind {
        Kind::StripeConnect
    }

    fn scope(&self) -> String {
        self.stripe.spec.scope.clone()
    }

    fn has_modes(&self) -> bool {
        true
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

    fn revocation(&self) -> Option<&dyn Revoke> {
        Some(self)
    }

    fn webhooks(&self) -> Option<&dyn Webhooks> {
        Some(self)
    }
}

#[async_trait]
impl Consent for StripeConnect {
    /// Stripe does not document PKCE for Connect; the challenge is sent all the same, since a
    /// provider that ignores it loses nothing and one that checks it gains.
    fn authorize_url(&self, state: &str, code_challenge: &str, redirect_uri: &str) -> Url {
        let spec = &self.stripe.spec;
        let mut url = spec.authorize_url.clone();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &spec.client_id)
            .append_pair("scope", &spec.scope)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("state", state)
            .append_pair("code_challenge", code_challenge)
            .append_pair("code_challenge_method", "S256");
        url
    }

    /// The verifier is sent (harmless, and checked by the stand-in); Connect's tokens do not expire.
    async fn exchange_code(&self, code: &AuthorizationCode, verifier: Option<&PkceVerifier>, _redirect_uri: &str) -> Result<TokenGrant, ProviderError> {
        let mut form = vec![("grant_type", "authorization_code"), ("code", code.secret())];
        if let Some(verifier) = verifier {
            form.push(("code_verifier", verifier.secret()));
        }
        self.stripe.token_request(&form, None).await
    }
}

#[async_trait]
impl Refresh for StripeConnect {
    async fn refresh(&self, refresh_token: &Secret<String>) -> Result<TokenGrant, ProviderError> {
        self.stripe.refresh(refresh_token, None).await
    }
}

#[async_trait]
impl Revoke for StripeConnect {
    /// `POST /oauth/deauthorize` for the account.
    async fn revoke(
        &self,
        account_id: &str,
        _refresh_token: Option<&Secret<String>>,
        _access_token: Option<&Secret<String>>,
    ) -> Result<Revocation, ProviderError> {
        let (spec, http) = (&self.stripe.spec, &self.stripe.http);
        let response = http
            .client
            .post(self.deauthorize_url.clone())
            .basic_auth(spec.secret_key.expose(), None::<&str>)
            .form(&[("client_id", spec.client_id.as_str()), ("stripe_user_id", account_id)])
            .send()
            .await
            .map_err(|e| http.unavailable(e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(Revocation::Revoked);
        }
        let body = http.read_answer(response).await?;
        if status.is_server_error() {
            return Err(http.server_error(status));
        }
        match serde_json::from_slice::<super::OAuthErrorBody>(&body) {
            // Stripe's answer when the app is no longer connected to the account: the goal is reached.
            Ok(e) if e.error == "invalid_client" && e.error_description.contains("not connected") => Ok(Revocation::AlreadyRevoked),
            Ok(e) => Err(ProviderError::Rejected { provider: http.name.clone(), error: e.error, description: e.error_description }),
            Err(_) => Err(http.malformed(format!("deauthorize: status {status}"))),
        }
    }

    fn ends_account(&self) -> bool {
        true
    }
}

impl Webhooks for StripeConnect {
    fn event(&self, headers: &http::HeaderMap, body: &[u8], now: i64) -> Result<ProviderEvent, WebhookError> {
        self.stripe.webhook_event(headers, body, now)
    }
}
