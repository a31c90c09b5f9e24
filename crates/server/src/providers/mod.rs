//! The data sources and how each is spoken to. Every source is a provider of the configuration
//! (`spec`) speaking one dialect: `oauth2` (any standards-following source), `stripe-apps` and
//! `stripe-connect` (`stripe/`), each a file implementing the traits of `dialect`. Nothing outside
//! this module asks which dialect a provider speaks: services call a [`Provider`], which asks its
//! dialect for what it can do.
//!
//! The registry is built once at start from configuration; routes find a provider by id through it
//! and never compare provider names. Every call to a provider is counted and timed here, whatever the
//! dialect (`calls`).

pub(crate) mod api_key;
pub(crate) mod calls;
pub(crate) mod dialect;
pub(crate) mod oauth2;
pub(crate) mod spec;
pub(crate) mod stripe;
mod transport;

use std::sync::Arc;
use std::time::Instant;

use connections_wire::{AuthorizationCode, Dialect, Mode, PkceVerifier, ProviderInfo};
use url::Url;

use crate::secret::Secret;
#[cfg(any(test, feature = "demo"))]
pub(crate) use oauth2::{ClientAuth, Oauth2Spec};
pub use spec::{DialectSpec, ProviderSpec, ProvidersError};
pub use stripe::{ConnectSpec, ModeClient, ModeSettings, StripeSettings, StripeSpec};
pub use transport::{provider_time, Placement, LAST_SECOND_OF_9999, MAX_PROVIDER_ANSWER_BYTES};

/// The error of a call refused before it was made: the mode asked has no client in the configuration.
pub(crate) const MODE_NOT_CONFIGURED: &str = "mode_not_configured";

#[derive(Debug, thiserror::Error)]
pub(crate) enum ProviderError {
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
    pub(crate) fn is_invalid_grant(&self) -> bool {
        matches!(self, ProviderError::Rejected { error, .. } if error == "invalid_grant") || matches!(self, ProviderError::TokenRefused { .. })
    }

    pub(crate) fn is_unavailable(&self) -> bool {
        matches!(self, ProviderError::Unavailable { .. } | ProviderError::Malformed { .. })
    }

    /// The outcome label of a failed call, for the metrics.
    pub(crate) fn outcome(&self) -> &'static str {
        match self {
            ProviderError::Unavailable { source, .. } => {
                let timed_out = source.as_ref().and_then(|s| s.downcast_ref::<reqwest::Error>()).is_some_and(reqwest::Error::is_timeout);
                if timed_out {
                    "timeout"
                } else {
                    "unavailable"
                }
            }
            ProviderError::Rejected { .. } => "rejected",
            ProviderError::Malformed { .. } => "malformed",
            ProviderError::TokenRefused { .. } => "token_refused",
            ProviderError::PermissionMissing { .. } => "permission_missing",
        }
    }
}

/// What a token endpoint granted. `account_id` is known here for Stripe (`stripe_user_id`); the
/// generic dialect learns it from the account endpoint.
#[derive(Debug)]
pub(crate) struct TokenGrant {
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
pub(crate) struct AccountInfo {
    pub id: String,
    pub display_name: String,
}

/// How a revocation at the provider ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Revocation {
    Revoked,
    /// The provider says the app was not connected to that account (any more).
    AlreadyRevoked,
    /// The dialect has no call for it (Stripe Apps, or an `oauth2` source without `revoke_url`):
    /// the admin removes the app at the provider.
    NotSupported,
}

/// What a verified webhook event means for our connections.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ProviderEvent {
    /// The account owner removed the app at the provider.
    /// `mode`: the mode whose endpoint sent it (a Stripe App with a client per mode), whose
    /// connections of the account alone it ends; `None`: every connection of the account.
    Revoked { account_id: String, event_id: String, created: Option<i64>, mode: Option<Mode> },
    /// The app was installed on an account (Stripe Apps); the redirect finishes the link.
    Authorized { account_id: String },
    /// Verified, but nothing we act on.
    Ignored { kind: String },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum WebhookError {
    #[error("this data source sends no webhooks here")]
    NotConfigured,
    #[error("{0}")]
    Signature(String),
    #[error("not an event of this data source: {0}")]
    Malformed(String),
}

/// One data table of a source and where to read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DataTable {
    pub name: String,
    pub url: Option<Url>,
}

/// A configured data source and the dialect that speaks to it.
pub struct Provider {
    spec: ProviderSpec,
    dialect: Box<dyn dialect::Dialect>,
    /// The same client the dialect's uses (one connection pool), for calls every dialect makes alike.
    http: transport::Http,
}

impl Provider {
    pub(crate) fn new(spec: ProviderSpec) -> Self {
        let http = transport::Http::new(&spec.id, &spec.name, spec.timeout);
        let dialect = spec.dialect.client(http.clone());
        Provider { spec, dialect, http }
    }

