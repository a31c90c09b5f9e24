//! A local stand-in for the OAuth providers Connections speaks to, written from their documentation,
//! so the demo and the tests exercise a real HTTP peer with each provider's rules while nothing leaves
//! the machine. It speaks three dialects:
//!
//! **Stripe Connect OAuth** (legacy platforms):
//! - `GET /oauth/authorize` shows a sign-in and consent page; `POST /oauth/authorize` takes the decision
//!   and redirects to the registered `redirect_uri` with `code, scope, state` or `error=access_denied`.
//! - `POST /oauth/token` exchanges a code (single use, valid 5 minutes; a reused code answers
//!   `invalid_grant` and revokes the grant issued from it) or a refresh token. The platform's secret
//!   key is accepted as `client_secret`, HTTP Basic (key as user name) or Bearer.
//! - `POST /oauth/deauthorize` disconnects an account from the platform.
//!
//! Stripe does not document PKCE for Connect; the stand-in checks it when a challenge was sent, which is
//! stricter.
//!
//! **Stripe Apps OAuth 2.0**:
//! - `GET /apps/oauth/v2/authorize` is the install link (`client_id`, optional `redirect_uri`, `state`;
//!   no scope, no PKCE); the decision redirects with `code` (and `state` when one was given) and sends
//!   `account.application.authorized` to the Apps webhook. Installs begun in the Marketplace:
//!   [`Standin::marketplace_install`].
//! - One install link per mode, `/apps/oauth/v2/{live,test,sandbox}/authorize`: the code is exchanged
//!   and refreshed only with that mode's secret key (`RegisteredClient::key_for`); the mode-less link
//!   is live-keyed (see the `apps` module).
//! - `POST /v1/oauth/token` takes the app's secret key as HTTP Basic user name (or Bearer). Codes as for
//!   Connect; access tokens last an hour, refresh tokens a year and roll on every refresh; no
//!   `expires_in`. There is no deauthorize call: the owner uninstalls ([`Standin::owner_uninstalls_app`]).
//!
//! Both Stripe dialects: `GET /v1/account` answers with the connected account for its access token.
//!
//! **Generic OAuth 2.0 realms**, made-up providers that follow the standards strictly, each under
//! `/oauth2/{realm}/`: `authorize` (PKCE S256 and an exact `redirect_uri` required), `token` (client
//! authentication by the realm's one method, `redirect_uri` and `code_verifier` checked, `expires_in`,
//! refresh tokens rotated with reuse detection), `revoke` (RFC 7009) and `api/me`.
//!
//! **API keys** (`keys`, `key_controls`): Stripe secret and restricted keys per account and mode,
//! accepted by `GET /v1/account` and the lists (Bearer, or the HTTP Basic user name), and made-up
//! key-based sources at `/keyed/{source}/` (`keyed`) reading their key by bearer, basic or a header.
//!
//! `/standin` has controls for what an account owner or time would do (expire, revoke, uninstall,
//! issue, refuse and roll keys; JSON twins under `/standin/api/` for tests).
//! The stand-in is never part of a production configuration.

mod api;
mod apps;
mod apps_modes;
mod control;
mod key_controls;
mod keyed;
mod keys;
mod oauth;
mod pages;
mod realm;
mod store;
mod stripe_signature;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;

/// The Stripe lists the stand-in serves at `/v1/{list}`: the tables the product reads.
pub use api::LISTS as STRIPE_LISTS;
pub use keyed::{KeyPlacement, KeyedAccount, KeyedSource};
pub use keys::{ApiKey, KeyOwner, KEYED_KEY_BODY_LEN, STRIPE_KEY_BODY_LEN};
pub use realm::{ClientAuth, Realm, RealmAccount, REALM_ACCESS_TOKEN_LIFETIME_SECS};
pub use store::{Account, RegisteredClient, StripeMode};
use store::{Dialect, Store};
use stripe_signature::ApplicationEvent;

