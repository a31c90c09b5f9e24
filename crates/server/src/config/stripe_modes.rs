//! The built-in Stripe App's client per mode, from the environment: `STRIPE_LIVE_*`,
//! `STRIPE_TEST_*`, `STRIPE_SANDBOX_*`, each a secret key, an install link and a webhook secret
//! (what a providers file's `modes` table says for any `stripe-apps` entry).

use connections_wire::Mode;

use super::{http_url, invalid, ConfigError};
use crate::providers::stripe::modes::{setting, Part};
use crate::providers::ModeSettings;
use crate::secret::Secret;

/// Give a mode's secret key and that mode is configured; give none and the one client of
/// `STRIPE_SECRET_KEY` serves every mode.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct StripeModeArgs {
    /// Live mode's secret key of a Stripe App configured per mode (`sk_live_…` or `rk_live_…`).
    #[arg(long, env = "STRIPE_LIVE_SECRET_KEY", hide_env_values = true)]
    pub stripe_live_secret_key: Option<String>,
    /// Live mode's install link. Default: Stripe's Marketplace link.
    #[arg(long, env = "STRIPE_LIVE_AUTHORIZE_URL")]
    pub stripe_live_authorize_url: Option<String>,
    /// The signing secret of live mode's webhook endpoint (`whsec_…`).
    #[arg(long, env = "STRIPE_LIVE_WEBHOOK_SECRET", hide_env_values = true)]
    pub stripe_live_webhook_secret: Option<String>,
    /// Test mode's secret key (`sk_test_…` or `rk_test_…`).
    #[arg(long, env = "STRIPE_TEST_SECRET_KEY", hide_env_values = true)]
    pub stripe_test_secret_key: Option<String>,
    /// Test mode's install link (required with its key: Stripe gives each mode its own).
    #[arg(long, env = "STRIPE_TEST_AUTHORIZE_URL")]
    pub stripe_test_authorize_url: Option<String>,
    #[arg(long, env = "STRIPE_TEST_WEBHOOK_SECRET", hide_env_values = true)]
    pub stripe_test_webhook_secret: Option<String>,
    /// A sandbox's secret key (`sk_test_…` or `rk_test_…`).
    #[arg(long, env = "STRIPE_SANDBOX_SECRET_KEY", hide_env_values = true)]
    pub stripe_sandbox_secret_key: Option<String>,
    /// The sandbox's install link (required with its key).
    #[arg(long, env = "STRIPE_SANDBOX_AUTHORIZE_URL")]
    pub stripe_sandbox_authorize_url: Option<String>,
    #[arg(long, env = "STRIPE_SANDBOX_WEBHOOK_SECRET", hide_env_values = true)]
    pub stripe_sandbox_webhook_secret: Option<String>,
}

fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl StripeModeArgs {
    fn of(&self, mode: Mode) -> [&Option<String>; 3] {
        match mode {
            Mode::Live => [&self.stripe_live_secret_key, &self.stripe_live_authorize_url, &self.stripe_live_webhook_secret],
            Mode::Test => [&self.stripe_test_secret_key, &self.stripe_test_authorize_url, &self.stripe_test_webhook_secret],
            Mode::Sandbox => [&self.stripe_sandbox_secret_key, &self.stripe_sandbox_authorize_url, &self.stripe_sandbox_webhook_secret],
        }
    }

    /// Whether any mode's setting is given.
    pub fn any(&self) -> bool {
        Mode::ALL.into_iter().any(|mode| self.of(mode).iter().any(|value| given(value).is_some()))
    }

    /// The modes given, checked for form here (each mode's key against its mode where the
    /// Stripe settings are checked). A mode's link or webhook secret without its key is refused.
    pub(crate) fn settings(&self) -> Result<Vec<ModeSettings>, ConfigError> {
        let mut modes = Vec::new();
        for mode in Mode::ALL {
            let [key, url, webhook] = self.of(mode);
            let Some(key) = given(key) else {
                if let Some(part) = [(url, Part::AuthorizeUrl), (webhook, Part::WebhookSecret)].into_iter().find(|(v, _)| given(v).is_some()) {
                    return Err(invalid(setting(mode, part.1), format!("is set without {}", setting(mode, Part::SecretKey))));
                }
                continue;
            };
            let webhook_secret = match given(webhook) {
                None => None,
                Some(secret) if secret.starts_with("whsec_") && secret.len() > 10 => Some(Secret::new(secret.to_owned())),
                Some(_) => return Err(invalid(setting(mode, Part::WebhookSecret), "must be a webhook signing secret starting with whsec_")),
            };
            modes.push(ModeSettings {
                mode,
                secret_key: Secret::new(key.to_owned()),
                authorize_url: given(url).map(|url| http_url(url, setting(mode, Part::AuthorizeUrl))).transpose()?,
                webhook_secret,
            });
        }
        Ok(modes)
    }
}
