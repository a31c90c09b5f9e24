//! A Stripe App with a client per mode. Stripe makes a separate install link for live mode, test
//! mode and each sandbox, and a code is exchanged (and its grant refreshed) only with the app's
//! secret key of the mode whose link issued it: another mode's key is answered "Authorization code
//! provided does not belong to you". So a Stripe App may be configured with a secret key, an install
//! link and a webhook secret per mode (`STRIPE_LIVE_*`, `STRIPE_TEST_*`, `STRIPE_SANDBOX_*`, or a
//! `modes` table in the providers file), and the mode goes with the attempt, the install and the
//! connection so that every later call uses its key.

use std::collections::BTreeMap;

use connections_wire::Mode;
use serde::Deserialize;
use url::Url;

use super::STRIPE_APPS_AUTHORIZE_URL;
use crate::providers::spec::{self, Env, KeyProblem};
use crate::secret::Secret;

/// One mode's client of a Stripe App, checked.
#[derive(Clone, Debug)]
pub struct ModeClient {
    pub mode: Mode,
    /// The app's secret key in this mode: `sk_live_`/`rk_live_` for live, `sk_test_`/`rk_test_`
    /// for test mode and sandboxes.
    pub secret_key: Secret<String>,
    /// This mode's install link.
    pub authorize_url: Url,
    /// This mode's webhook endpoint's signing secret; `None`: its events are not received.
    pub webhook_secret: Option<Secret<String>>,
}

/// One mode's settings, as given (from `STRIPE_<MODE>_*` or a providers file's `modes.<mode>`).
pub struct ModeSettings {
    pub mode: Mode,
    pub secret_key: Secret<String>,
    /// Default for live mode: Stripe's Marketplace install link; required for the others (Stripe
    /// gives each its own link, `…/oauth/v2/chnlink_…/authorize`).
    pub authorize_url: Option<Url>,
    pub webhook_secret: Option<Secret<String>>,
}

/// What a mode's setting is about, to name it in a problem.
#[derive(Clone, Copy)]
pub(crate) enum Part {
    SecretKey,
    AuthorizeUrl,
    WebhookSecret,
}

/// The environment variable of a mode's setting, as problems name it.
pub(crate) fn setting(mode: Mode, part: Part) -> &'static str {
    match (mode, part) {
        (Mode::Live, Part::SecretKey) => "STRIPE_LIVE_SECRET_KEY",
        (Mode::Live, Part::AuthorizeUrl) => "STRIPE_LIVE_AUTHORIZE_URL",
        (Mode::Live, Part::WebhookSecret) => "STRIPE_LIVE_WEBHOOK_SECRET",
        (Mode::Test, Part::SecretKey) => "STRIPE_TEST_SECRET_KEY",
        (Mode::Test, Part::AuthorizeUrl) => "STRIPE_TEST_AUTHORIZE_URL",
        (Mode::Test, Part::WebhookSecret) => "STRIPE_TEST_WEBHOOK_SECRET",
        (Mode::Sandbox, Part::SecretKey) => "STRIPE_SANDBOX_SECRET_KEY",
        (Mode::Sandbox, Part::AuthorizeUrl) => "STRIPE_SANDBOX_AUTHORIZE_URL",
        (Mode::Sandbox, Part::WebhookSecret) => "STRIPE_SANDBOX_WEBHOOK_SECRET",
    }
}

/// The providers file's key of a mode's setting.
fn file_key(mode: Mode, part: Part) -> &'static str {
    match (mode, part) {
        (Mode::Live, Part::SecretKey) => "modes.live.client_secret_env",
        (Mode::Live, Part::AuthorizeUrl) => "modes.live.authorize_url",
        (Mode::Live, Part::WebhookSecret) => "modes.live.webhook_secret_env",
        (Mode::Test, Part::SecretKey) => "modes.test.client_secret_env",
        (Mode::Test, Part::AuthorizeUrl) => "modes.test.authorize_url",
        (Mode::Test, Part::WebhookSecret) => "modes.test.webhook_secret_env",
        (Mode::Sandbox, Part::SecretKey) => "modes.sandbox.client_secret_env",
        (Mode::Sandbox, Part::AuthorizeUrl) => "modes.sandbox.authorize_url",
        (Mode::Sandbox, Part::WebhookSecret) => "modes.sandbox.webhook_secret_env",
    }
}

/// The file key for a `STRIPE_<MODE>_*` setting named by a problem, if it is one.
pub(crate) fn file_key_of(setting_name: &str) -> Option<&'static str> {
    Mode::ALL
        .into_iter()
        .flat_map(|mode| [Part::SecretKey, Part::AuthorizeUrl, Part::WebhookSecret].map(|part| (mode, part)))
        .find(|&(mode, part)| setting(mode, part) == setting_name)
        .map(|(mode, part)| file_key(mode, part))
}