/// How long an authorization code stays valid, as at Stripe (Connect and Apps).
pub const CODE_LIFETIME_SECS: i64 = 5 * 60;
/// A Stripe App's access token lasts an hour…
pub const APPS_ACCESS_TOKEN_LIFETIME_SECS: i64 = 60 * 60;
/// …and its refresh token a year, from the refresh that issued it.
pub const APPS_REFRESH_TOKEN_LIFETIME_SECS: i64 = 365 * 24 * 60 * 60;
/// How long a realm's authorization code stays valid (RFC 6749 §4.1.2 recommends at most 10 minutes).
pub const REALM_CODE_LIFETIME_SECS: i64 = 10 * 60;

/// Who may use the stand-in: the Connect platforms and Stripe Apps (OAuth clients), the Stripe
/// accounts that can sign in, and the generic OAuth 2.0 realms with their own clients and accounts.
#[derive(Clone, Debug)]
pub struct StandinConfig {
    /// Stripe Connect platforms.
    pub clients: Vec<RegisteredClient>,
    /// Stripe Apps; the first is the one installed from the Marketplace.
    pub apps: Vec<RegisteredClient>,
    pub accounts: Vec<Account>,
    pub realms: Vec<Realm>,
    /// Made-up key-based sources, each at `/keyed/{id}/`.
    pub keyed_sources: Vec<KeyedSource>,
}

/// Credentials the demo and the tests sign in with at the stand-in.
pub const DEMO_PASSWORD: &str = "stripe-demo";
pub const DEMO_EMAIL: &str = "owner@acme.test";

impl StandinConfig {
    /// One platform with the given credentials and callback, registered both as a Connect platform
    /// and as a Stripe App (one secret key serves both dialects), two accounts that can connect, and
    /// no realms.
    pub fn demo(client_id: &str, secret_key: &str, redirect_uri: &str) -> Self {
        let client = RegisteredClient {
            client_id: client_id.to_owned(),
            secret_key: secret_key.to_owned(),
            mode_secret_keys: Vec::new(),
            name: "Connections (demo)".to_owned(),
            redirect_uris: vec![redirect_uri.to_owned()],
        };
        StandinConfig {
            clients: vec![client.clone()],
            apps: vec![client],
            accounts: vec![
                Account {
                    id: "acct_1DemoAcmeBooks00".to_owned(),
                    email: DEMO_EMAIL.to_owned(),
                    password: DEMO_PASSWORD.to_owned(),
                    business_name: "Acme Books Ltd".to_owned(),
                    livemode: false,
                },
                Account {
                    id: "acct_1DemoGlobexCorp0".to_owned(),
                    email: "finance@globex.test".to_owned(),
                    password: DEMO_PASSWORD.to_owned(),
                    business_name: "Globex Corporation".to_owned(),
                    livemode: true,
                },
            ],
            realms: Vec::new(),
            keyed_sources: Vec::new(),
        }
    }

    /// Gives the first Stripe App (the demo's) a secret key for `mode` (test or sandbox; live mode's is
    /// its `secret_key`, which this replaces for `StripeMode::Live`).
    pub fn with_app_mode_key(mut self, mode: StripeMode, key: &str) -> Self {
        if let Some(app) = self.apps.first_mut() {
            set_mode_key(app, mode, key);
        }
        self
    }

    /// Adds a key-based source, e.g. [`KeyedSource::demo_pipeline`].
    pub fn with_keyed_source(mut self, source: KeyedSource) -> Self {
        self.keyed_sources.push(source);
        self
    }

    /// Adds a generic OAuth 2.0 realm, e.g. [`Realm::demo_crm`].
    pub fn with_realm(mut self, realm: Realm) -> Self {
        self.realms.push(realm);
        self
    }
}

/// A failure the token endpoints can be told to show, to exercise the client's fault handling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenFault {
    /// `500` with the dialect's error body: Stripe's API error, or a realm's `server_error`.
    ServerError,
    /// `200` with a body that is not JSON.
    Garbage,
    /// Answer normally, but only after this long (the code is used all the same, as at Stripe).
    Slow(Duration),
    /// Do the work at once (a code used, a refresh token rolled: the old one stops working), then
    /// hold the answer back this long, as when the answer is slow on its way back. A client that
    /// gives up meanwhile has lost what the answer carried.
    AnswerLate(Duration),
}

/// A running (or ready to run) stand-in. Cloning shares its state.
#[derive(Clone)]
pub struct Standin {
    config: Arc<RwLock<StandinConfig>>,
    pub(crate) store: Arc<Mutex<Store>>,
}

