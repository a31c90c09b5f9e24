//! What the server does, apart from HTTP: routes call these, and these call storage and the
//! provider clients. Nothing here imports the routes.

pub mod connect;
pub(crate) mod data_access;
pub(crate) mod delivery;
pub(crate) mod keys;
pub mod lifecycle;
pub(crate) mod links;
pub mod maintenance;
pub(crate) mod outcomes;
pub mod reseal;
pub(crate) mod tokens;
pub(crate) mod views;

use std::ops::Deref;
use std::sync::Arc;

use url::Url;

use crate::clock::Clock;
use crate::crypto::TokenCipher;
use crate::outbox::WebhookSettings;
use crate::providers::ProviderRegistry;
use crate::storage::Db;

/// What the services work with, built once by the composition root (`Application::build`): the
/// database, the configured providers, the token cipher, the clock, the tasks shutdown waits for,
/// and the settings they read. Nothing of HTTP. Cheap to clone.
#[derive(Clone)]
pub struct Core(Arc<CoreInner>);

pub struct CoreInner {
    pub db: Db,
    pub cipher: TokenCipher,
    /// Every configured data source.
    pub providers: ProviderRegistry,
    /// This instance's clock (leases use the database's).
    pub clock: Clock,
    /// Work that must end before the process does (grants past their code exchange): `shutdown`.
    pub tasks: tokio_util::task::TaskTracker,
    pub public_url: Url,
    /// Host pages the app is embedded in (`CONNECTIONS_EMBED_URLS`).
    pub embed_urls: Vec<Url>,
    /// How long audit events are kept.
    pub event_retention_secs: i64,
    /// Connections whose refresh token sat unused this long are renewed by the background round
    /// (`CONNECTIONS_KEEPALIVE_DAYS`).
    pub keepalive: std::time::Duration,
    /// Where outgoing webhook events go; `None`: nowhere, and the outbox stays empty.
    pub(crate) webhook: Option<WebhookSettings>,
}

impl Core {
    pub(crate) fn new(inner: CoreInner) -> Self {
        Core(Arc::new(inner))
    }

    /// The only redirect URI ever sent to a provider: built from configuration, never from a request.
    pub fn redirect_uri(&self, provider: &str) -> String {
        let mut url = self.public_url.clone();
        let base = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{base}{}", connections_wire::paths::callback(provider)));
        url.to_string()
    }

    /// Every return address the app may use: its own, and one under each host page it is embedded in.
    pub(crate) fn redirect_uris(&self, provider: &str) -> Vec<String> {
        let mut uris = vec![self.redirect_uri(provider)];
        uris.extend(self.embed_urls.iter().map(|url| format!("{}/{provider}/callback", url.as_str().trim_end_matches('/'))));
        uris
    }
}

impl Deref for Core {
    type Target = CoreInner;
    fn deref(&self) -> &CoreInner {
        &self.0
    }
}