    /// A provider speaking `dialect`, whatever `spec.dialect` says (for a dialect made in a test).
    #[cfg(test)]
    fn with_dialect(spec: ProviderSpec, dialect: Box<dyn dialect::Dialect>) -> Self {
        let http = transport::Http::new(&spec.id, &spec.name, spec.timeout);
        Provider { spec, dialect, http }
    }

    pub(crate) fn id(&self) -> &str {
        &self.spec.id
    }

    pub(crate) fn name(&self) -> &str {
        &self.spec.name
    }

    pub(crate) fn dialect(&self) -> Dialect {
        self.dialect.kind()
    }

    pub fn spec(&self) -> &ProviderSpec {
        &self.spec
    }

    /// The scope string as sent at the authorize endpoint.
    pub(crate) fn scope(&self) -> String {
        self.dialect.scope()
    }

    /// What the dialect can do beyond what every one does (the tests look).
    #[cfg(test)]
    pub(crate) fn dialect_impl(&self) -> &dyn dialect::Dialect {
        self.dialect.as_ref()
    }

    /// Timed, counted as `endpoint` under this provider.
    async fn counted<T>(&self, endpoint: &'static str, call: impl std::future::Future<Output = Result<T, ProviderError>>) -> Result<T, ProviderError> {
        let started = Instant::now();
        let result = call.await;
        calls::record(self.id(), endpoint, &result, started.elapsed());
        result
    }

    /// Refused without a call: the dialect has no such step.
    fn unsupported(&self, step: &str) -> ProviderError {
        ProviderError::Rejected {
            provider: self.spec.name.clone(),
            error: "unsupported_grant_type".into(),
            description: format!("this data source has no {step}"),
        }
    }

    /// The modes an administrator chooses between (a client configured per mode); empty: one client.
    pub(crate) fn modes(&self) -> Vec<Mode> {
        self.dialect.modes()
    }

    /// The client that speaks for `mode`: the one client whatever the mode, or with a client per mode
    /// that mode's (`None`: the first configured). A mode without a client is refused without a call
    /// ([`MODE_NOT_CONFIGURED`]).
    fn in_mode(&self, mode: Option<Mode>) -> Result<&dyn dialect::Dialect, ProviderError> {
        let modes = self.dialect.modes();
        let Some(first) = modes.first() else { return Ok(self.dialect.as_ref()) };
        let mode = mode.unwrap_or(*first);
        self.dialect.in_mode(mode).ok_or_else(|| ProviderError::Rejected {
            provider: self.spec.name.clone(),
            error: MODE_NOT_CONFIGURED.into(),
            description: format!(
                "{} mode is not configured for {} (any more): nothing was asked of it; configure that mode's client again, or connect the account in a mode that is",
                mode.as_str(),
                self.spec.name
            ),
        })
    }

    /// The provider's authorization page for one attempt in `mode` (`None`: the dialect has no
    /// consent page, its key is pasted). `state` and the PKCE challenge come from the browser;
    /// `redirect_uri` is one of the registered return addresses.
    pub(crate) fn authorize_url(&self, state: &str, code_challenge: &str, redirect_uri: &str, mode: Option<Mode>) -> Option<Url> {
        Some(self.in_mode(mode).ok()?.consent()?.authorize_url(state, code_challenge, redirect_uri))
    }

    /// Exchanges an authorization code with `mode`'s client, at most once per code: Stripe revokes
    /// every token issued from a code presented twice, so nothing here retries.
    pub(crate) async fn exchange_code(
        &self,
        code: &AuthorizationCode,
        verifier: Option<&PkceVerifier>,
        redirect_uri: &str,
        mode: Option<Mode>,
    ) -> Result<TokenGrant, ProviderError> {
        let consent = self.in_mode(mode)?.consent().ok_or_else(|| self.unsupported("authorization code"))?;
        self.counted("token_exchange", consent.exchange_code(code, verifier, redirect_uri)).await
    }