impl Standin {
    pub fn new(config: StandinConfig) -> Self {
        Standin { config: Arc::new(RwLock::new(config)), store: Arc::new(Mutex::new(Store::default())) }
    }

    /// A snapshot of who may use the stand-in.
    pub fn config(&self) -> StandinConfig {
        self.config.read().expect("stand-in config poisoned").clone()
    }

    /// Lets another Stripe account sign in, e.g. one with a hostile name, or hundreds for a load test.
    pub fn add_account(&self, account: Account) {
        self.config.write().expect("stand-in config poisoned").accounts.push(account);
    }

    /// Mounts one more realm at `/oauth2/{id}/`, replacing one with the same id (a restarted demo
    /// adds its realms again).
    pub fn add_realm(&self, realm: Realm) {
        let mut config = self.config.write().expect("stand-in config poisoned");
        config.realms.retain(|r| r.id != realm.id);
        config.realms.push(realm);
    }

    /// Gives the first Stripe App a secret key for `mode`, as [`StandinConfig::with_app_mode_key`].
    pub fn set_app_mode_key(&self, mode: StripeMode, key: &str) {
        if let Some(app) = self.config.write().expect("stand-in config poisoned").apps.first_mut() {
            set_mode_key(app, mode, key);
        }
    }

    /// Mounts one more key-based source at `/keyed/{id}/`, replacing one with the same id.
    pub fn add_keyed_source(&self, source: KeyedSource) {
        let mut config = self.config.write().expect("stand-in config poisoned");
        config.keyed_sources.retain(|s| s.id != source.id);
        config.keyed_sources.push(source);
    }

    /// Registers one more redirect URI for every client of every dialect, Connect, Apps and realms
    /// (e.g. a restarted server on a new port).
    pub fn register_redirect_uri(&self, uri: &str) {
        let mut config = self.config.write().expect("stand-in config poisoned");
        let config = &mut *config;
        let clients = config.clients.iter_mut().chain(&mut config.apps).map(|client| &mut client.redirect_uris);
        for redirect_uris in clients.chain(config.realms.iter_mut().map(|realm| &mut realm.redirect_uris)) {
            add_once(redirect_uris, uri);
        }
    }

    /// Registers one more redirect URI for the client of one realm; an unknown realm is ignored.
    pub fn register_realm_redirect_uri(&self, realm: &str, uri: &str) {
        let mut config = self.config.write().expect("stand-in config poisoned");
        if let Some(realm) = config.realms.iter_mut().find(|r| r.id == realm) {
            add_once(&mut realm.redirect_uris, uri);
        }
    }

    /// Makes every token endpoint (`/oauth/token`, `/v1/oauth/token`, `/oauth2/{realm}/token`) fail
    /// until cleared with `None`.
    pub fn set_token_fault(&self, fault: Option<TokenFault>) {
        self.store.lock().expect("stand-in store poisoned").token_fault = fault;
    }

    /// Where Connect's `account.application.deauthorized` goes when an owner disconnects the app, and
    /// the signing secret (`Stripe-Signature`).
    pub fn set_webhook(&self, url: &str, secret: &str) {
        self.store.lock().expect("stand-in store poisoned").webhook = Some((url.to_owned(), secret.to_owned()));
    }

    /// Where the Stripe App's `account.application.authorized` (install) and `…deauthorized`
    /// (uninstall) events go, and their signing secret.
    pub fn set_apps_webhook(&self, url: &str, secret: &str) {
        self.store.lock().expect("stand-in store poisoned").apps_webhook = Some((url.to_owned(), secret.to_owned()));
    }

    /// Access tokens of the account, in every dialect, stop working; their refresh tokens still do
    /// (an expiry).
    pub fn expire_access_tokens(&self, account_id: &str) -> usize {
        self.store.lock().expect("stand-in store poisoned").expire_access_tokens(account_id)
    }

    /// Every token of the account, in every dialect, stops working, and no webhook says so (a silent
    /// revocation).
    pub fn revoke_access(&self, account_id: &str) -> usize {
        self.store.lock().expect("stand-in store poisoned").revoke(|_, grant| grant.account_id == account_id)
    }