/// Checks each mode's settings: its key is a key of that mode, and a mode other than live has its
/// own install link. Problems name the `STRIPE_<MODE>_*` setting.
pub(crate) fn check(modes: Vec<ModeSettings>) -> Result<Vec<ModeClient>, (&'static str, String)> {
    let mut clients: Vec<ModeClient> = Vec::new();
    for settings in modes {
        let mode = settings.mode;
        if clients.iter().any(|client| client.mode == mode) {
            return Err((setting(mode, Part::SecretKey), format!("{} mode is configured twice", mode.as_str())));
        }
        let key = settings.secret_key.expose();
        let prefixes: [&str; 2] = if mode.is_live() { ["sk_live_", "rk_live_"] } else { ["sk_test_", "rk_test_"] };
        if !prefixes.iter().any(|prefix| key.starts_with(prefix) && key.len() > prefix.len()) {
            let which = if mode.is_live() { "live mode's" } else { "test mode's and sandboxes'" };
            return Err((setting(mode, Part::SecretKey), format!("must be {which} secret key, starting with {} or {}", prefixes[0], prefixes[1])));
        }
        let authorize_url = match (settings.authorize_url, mode) {
            (Some(url), _) => url,
            (None, Mode::Live) => Url::parse(STRIPE_APPS_AUTHORIZE_URL).expect("Stripe's URL parses"),
            (None, _) => {
                return Err((
                    setting(mode, Part::AuthorizeUrl),
                    format!("is required: Stripe gives {} mode its own install link (…/oauth/v2/chnlink_…/authorize)", mode.as_str()),
                ))
            }
        };
        // Each mode's endpoint has its own secret, which tells which mode an event is from.
        if let Some(secret) = &settings.webhook_secret {
            if let Some(other) = clients.iter().find(|c| c.webhook_secret.as_ref().is_some_and(|s| s.expose() == secret.expose())) {
                return Err((
                    setting(mode, Part::WebhookSecret),
                    format!("is {} mode's too: each mode's webhook endpoint has a secret of its own", other.mode.as_str()),
                ));
            }
        }
        clients.push(ModeClient { mode, secret_key: settings.secret_key, authorize_url, webhook_secret: settings.webhook_secret });
    }
    clients.sort_by_key(|client| client.mode);
    Ok(clients)
}

/// A mode's keys in a providers file's `modes` table (`[providers.stripe.modes.test]`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ModeFile {
    client_secret_env: String,
    authorize_url: Option<String>,
    webhook_secret_env: Option<String>,
}

