//! The `stripe-key` dialect: a Stripe restricted key (`rk_live_…`, `rk_test_…`) an administrator
//! pastes, as a Stripe App of type `restricted_api_key` generates on install, or as made by hand in
//! the Dashboard. Secret keys (`sk_…`) only with `allow_secret_keys = true` (the page warns). The
//! mode is the key's prefix; the account is `GET /v1/account` where the key may read it; the seven
//! data tables are checked as for the OAuth dialects. Sent as `Authorization: Bearer`.

use async_trait::async_trait;
use connections_wire::{Dialect as Kind, KeyField};
use serde::Deserialize;
use url::Url;

use super::{list_url, read_account, STRIPE_API_BASE, STRIPE_DATA_SYNCED};
use crate::providers::api_key::check_key_text;
use crate::providers::dialect::{Dialect, PastedKey};
use crate::providers::spec::{self, Common, DialectSpec, Env, KeyProblem, ProviderSpec};
use crate::providers::transport::{Http, Placement};
use crate::providers::{AccountInfo, ProviderError};
use crate::secret::Secret;

pub(crate) const STRIPE_KEYS_HELP_URL: &str = "https://dashboard.stripe.com/apikeys";
pub(crate) const STRIPE_KEYS_DOCS_URL: &str = "https://docs.stripe.com/keys#create-restricted-api-secret-key";

/// A `stripe-key` entry of the providers file, as written (beside the keys every entry has).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StripeKeyFile {
    #[serde(default)]
    allow_secret_keys: bool,
    api_base: Option<String>,
    key_help_url: Option<String>,
}

/// A `stripe-key` source, checked.
#[derive(Clone, Debug)]
pub struct StripeKeySpec {
    pub allow_secret_keys: bool,
    /// `<api base>/v1/account`; the data lists are its siblings.
    pub account_url: Url,
    pub help_url: Url,
}

impl StripeKeySpec {
    /// Stripe's own API, restricted keys only.
    pub(crate) fn new(api_base: Option<Url>, allow_secret_keys: bool) -> Self {
        let api_base = api_base.unwrap_or_else(|| Url::parse(STRIPE_API_BASE).expect("Stripe's URL parses"));
        StripeKeySpec {
            allow_secret_keys,
            account_url: api_base.join("v1/account").expect("a base URL takes a path"),
            help_url: Url::parse(STRIPE_KEYS_HELP_URL).expect("Stripe's URL parses"),
        }
    }

    pub(crate) fn client(self, http: Http) -> Box<dyn Dialect> {
        Box::new(StripeKey { spec: self, http })
    }

    /// The provider: Stripe's icon, data and words, under `id` and `name`.
    pub(crate) fn into_provider(self, id: &str, name: &str) -> ProviderSpec {
        let mut spec = ProviderSpec::bare(id, name, DialectSpec::StripeKey(self));
        spec.categories = vec!["payments".to_owned()];
        spec.icon = Some("/public/stripe.svg".to_owned());
        spec.access_summary =
            "Access to your Stripe account's data as the restricted key's permissions allow: give it read access to the data listed below, and nothing else."
                .to_owned();
        spec.data = STRIPE_DATA_SYNCED.iter().map(|s| s.to_string()).collect();
        spec.docs_url = Some(Url::parse(STRIPE_KEYS_DOCS_URL).expect("Stripe's URL parses"));
        spec
    }
}

impl StripeKeyFile {
    pub(crate) fn check(self, common: Common, _env: Env<'_>) -> Result<ProviderSpec, KeyProblem> {
        let mut key = StripeKeySpec::new(spec::optional_url("api_base", &self.api_base)?, self.allow_secret_keys);
        if let Some(help) = spec::optional_url("key_help_url", &self.key_help_url)? {
            key.help_url = help;
        }
        let base = key.into_provider(&common.id, &common.name);
        Ok(common.over(base))
    }
}

pub(crate) struct StripeKey {
    spec: StripeKeySpec,
    http: Http,
}

