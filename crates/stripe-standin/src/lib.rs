//! A local stand-in for Stripe Connect's OAuth endpoints, written from Stripe's documentation, so the
//! demo and the tests exercise a real HTTP peer with Stripe's rules while nothing leaves the machine:
//!
//! - `GET /oauth/authorize` shows a sign-in and consent page; `POST /oauth/authorize` takes the decision
//!   and redirects to the registered `redirect_uri` with `code, scope, state` or `error=access_denied`.
//! - `POST /oauth/token` exchanges a code (single use, valid 5 minutes; a reused code answers
//!   `invalid_grant` and revokes every token issued from it) or a refresh token. The platform's secret
//!   key is accepted as `client_secret`, HTTP Basic (key as user name) or Bearer.
//! - `POST /oauth/deauthorize` disconnects an account from the platform.
//! - `GET /v1/account` answers with the connected account for its access token.
//!
//! Stripe does not document PKCE; the stand-in checks it when a challenge was sent, which is stricter.
//! It is never part of a production configuration.

mod api;
mod control;
mod oauth;
mod pages;
mod store;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;

pub use store::{Account, RegisteredClient};
use store::Store;

/// How long an authorization code stays valid, as at Stripe.
pub const CODE_LIFETIME_SECS: i64 = 5 * 60;

/// Who may use the stand-in: the platforms (OAuth clients) and the Stripe accounts that can sign in.
#[derive(Clone, Debug)]
pub struct StandinConfig {
    pub clients: Vec<RegisteredClient>,
    pub accounts: Vec<Account>,
}

/// Credentials the demo and the tests sign in with at the stand-in.
pub const DEMO_PASSWORD: &str = "stripe-demo";
pub const DEMO_EMAIL: &str = "owner@acme.test";

impl StandinConfig {
    /// One platform with the given credentials and callback, and two accounts that can connect.
    pub fn demo(client_id: &str, secret_key: &str, redirect_uri: &str) -> Self {
        StandinConfig {
            clients: vec![RegisteredClient {
                client_id: client_id.to_owned(),
                secret_key: secret_key.to_owned(),
                name: "Connections (demo)".to_owned(),
                redirect_uris: vec![redirect_uri.to_owned()],
            }],
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
        }
    }
}

/// A failure the token endpoint can be told to show, to exercise the client's fault handling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenFault {
    /// `500` with Stripe's API error body.
    ServerError,
    /// `200` with a body that is not JSON.
    Garbage,
    /// Answer normally, but only after this long (the code is used all the same, as at Stripe).
    Slow(Duration),
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

    /// Registers one more redirect URI for every client (e.g. a restarted server on a new port).
    pub fn register_redirect_uri(&self, uri: &str) {
        for client in &mut self.config.write().expect("stand-in config poisoned").clients {
            if !client.redirect_uris.iter().any(|u| u == uri) {
                client.redirect_uris.push(uri.to_owned());
            }
        }
    }

    /// Makes `POST /oauth/token` fail until cleared with `None`.
    pub fn set_token_fault(&self, fault: Option<TokenFault>) {
        self.store.lock().expect("stand-in store poisoned").token_fault = fault;
    }

    /// Where `account.application.deauthorized` goes when an owner disconnects the app, and the
    /// signing secret (`Stripe-Signature`).
    pub fn set_webhook(&self, url: &str, secret: &str) {
        self.store.lock().expect("stand-in store poisoned").webhook = Some((url.to_owned(), secret.to_owned()));
    }

    /// Access tokens of the account stop working; their refresh tokens still do (an expiry).
    pub fn expire_access_tokens(&self, account_id: &str) -> usize {
        let mut store = self.store.lock().expect("stand-in store poisoned");
        let mut expired = 0;
        for token in store.tokens.values_mut().filter(|t| t.account_id == account_id && !t.revoked && !t.access_expired) {
            token.access_expired = true;
            expired += 1;
        }
        expired
    }

    /// Every token of the account stops working, and no webhook says so (a silent revocation).
    pub fn revoke_access(&self, account_id: &str) -> usize {
        self.store.lock().expect("stand-in store poisoned").revoke(|_, token| token.account_id == account_id)
    }

    /// The account owner disconnects the app at Stripe: every token stops working and each platform
    /// is sent a signed `account.application.deauthorized` event. Answers the webhook's HTTP status.
    pub async fn owner_disconnects_app(&self, account_id: &str) -> Option<u16> {
        let (webhook, livemode, now) = {
            let mut store = self.store.lock().expect("stand-in store poisoned");
            store.revoke(|_, token| token.account_id == account_id);
            (store.webhook.clone(), self.config().accounts.iter().any(|a| a.id == account_id && a.livemode), store.now())
        };
        let (url, secret) = webhook?;
        let client_id = self.config().clients.first().map(|c| c.client_id.clone()).unwrap_or_default();
        let event = serde_json::json!({
            "id": store::random_id("evt_", 24),
            "object": "event",
            "type": "account.application.deauthorized",
            "account": account_id,
            "created": now,
            "livemode": livemode,
            "data": { "object": { "id": client_id, "object": "application", "name": "Connections" } },
        });
        let payload = serde_json::to_vec(&event).expect("an event serialises");
        let signature = format!("t={now},v1={}", control::sign(&secret, now, &payload));
        let response = reqwest::Client::new()
            .post(url)
            .header("content-type", "application/json; charset=utf-8")
            .header("stripe-signature", signature)
            .body(payload)
            .send()
            .await
            .ok()?;
        Some(response.status().as_u16())
    }

    /// How many issued access tokens are still usable.
    pub fn active_tokens(&self) -> usize {
        self.store.lock().expect("stand-in store poisoned").tokens.values().filter(|t| !t.revoked && !t.access_expired).count()
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/oauth/authorize", get(oauth::authorize_page).post(oauth::authorize_decision))
            .route("/oauth/token", post(oauth::token))
            .route("/oauth/deauthorize", post(oauth::deauthorize))
            .route("/v1/account", get(api::account))
            .route("/standin", get(control::page))
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

    /// How many requests reached `POST /oauth/token`, whatever their outcome.
    pub fn token_requests(&self) -> u64 {
        self.store.lock().expect("stand-in store poisoned").token_requests
    }

    /// Moves the stand-in's clock forward, to let tests expire codes without waiting.
    pub fn advance_clock(&self, secs: i64) {
        self.store.lock().expect("stand-in store poisoned").clock_offset_secs += secs;
    }

    /// Whether `access_token` is currently accepted by `GET /v1/account`.
    pub fn token_is_active(&self, access_token: &str) -> bool {
        self.store.lock().expect("stand-in store poisoned").active_token(access_token).is_some()
    }

    /// Serves on `listener` until the task is dropped.
    pub async fn serve(self, listener: TcpListener) -> std::io::Result<()> {
        axum::serve(listener, self.router()).await
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