    /// The account owner disconnects the Connect platform at Stripe: its Connect tokens stop working
    /// and the platform is sent a signed `account.application.deauthorized` event. Answers the
    /// webhook's HTTP status.
    pub async fn owner_disconnects_app(&self, account_id: &str) -> Option<u16> {
        let (webhook, now) = {
            let mut store = self.store.lock().expect("stand-in store poisoned");
            store.revoke(|_, grant| grant.dialect == Dialect::Connect && grant.account_id == account_id);
            (store.webhook.clone(), store.now())
        };
        let (url, secret) = webhook?;
        let client_id = self.config().clients.first().map(|c| c.client_id.clone()).unwrap_or_default();
        self.application_event("account.application.deauthorized", account_id, now, client_id, "Connections".into()).deliver(url, secret).await
    }

    /// The account owner uninstalls the Stripe App: its Apps tokens stop working and the Apps webhook
    /// is sent a signed `account.application.deauthorized` event. Answers the webhook's HTTP status.
    pub async fn owner_uninstalls_app(&self, account_id: &str) -> Option<u16> {
        let (webhook, now) = {
            let mut store = self.store.lock().expect("stand-in store poisoned");
            store.revoke(|_, grant| grant.dialect == Dialect::Apps && grant.account_id == account_id);
            (store.apps_webhook.clone(), store.now())
        };
        let (url, secret) = webhook?;
        let app = self.config().apps.first().cloned()?;
        self.application_event("account.application.deauthorized", account_id, now, app.client_id, app.name).deliver(url, secret).await
    }

    fn application_event(&self, kind: &'static str, account_id: &str, created: i64, application_id: String, application_name: String) -> ApplicationEvent {
        let livemode = self.config().accounts.iter().any(|a| a.id == account_id && a.livemode);
        ApplicationEvent { kind, account_id: account_id.to_owned(), livemode, created, application_id, application_name }
    }

    /// The owner of the Stripe account signed in as `email` installs the app from the Stripe App
    /// Marketplace: answers the URL Stripe sends the browser to, the first app's first redirect URI
    /// with a `code` and no `state`. `None` for an unknown email or when no app is registered.
    pub fn marketplace_install(&self, email: &str) -> Option<String> {
        apps::marketplace_install(self, email, None, None)
    }

    /// How many issued access tokens, of every dialect, are still usable.
    /// Makes one of Stripe's lists (`charges`, …) answer 403 for the account, as when the access
    /// granted lacks its permission; `false` gives it back.
    pub fn refuse_list(&self, account_id: &str, list: &str, refused: bool) {
        let mut store = self.store.lock().expect("stand-in store poisoned");
        let key = (account_id.to_owned(), list.to_owned());
        if refused {
            store.refused_lists.insert(key);
        } else {
            store.refused_lists.remove(&key);
        }
    }

    /// Makes Stripe's list endpoints answer only after `delay` (`None`: at once).
    pub fn slow_lists(&self, delay: Option<std::time::Duration>) {
        self.store.lock().expect("stand-in store poisoned").list_delay = delay;
    }

    /// Makes the newest object of every list claim `created` (unix seconds, e.g. one past year 9999,
    /// as a faulty provider might send); `None` gives back the stand-in's own times.
    pub fn list_created(&self, created: Option<i64>) {
        self.store.lock().expect("stand-in store poisoned").list_created = created;
    }

    /// Makes every list answer `bytes` larger (a `padding` string); `None` gives back the plain ones.
    pub fn pad_lists(&self, bytes: Option<usize>) {
        self.store.lock().expect("stand-in store poisoned").list_padding = bytes;
    }