/// The `modes` table of a `stripe-apps` entry, read: modes by name, secrets from the environment.
pub(crate) fn from_file(modes: &BTreeMap<String, ModeFile>, env: Env<'_>) -> Result<Vec<ModeSettings>, KeyProblem> {
    if modes.is_empty() {
        return Err(("modes", "must name at least one mode: live, test or sandbox".into()));
    }
    modes
        .iter()
        .map(|(name, file)| {
            let mode = Mode::parse(name).ok_or(("modes", format!("{name:?} is not a mode: live, test or sandbox")))?;
            Ok(ModeSettings {
                mode,
                secret_key: spec::secret_from_env(file_key(mode, Part::SecretKey), &file.client_secret_env, env)?,
                authorize_url: spec::optional_url(file_key(mode, Part::AuthorizeUrl), &file.authorize_url)?,
                webhook_secret: spec::webhook_secret(file_key(mode, Part::WebhookSecret), &file.webhook_secret_env, env)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(mode: Mode, key: &str, url: Option<&str>) -> ModeSettings {
        ModeSettings { mode, secret_key: Secret::new(key.into()), authorize_url: url.map(|u| Url::parse(u).unwrap()), webhook_secret: None }
    }

    #[test]
    fn each_mode_takes_a_key_of_its_own_mode_and_its_own_install_link() {
        let clients = check(vec![
            mode(Mode::Test, "sk_test_1", Some("https://marketplace.stripe.com/oauth/v2/chnlink_1/authorize")),
            mode(Mode::Live, "rk_live_1", None),
        ])
        .unwrap();
        assert_eq!(clients.iter().map(|c| c.mode).collect::<Vec<_>>(), [Mode::Live, Mode::Test], "in the order live, test, sandbox");
        assert_eq!(clients[0].authorize_url.as_str(), STRIPE_APPS_AUTHORIZE_URL);

        let swapped = check(vec![mode(Mode::Live, "sk_test_1", None)]).unwrap_err();
        assert_eq!(swapped.0, "STRIPE_LIVE_SECRET_KEY");
        assert!(swapped.1.contains("sk_live_"), "{}", swapped.1);
        assert_eq!(check(vec![mode(Mode::Sandbox, "sk_live_1", Some("https://x.example/a"))]).unwrap_err().0, "STRIPE_SANDBOX_SECRET_KEY");
        let no_link = check(vec![mode(Mode::Test, "sk_test_1", None)]).unwrap_err();
        assert_eq!(no_link.0, "STRIPE_TEST_AUTHORIZE_URL");
        assert!(no_link.1.contains("install link"), "{}", no_link.1);
        assert_eq!(check(vec![mode(Mode::Live, "sk_live_1", None), mode(Mode::Live, "sk_live_2", None)]).unwrap_err().0, "STRIPE_LIVE_SECRET_KEY");
        let with_webhook =
            |m: Mode, key: &str| ModeSettings { webhook_secret: Some(Secret::new("whsec_same1".into())), ..mode(m, key, Some("https://x.example/a")) };
        let shared = check(vec![with_webhook(Mode::Live, "sk_live_1"), with_webhook(Mode::Test, "sk_test_1")]).unwrap_err();
        assert_eq!(shared.0, "STRIPE_TEST_WEBHOOK_SECRET");
        assert!(shared.1.contains("live mode's too"), "{}", shared.1);
    }

    #[test]
    fn settings_and_file_keys_name_the_same_things() {
        assert_eq!(file_key_of("STRIPE_SANDBOX_WEBHOOK_SECRET"), Some("modes.sandbox.webhook_secret_env"));
        assert_eq!(file_key_of("STRIPE_TEST_AUTHORIZE_URL"), Some("modes.test.authorize_url"));
        assert_eq!(file_key_of("STRIPE_SECRET_KEY"), None);
    }

    const FILE: &str = r#"
[providers.stripe]
name = "Stripe"
dialect = "stripe-apps"
client_id = "ca_1"

[providers.stripe.modes.test]
client_secret_env = "TEST_KEY"
authorize_url = "https://marketplace.stripe.com/oauth/v2/chnlink_1/authorize"
webhook_secret_env = "TEST_WEBHOOK"

[providers.stripe.modes.live]
client_secret_env = "LIVE_KEY"
"#;

    fn env(name: &str) -> Option<String> {
        match name {
            "TEST_KEY" => Some("rk_test_1".into()),
            "LIVE_KEY" => Some("sk_live_1".into()),
            "TEST_WEBHOOK" => Some("whsec_testmode1".into()),
            "ONE_KEY" => Some("sk_test_2".into()),
            _ => None,
        }
    }

    fn refused(text: &str) -> String {
        crate::providers::spec::parse_file(text, "p.toml", &env).expect_err("should be refused").to_string()
    }

    #[test]
    fn a_providers_file_gives_a_stripe_app_a_client_per_mode() {
        let spec = crate::providers::spec::parse_file(FILE, "p.toml", &env).unwrap().remove(0);
        let crate::providers::DialectSpec::StripeApps(apps) = &spec.dialect else { panic!("{spec:?}") };
        let modes: Vec<_> = apps.modes.iter().map(|c| (c.mode, c.secret_key.expose().clone(), c.webhook_secret.is_some())).collect();
        assert_eq!(modes, [(Mode::Live, "sk_live_1".to_owned(), false), (Mode::Test, "rk_test_1".to_owned(), true)]);
        assert_eq!(apps.modes[0].authorize_url.as_str(), STRIPE_APPS_AUTHORIZE_URL, "live mode's link is Stripe's Marketplace link");
        let provider = crate::providers::Provider::new(spec.clone());
        assert_eq!(provider.info(vec![]).modes, [Mode::Live, Mode::Test]);
        let url = provider.authorize_url("state", "c", "https://app.example/cb", Some(Mode::Test)).unwrap();
        assert!(url.as_str().starts_with("https://marketplace.stripe.com/oauth/v2/chnlink_1/authorize?client_id=ca_1"), "{url}");
        assert!(provider.authorize_url("state", "c", "https://app.example/cb", Some(Mode::Sandbox)).is_none(), "no sandbox client");
    }

    #[test]
    fn a_providers_file_s_modes_are_checked_naming_the_key() {
        let one_and_modes = FILE.replace("client_id = \"ca_1\"", "client_id = \"ca_1\"\nclient_secret_env = \"ONE_KEY\"");
        assert!(refused(&one_and_modes).contains("key modes: is instead of client_secret_env"), "{}", refused(&one_and_modes));
        let unknown = FILE.replace("modes.live]", "modes.staging]");
        assert!(refused(&unknown).contains("\"staging\" is not a mode: live, test or sandbox"), "{}", refused(&unknown));
        let swapped = FILE.replace("\"LIVE_KEY\"", "\"TEST_KEY\"");
        assert!(refused(&swapped).contains("key modes.live.client_secret_env: must be live mode's secret key"), "{}", refused(&swapped));
        let no_link = FILE.replace("authorize_url = \"https://marketplace.stripe.com/oauth/v2/chnlink_1/authorize\"\n", "");
        assert!(refused(&no_link).contains("key modes.test.authorize_url: is required"), "{}", refused(&no_link));
        let unset = FILE.replace("\"TEST_WEBHOOK\"", "\"NOT_SET\"");
        assert!(refused(&unset).contains("key modes.test.webhook_secret_env: the environment variable NOT_SET"), "{}", refused(&unset));
        let stray = FILE.replace("[providers.stripe.modes.live]", "[providers.stripe.modes.live]\nscope = \"x\"");
        assert!(refused(&stray).contains("unknown field `scope`"), "{}", refused(&stray));
        let neither = "[providers.stripe]\nname = \"Stripe\"\ndialect = \"stripe-apps\"\nclient_id = \"ca_1\"\n";
        assert!(refused(neither).contains("key client_secret_env: is required (or a modes table"), "{}", refused(neither));
    }
}
