//! What the owner of a Stripe account does with a Stripe App in one mode: install it from the
//! Marketplace in that mode, uninstall it there. Each mode has its own webhook endpoint and signing
//! secret at Stripe ([`Standin::set_apps_mode_webhook`]).

use crate::store::{Dialect, StripeMode};
use crate::stripe_signature::ApplicationEvent;
use crate::{apps, Standin};

impl Standin {
    /// Where the Stripe App's events from installs in `mode` go (`account.application.authorized`
    /// and `…deauthorized`, `livemode` by mode), and their signing secret. A mode without one sends
    /// to [`Standin::set_apps_webhook`]'s.
    pub fn set_apps_mode_webhook(&self, mode: StripeMode, url: &str, secret: &str) {
        self.store.lock().expect("stand-in store poisoned").apps_mode_webhooks.insert(mode, (url.to_owned(), secret.to_owned()));
    }

    /// [`Standin::marketplace_install`] in `mode`: the code belongs to that mode (only its secret key
    /// exchanges it) and Stripe returns to `redirect_uri`, which must be one of the app's
    /// `allowed_redirect_uris` (`None`: the first), with no `state`: one return address per mode is
    /// how a server can tell which key to use. `None` for an unknown email, no app, or a redirect URI
    /// the app does not allow.
    pub fn marketplace_install_in(&self, email: &str, mode: StripeMode, redirect_uri: Option<&str>) -> Option<String> {
        apps::marketplace_install(self, email, Some(mode), redirect_uri)
    }

    /// The account owner uninstalls the Stripe App in `mode`: the Apps grants installed in that mode
    /// stop working (the others stay) and that mode's webhook is sent a signed
    /// `account.application.deauthorized` event with `livemode` by mode. Answers the webhook's status.
    pub async fn owner_uninstalls_app_in(&self, account_id: &str, mode: StripeMode) -> Option<u16> {
        let (webhook, now) = {
            let mut store = self.store.lock().expect("stand-in store poisoned");
            store.revoke(|_, grant| grant.dialect == Dialect::Apps && grant.account_id == account_id && grant.mode == Some(mode));
            (store.apps_mode_webhooks.get(&mode).cloned().or_else(|| store.apps_webhook.clone()), store.now())
        };
        let (url, secret) = webhook?;
        let app = self.config().apps.first().cloned()?;
        let event = ApplicationEvent {
            kind: "account.application.deauthorized",
            account_id: account_id.to_owned(),
            livemode: mode.livemode(),
            created: now,
            application_id: app.client_id,
            application_name: app.name,
        };
        event.deliver(url, secret).await
    }
}