    pub fn active_tokens(&self) -> usize {
        self.store.lock().expect("stand-in store poisoned").active_tokens()
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/oauth/authorize", get(oauth::authorize_page).post(oauth::authorize_decision))
            .route("/oauth/token", post(oauth::token))
            .route("/oauth/deauthorize", post(oauth::deauthorize))
            .route("/apps/oauth/v2/authorize", get(apps::authorize_page).post(apps::authorize_decision))
            .route("/apps/oauth/v2/{mode}/authorize", get(apps::mode_authorize_page).post(apps::mode_authorize_decision))
            .route("/v1/oauth/token", post(apps::token))
            .route("/v1/account", get(api::account))
            .route("/v1/{list}", get(api::list))
            .route("/oauth2/{realm}/authorize", get(realm::authorize_page).post(realm::authorize_decision))
            .route("/oauth2/{realm}/token", post(realm::token))
            .route("/oauth2/{realm}/revoke", post(realm::revoke))
            .route("/oauth2/{realm}/api/me", get(realm::me))
            .route("/oauth2/{realm}/api/data/{table}", get(realm::data))
            .route("/keyed/{source}/api/me", get(keyed::me))
            .route("/keyed/{source}/api/{table}", get(keyed::table))
            .route("/standin", get(control::page))
            .route("/standin/stripe-keys", post(key_controls::form_issue_stripe))
            .route("/standin/keyed/{source}/keys", post(key_controls::form_issue_keyed))
            .route("/standin/keys/{key}/{action}", post(key_controls::form_act))
            .route("/standin/api/stripe-keys", post(key_controls::api_issue_stripe))
            .route("/standin/api/keyed/{source}/keys", post(key_controls::api_issue_keyed))
            .route("/standin/api/keys/{key}/{action}", post(key_controls::api_act))
            .route("/standin/accounts/{id}/{action}", post(control::act))
            // Like Stripe's sign-in, no page here may be framed: an app inside an iframe must open
            // the provider in a window of its own.
            .layer(axum::middleware::map_response(|mut response: axum::response::Response| async move {
                let headers = response.headers_mut();
                headers.insert("x-frame-options", axum::http::HeaderValue::from_static("DENY"));
                headers.insert("content-security-policy", axum::http::HeaderValue::from_static("frame-ancestors 'none'"));
                response
            }))
            .with_state(self.clone())
    }

    /// How many requests reached Stripe's token endpoints (`POST /oauth/token` and
    /// `POST /v1/oauth/token`), whatever their outcome. Realms count apart.
    pub fn token_requests(&self) -> u64 {
        self.store.lock().expect("stand-in store poisoned").token_requests
    }

    /// How many requests reached the Stripe Apps token endpoint, `POST /v1/oauth/token`.
    pub fn apps_token_requests(&self) -> u64 {
        self.store.lock().expect("stand-in store poisoned").apps_token_requests
    }

    /// How many requests reached `POST /oauth2/{realm}/token`, whatever their outcome.
    pub fn realm_token_requests(&self, realm: &str) -> u64 {
        self.store.lock().expect("stand-in store poisoned").realm_token_requests.get(realm).copied().unwrap_or(0)
    }

    /// Moves the stand-in's clock forward, to let tests expire codes without waiting.
    pub fn advance_clock(&self, secs: i64) {
        self.store.lock().expect("stand-in store poisoned").clock_offset_secs += secs;
    }

    /// Whether `access_token` is currently accepted (by `GET /v1/account`, or its realm's `api/me`).
    pub fn token_is_active(&self, access_token: &str) -> bool {
        self.store.lock().expect("stand-in store poisoned").active_grant(access_token).is_some()
    }

    /// Serves on `listener` until the task is dropped.
    pub async fn serve(self, listener: TcpListener) -> std::io::Result<()> {
        axum::serve(listener, self.router()).await
    }
}

fn set_mode_key(app: &mut RegisteredClient, mode: StripeMode, key: &str) {
    if mode == StripeMode::Live {
        app.secret_key = key.to_owned();
    } else {
        app.mode_secret_keys.retain(|(m, _)| *m != mode);
        app.mode_secret_keys.push((mode, key.to_owned()));
    }
}

fn add_once(redirect_uris: &mut Vec<String>, uri: &str) {
    if !redirect_uris.iter().any(|u| u == uri) {
        redirect_uris.push(uri.to_owned());
    }
}

/// Binds `addr`, starts serving in the background and returns the base URL (`http://127.0.0.1:port`).
pub async fn spawn(standin: Standin, addr: SocketAddr) -> std::io::Result<String> {
    let listener = TcpListener::bind(addr).await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        if let Err(error) = standin.serve(listener).await {
            tracing::error!(%error, "stripe stand-in stopped");
        }
    });
    Ok(url)
}