    /// Exchanges a code that came without a `state` of ours (an install begun at the provider), whose
    /// mode is therefore unknown: with a client per mode, each mode's key is tried in turn until one
    /// is not told the code "does not belong to you" (`invalid_grant`). A key of another mode cannot
    /// use the code up: Stripe keeps each mode's objects apart, and refuses before touching it.
    /// Answers the grant and the mode whose key took it.
    pub(crate) async fn exchange_install(&self, code: &AuthorizationCode, redirect_uri: &str) -> Result<(TokenGrant, Option<Mode>), ProviderError> {
        let modes = self.modes();
        if modes.is_empty() {
            return Ok((self.exchange_code(code, None, redirect_uri, None).await?, None));
        }
        // What to answer if no mode takes it: a failure other than "not yours" says more.
        let mut refused: Option<ProviderError> = None;
        for mode in modes {
            match self.exchange_code(code, None, redirect_uri, Some(mode)).await {
                Ok(grant) => return Ok((grant, Some(mode))),
                // Stripe down: no other mode will do better now.
                Err(error @ ProviderError::Unavailable { .. }) => return Err(error),
                // Not this mode's code, or this mode's key refused (rolled, revoked): the next mode.
                Err(error) => {
                    crate::observability::log_chain(&error);
                    if refused.as_ref().is_none_or(|kept| kept.is_invalid_grant() && !error.is_invalid_grant()) {
                        refused = Some(error);
                    }
                }
            }
        }
        Err(refused.expect("at least one mode was tried"))
    }

    /// A new access token (and, where the provider rolls them, a new refresh token), from `mode`'s
    /// client.
    pub(crate) async fn refresh(&self, refresh_token: &Secret<String>, mode: Option<Mode>) -> Result<TokenGrant, ProviderError> {
        let refresh = self.in_mode(mode)?.refresh().ok_or_else(|| self.unsupported("refresh token"))?;
        self.counted("token_refresh", refresh.refresh(refresh_token)).await
    }

    /// The account the access token belongs to.
    pub(crate) async fn fetch_account(&self, access_token: &Secret<String>) -> Result<AccountInfo, ProviderError> {
        self.counted("account", self.dialect.fetch_account(access_token)).await
    }

    /// The data tables this source lists, each with the endpoint that reads one page of it (`None`:
    /// none configured, so it cannot be checked).
    pub(crate) fn data_tables(&self) -> Vec<DataTable> {
        self.spec.data.iter().map(|name| DataTable { name: name.clone(), url: self.dialect.data_url(name) }).collect()
    }

    /// Reads one page of a data table: when its newest object was created (unix seconds; `None`
    /// for an empty table).
    pub(crate) async fn read_table(&self, access_token: &Secret<String>, url: &Url) -> Result<Option<i64>, ProviderError> {
        self.counted("data_list", self.http.read_list(&self.placement(), access_token, url)).await
    }

    /// The way in by a pasted key, for a key-based dialect.
    pub(crate) fn pasted_key(&self) -> Option<&dyn dialect::PastedKey> {
        self.dialect.pasted_key()
    }

    /// Where requests carry the stored credential: a key where its dialect says, a token as bearer.
    pub(crate) fn placement(&self) -> Placement {
        self.dialect.pasted_key().map_or(Placement::Bearer, |key| key.placement())
    }

    /// Whether the stored credential still works: the account read with it; for a key that may not
    /// read its account (or has none to read), the first data table it can be checked on. A refusal
    /// of the credential itself is `TokenRefused`.
    pub(crate) async fn probe(&self, credential: &Secret<String>) -> Result<(), ProviderError> {
        let Some(key) = self.dialect.pasted_key() else {
            return self.fetch_account(credential).await.map(|_| ());
        };
        if key.reads_account() {
            match self.fetch_account(credential).await {
                Ok(_) => return Ok(()),
                Err(error @ (ProviderError::TokenRefused { .. } | ProviderError::Unavailable { .. })) => return Err(error),
                // Not allowed to read the account: the tables say whether the key works.
                Err(_) => {}
            }
        }
        let mut last = None;
        for table in self.data_tables() {
            let Some(url) = table.url else { continue };
            match self.read_table(credential, &url).await {
                Ok(_) => return Ok(()),
                Err(error @ (ProviderError::TokenRefused { .. } | ProviderError::Unavailable { .. })) => return Err(error),
                Err(error) => last = Some(error),
            }
        }
        // Accepted, but allowed nothing: still the key, not the connection, that must change.
        Err(last.unwrap_or_else(|| self.unsupported("table to check the key on")))
    }

    /// Withdraws the app's authorization for the account, where the dialect has a call for it.
    pub(crate) async fn revoke(
        &self,
        account_id: &str,
        refresh_token: Option<&Secret<String>>,
        access_token: Option<&Secret<String>>,
    ) -> Result<Revocation, ProviderError> {
        let Some(revocation) = self.dialect.revocation() else { return Ok(Revocation::NotSupported) };
        let started = Instant::now();
        let result = revocation.revoke(account_id, refresh_token, access_token).await;
        // `NotSupported` is answered without a call.
        if !matches!(result, Ok(Revocation::NotSupported)) {
            calls::record(self.id(), "revoke", &result, started.elapsed());
        }
        result
    }