/// The mode a Stripe key's prefix names (`Some(true)`: live), and whether it is a secret key;
/// `None`: not a Stripe key. Sandboxes' keys are `_test_` keys.
pub(crate) fn key_mode(key: &str) -> Option<(bool, bool)> {
    let (secret, rest) = match key {
        k if k.starts_with("rk_") => (false, &k[3..]),
        k if k.starts_with("sk_") => (true, &k[3..]),
        _ => return None,
    };
    let (live, body) = match rest {
        r if r.starts_with("live_") => (true, &r[5..]),
        r if r.starts_with("test_") => (false, &r[5..]),
        _ => return None,
    };
    (body.len() >= 8 && body.bytes().all(|b| b.is_ascii_alphanumeric())).then_some((live, secret))
}

#[async_trait]
impl Dialect for StripeKey {
    fn kind(&self) -> Kind {
        Kind::StripeKey
    }

    fn scope(&self) -> String {
        String::new()
    }

    fn has_modes(&self) -> bool {
        true
    }

    /// A Stripe account id, read with the key (when it may not, the connection's id is a fingerprint).
    fn is_account_id(&self, id: &str) -> bool {
        super::is_account_id(id)
    }

    async fn fetch_account(&self, key: &Secret<String>) -> Result<AccountInfo, ProviderError> {
        read_account(&self.http, key, &self.spec.account_url).await
    }

    fn data_url(&self, table: &str) -> Option<Url> {
        list_url(&self.spec.account_url, table)
    }

    fn pasted_key(&self) -> Option<&dyn PastedKey> {
        Some(self)
    }
}

impl PastedKey for StripeKey {
    fn field(&self) -> KeyField {
        KeyField {
            label: "Restricted key".to_owned(),
            pattern: Some(if self.spec.allow_secret_keys { "(rk|sk)_(live|test)_[A-Za-z0-9]{8,}" } else { "rk_(live|test)_[A-Za-z0-9]{8,}" }.to_owned()),
            help_url: Some(self.spec.help_url.to_string()),
            secret_keys_allowed: self.spec.allow_secret_keys,
        }
    }

    fn check_form(&self, key: &str) -> Result<Option<bool>, String> {
        check_key_text(key)?;
        match key_mode(key) {
            None => Err("This is not a Stripe restricted key: those start with rk_live_ or rk_test_".into()),
            Some((_, true)) if !self.spec.allow_secret_keys => {
                Err("This is a Stripe secret key, which can do anything in the account: create a restricted key with read access instead".into())
            }
            Some((live, _)) => Ok(Some(live)),
        }
    }

    fn placement(&self) -> Placement {
        Placement::Bearer
    }

    fn reads_account(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::spec::parse_file;
    use crate::providers::Provider;

    fn env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn the_mode_is_the_prefix_and_secret_keys_are_refused_unless_allowed() {
        assert_eq!(key_mode("rk_live_51AbcdefGh"), Some((true, false)));
        assert_eq!(key_mode("rk_test_51AbcdefGh"), Some((false, false)));
        assert_eq!(key_mode("sk_test_51AbcdefGh"), Some((false, true)));
        assert_eq!(key_mode("pk_test_51AbcdefGh"), None);
        assert_eq!(key_mode("rk_prod_51AbcdefGh"), None);
        assert_eq!(key_mode("rk_test_short"), None);
        let text = "[providers.stripe-key]\nname = \"Stripe (restricted key)\"\ndialect = \"stripe-key\"\n";
        let provider = Provider::new(parse_file(text, "p.toml", &env).unwrap().remove(0));
        let pasted = provider.dialect_impl().pasted_key().unwrap();
        assert_eq!(pasted.check_form("rk_live_51AbcdefGhij"), Ok(Some(true)));
        assert!(pasted.check_form("sk_live_51AbcdefGhij").unwrap_err().contains("secret key"));
        assert!(!pasted.field().secret_keys_allowed);
        assert_eq!(provider.data_tables().len(), 7);
        assert!(provider.info(vec![]).has_modes);

        let allowing = Provider::new(parse_file(&format!("{text}allow_secret_keys = true\n"), "p.toml", &env).unwrap().remove(0));
        let pasted = allowing.dialect_impl().pasted_key().unwrap();
        assert_eq!(pasted.check_form("sk_test_51AbcdefGhij"), Ok(Some(false)));
        assert!(pasted.field().secret_keys_allowed);
        assert!(parse_file(&format!("{text}client_id = \"ca_1\"\n"), "p.toml", &env).unwrap_err().to_string().contains("key client_id: is not used"));
    }
}
