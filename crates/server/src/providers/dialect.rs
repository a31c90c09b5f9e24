//! One trait every dialect implements, and one small trait per thing only some ways in can do.
//!
//! A dialect answers what every source has (its account, its data lists) and says, through the
//! capability methods, which of the optional parts it has: a consent page and a code to exchange
//! (`Consent`), a refresh token to renew with (`Refresh`), a call that withdraws the authorization
//! (`Revoke`), signed events sent to us (`Webhooks`), a key pasted by a person (`PastedKey`). A
//! key-based dialect has none of the first three.
//!
//! Trait objects (`Box<dyn Dialect>`, async through `async_trait`) rather than an enum of the
//! dialects: a new dialect is a new file implementing these, and nothing that calls a provider
//! matches on which one it is; the boxed future per call is nothing beside the HTTP call it wraps.

use async_trait::async_trait;
use connections_wire::{AuthorizationCode, KeyField, PkceVerifier};
use url::Url;

use super::transport::Placement;
use super::{AccountInfo, ProviderError, ProviderEvent, Revocation, TokenGrant, WebhookError};
use crate::secret::Secret;

#[async_trait]
pub(crate) trait Dialect: Send + Sync {
    /// Its name on the wire (`ProviderInfo::dialect`).
    fn kind(&self) -> connections_wire::Dialect;

    /// The access asked for, as the provider writes it (scopes joined by its separator).
    fn scope(&self) -> String;

    /// Whether its accounts are in test or live mode.
    fn has_modes(&self) -> bool {
        false
    }

    /// The modes it has a client of its own for (a Stripe App configured per mode); empty: this one
    /// client serves every mode.
    fn modes(&self) -> Vec<connections_wire::Mode> {
        Vec::new()
    }

    /// The client of one of [`Dialect::modes`].
    fn in_mode(&self, _mode: connections_wire::Mode) -> Option<&dyn Dialect> {
        None
    }

    /// Whether an account id from the wire is one this provider issues; refused before storing.
    fn is_account_id(&self, id: &str) -> bool;

    /// The account the access token (or key) belongs to.
    async fn fetch_account(&self, access_token: &Secret<String>) -> Result<AccountInfo, ProviderError>;

    /// The endpoint that reads one page of a data table, for the data-access check; `None`: none
    /// known, so it cannot be checked.
    fn data_url(&self, table: &str) -> Option<Url>;

    /// The way in through the provider's consent page and an authorization code.
    fn consent(&self) -> Option<&dyn Consent> {
        None
    }

    /// Renewal of the access token with a refresh token.
    fn refresh(&self) -> Option<&dyn Refresh> {
        None
    }

    /// A call that withdraws the app's authorization at the provider.
    fn revocation(&self) -> Option<&dyn Revoke> {
        None
    }

    /// Signed events the provider sends to our webhook route.
    fn webhooks(&self) -> Option<&dyn Webhooks> {
        None
    }

    /// The way in by a key an administrator pastes (instead of a consent page).
    fn pasted_key(&self) -> Option<&dyn PastedKey> {
        None
    }
}

/// A key pasted by a person: checked for its form, then tested against the account and the data
/// before it is stored; it has no renewal (a refused key needs a new one, "Replace key").
pub(crate) trait PastedKey: Send + Sync {
    /// The field on the authorization page.
    fn field(&self) -> KeyField;

    /// Whether `key` has the form of this source's keys: `Ok` with the mode it names (`Some(true)`:
    /// live) where keys say it; `Err` with why not, in our words (never repeating the key).
    fn check_form(&self, key: &str) -> Result<Option<bool>, String>;

    /// Where requests carry the key.
    fn placement(&self) -> Placement;

    /// Whether the key can name its account (an account endpoint is known).
    fn reads_account(&self) -> bool;
}

#[async_trait]
pub(crate) trait Consent: Send + Sync {
    /// The provider's authorization page for one attempt. `state` and the PKCE challenge come from
    /// the browser; `redirect_uri` is one of the registered return addresses.
    fn authorize_url(&self, state: &str, code_challenge: &str, redirect_uri: &str) -> Url;

    /// Exchanges an authorization code, at most once per code: nothing here retries.
    async fn exchange_code(&self, code: &AuthorizationCode, verifier: Option<&PkceVerifier>, redirect_uri: &str) -> Result<TokenGrant, ProviderError>;
}

#[async_trait]
pub(crate) trait Refresh: Send + Sync {
    /// A new access token (and, where the provider rolls them, a new refresh token).
    async fn refresh(&self, refresh_token: &Secret<String>) -> Result<TokenGrant, ProviderError>;
}

#[async_trait]
pub(crate) trait Revoke: Send + Sync {
    /// Withdraws the authorization: for the account, or for the token given (`NotSupported` when the
    /// call needs a token and none is given).
    async fn revoke(
        &self,
        account_id: &str,
        refresh_token: Option<&Secret<String>>,
        access_token: Option<&Secret<String>>,
    ) -> Result<Revocation, ProviderError>;

    /// Whether the revocation ends the app's authorization for the whole account, every token of
    /// every connection of it (Stripe Connect's deauthorize), rather than the tokens it is given.
    fn ends_account(&self) -> bool {
        false
    }
}

pub(crate) trait Webhooks: Send + Sync {
    /// Verifies and reads a webhook delivery.
    fn event(&self, headers: &http::HeaderMap, body: &[u8], now: i64) -> Result<ProviderEvent, WebhookError>;
}