    /// Whether [`Provider::revoke`] ends the app's authorization for the whole account, every token
    /// of every connection of it (Stripe Connect's deauthorize), rather than the tokens it is given.
    /// Such a revocation is made only when no other connection holds the account (design.md,
    /// "Shared accounts").
    pub(crate) fn revocation_ends_account(&self) -> bool {
        self.dialect.revocation().is_some_and(|revocation| revocation.ends_account())
    }

    /// Verifies and reads a webhook delivery.
    pub(crate) fn webhook_event(&self, headers: &http::HeaderMap, body: &[u8], now: i64) -> Result<ProviderEvent, WebhookError> {
        self.dialect.webhooks().ok_or(WebhookError::NotConfigured)?.event(headers, body, now)
    }

    /// Whether an account id from the wire is one this provider issues; refused before storing.
    pub(crate) fn is_account_id(&self, id: &str) -> bool {
        self.dialect.is_account_id(id)
    }

    /// What the gallery and the authorization page show, with the return addresses for this server.
    pub(crate) fn info(&self, redirect_uris: Vec<String>) -> ProviderInfo {
        let spec = &self.spec;
        ProviderInfo {
            id: spec.id.clone(),
            name: spec.name.clone(),
            dialect: self.dialect(),
            categories: spec.categories.clone(),
            icon_url: spec.icon.clone(),
            scope: self.scope(),
            access_summary: spec.access_summary.clone(),
            data_synced: spec.data.clone(),
            docs_url: spec.docs_url.as_ref().map(Url::to_string),
            has_modes: self.dialect.has_modes(),
            modes: self.dialect.modes(),
            uninstall_url: spec.uninstall_url.as_ref().map(Url::to_string),
            redirect_uri: redirect_uris.first().cloned().unwrap_or_default(),
            redirect_uris,
            key: self.dialect.pasted_key().map(|key| key.field()),
        }
    }
}

/// Every configured provider, in configuration order.
#[derive(Clone)]
pub struct ProviderRegistry {
    providers: Arc<Vec<Arc<Provider>>>,
}

impl ProviderRegistry {
    pub(crate) fn new(specs: Vec<ProviderSpec>) -> Self {
        ProviderRegistry { providers: Arc::new(specs.into_iter().map(|spec| Arc::new(Provider::new(spec))).collect()) }
    }

    pub fn get(&self, id: &str) -> Option<Arc<Provider>> {
        self.providers.iter().find(|p| p.id() == id).cloned()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Provider>> {
        self.providers.iter()
    }
}

#[cfg(test)]
mod tests {
    use async_trait::async_trait;

    use super::*;

    /// A source whose key a person pastes: no consent page, no renewal, no revocation, no webhooks.
    struct PastedKey;

    #[async_trait]
    impl dialect::Dialect for PastedKey {
        fn kind(&self) -> Dialect {
            Dialect::Oauth2
        }

        fn scope(&self) -> String {
            String::new()
        }

        fn is_account_id(&self, id: &str) -> bool {
            !id.is_empty()
        }

        async fn fetch_account(&self, _key: &Secret<String>) -> Result<AccountInfo, ProviderError> {
            Ok(AccountInfo { id: "acct".into(), display_name: "Keyed".into() })
        }

        fn data_url(&self, _table: &str) -> Option<Url> {
            None
        }
    }

    #[tokio::test]
    async fn a_dialect_without_the_optional_parts_is_answered_without_a_call() {
        let base = spec::ProviderSpec::bare(
            "keyed",
            "Keyed",
            DialectSpec::StripeApps(stripe::StripeSpec {
                client_id: "ca_1".into(),
                secret_key: Secret::new("sk_test_1".into()),
                authorize_url: Url::parse("https://127.0.0.1:9/unused").unwrap(),
                token_url: Url::parse("https://127.0.0.1:9/unused").unwrap(),
                account_url: Url::parse("https://127.0.0.1:9/unused").unwrap(),
                scope: String::new(),
                webhook_secret: None,
                modes: Vec::new(),
            }),
        );
        let provider = Provider::with_dialect(base, Box::new(PastedKey));
        assert_eq!(provider.authorize_url("state", "challenge", "https://app.example/callback", None), None);
        let refused = provider.refresh(&Secret::new("r".into()), None).await.unwrap_err();
        assert!(matches!(&refused, ProviderError::Rejected { error, .. } if error == "unsupported_grant_type"), "{refused}");
        assert_eq!(provider.revoke("acct", None, None).await.unwrap(), Revocation::NotSupported);
        assert!(!provider.revocation_ends_account());
        assert_eq!(provider.webhook_event(&http::HeaderMap::new(), b"{}", 0), Err(WebhookError::NotConfigured));
        assert_eq!(provider.fetch_account(&Secret::new("key".into())).await.unwrap().display_name, "Keyed");
        assert!(!provider.info(vec![]).has_modes);
    }
}
