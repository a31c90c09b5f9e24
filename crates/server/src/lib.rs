//! The Connections backend: a thin, token-mediating backend for the SPA's OAuth flow.
//!
//! Layers: routes → services (connect flow, tokens, lifecycle) → storage and the provider clients
//! (`providers`, one per OAuth dialect). See `shared/design.md`.

mod app;
pub(crate) mod clock;
pub mod config;
mod config_error;
pub mod crypto;
#[cfg(feature = "demo")]
pub mod demo;
pub(crate) mod error;
pub mod observability;
pub mod outbox;
pub mod pkce;
pub mod providers;
mod routes;
pub mod secret;
mod serve;
pub(crate) mod service_keys;
pub mod services;
pub mod session;
pub mod shutdown;
pub mod storage;
pub mod stripe_signature;
mod web;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::{middleware, Router};
use tokio::net::TcpListener;
use tower_http::services::{ServeDir, ServeFile};
use url::Url;

pub use app::{AppInner, AppState, MAX_BODY_BYTES};
pub use config::{Args, Config, ConfigError};
use crypto::TokenCipher;
pub use observability::log_chain;
use providers::ProviderRegistry;
use session::SessionKeys;
use storage::Db;

/// API answers larger than this are compressed.
pub(crate) const API_COMPRESS_ABOVE: u16 = 1024;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("DATABASE_URL: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// The whole HTTP surface; tests drive it in-process.
pub(crate) fn app(state: AppState, static_dir: Option<&std::path::Path>) -> Router {
    // Each `Router::layer` boxes every route once more, and every request clones the boxes: the
    // layers go on as few stacks as their order allows (a stack's first layer is the outermost).
    let api = routes::api_router(state.demo).layer(
        tower::ServiceBuilder::new()
            // Large answers (a long list) compressed by Accept-Encoding; small ones aren't worth it.
            // No answer of this API holds a secret, so compression can't leak one (BREACH).
            .layer(tower_http::compression::CompressionLayer::new().compress_when({
                use tower_http::compression::predicate::{DefaultPredicate, Predicate, SizeAbove};
                DefaultPredicate::new().and(SizeAbove::new(API_COMPRESS_ABOVE))
            }))
            .layer(middleware::from_fn_with_state(state.clone(), web::refuse_cross_site))
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
    );
    let router = match static_dir {
        // Any app route (e.g. /connections/stripe/callback) answers with the SPA shell.
        Some(dir) => api
            .route("/embed.js", axum::routing::get(web::serve_embed_loader))
            .route("/", axum::routing::get(|| async { axum::response::Redirect::to("/connections") }))
            .fallback_service(tower::Layer::layer(
                &middleware::from_fn(web::static_caching),
                // `name.br` / `name.gz` beside each built asset (scripts/compress-dist.sh), by `Accept-Encoding`.
                ServeDir::new(dir).precompressed_br().precompressed_gzip().fallback(ServeFile::new(dir.join("index.html"))),
            )),
        None => api,
    };
    let router = router.merge(routes::probes::router());
    let router = router.layer(
        tower::ServiceBuilder::new()
            // Host pages on other origins load the app's script, wasm and styles and call the API.
            .option_layer(web::cors(&state.embed_origins))
            .layer(middleware::from_fn_with_state(state.clone(), web::security_headers)),
    );
    // The service API: outside CORS (never granted to a page) and outside the browser checks of
    // `/api/`; the security headers all the same.
    let service = routes::service::router().layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    let router = router.merge(service.layer(middleware::from_fn_with_state(state.clone(), web::security_headers)));
    // Request ids, the request log (paths only: the callback's query string holds an authorization
    // code) and the HTTP metrics.
    let timeouts = serve::timeouts(serve::request_timeout(&state.providers));
    router.layer(tower::ServiceBuilder::new().layer(middleware::from_fn(routes::tracking::track_requests)).layer(timeouts)).with_state(state)
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    health_check_interval: Option<std::time::Duration>,
    metrics_listener: Option<TcpListener>,
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let listener = TcpListener::bind(config.addr).await?;
        Self::from_listener(config, listener).await
    }

    /// Uses an already bound listener, so callers can learn the port before configuring (the demo
    /// registers the redirect URI with the stand-in first).
    pub(crate) async fn from_listener(config: Config, listener: TcpListener) -> Result<Self, StartupError> {
        let local_addr = listener.local_addr()?;
        let public_url = match config.public_url.clone() {
            Some(url) => url,
            None => default_public_url(local_addr),
        };
        let public_origin = public_url.origin().ascii_serialization();
        let mut embed_origins: Vec<String> = config.embed_urls.iter().map(|url| url.origin().ascii_serialization()).collect();
        embed_origins.sort();
        embed_origins.dedup();
        embed_origins.retain(|origin| *origin != public_origin);
        let frame_ancestors = std::iter::once(config.frame_ancestors.clone()).chain(embed_origins.iter().cloned()).collect::<Vec<_>>().join(" ");
        let csp = web::content_security_policy(config.static_dir.as_deref(), &frame_ancestors)?;
        // Never served without it: a policy that cannot be a header stops the start.
        let csp = axum::http::HeaderValue::from_str(&csp).map_err(|_| ConfigError {
            setting: "CONNECTIONS_FRAME_ANCESTORS".into(),
            problem: format!("{frame_ancestors:?} cannot be sent in a Content-Security-Policy header"),
        })?;
        let embed_loader = match config.static_dir.as_deref() {
            Some(dir) => web::embed_loader(&std::fs::read_to_string(dir.join("index.html"))?),
            None => None,
        };
        let render = services::views::notification_body as storage::RenderNotification;
        let db = Db::connect(&config.database_url).await?.with_outbox(config.webhook.is_some().then_some(render));
        let metrics_listener = observability::bind_metrics(config.metrics_addr).await?;
        let core = services::Core::new(services::CoreInner {
            db,
            cipher: TokenCipher::new(&config.encryption_keys),
            providers: ProviderRegistry::new(config.providers.clone()),
            clock: clock::Clock::default(),
            tasks: tokio_util::task::TaskTracker::new(),
            public_url,
            embed_urls: config.embed_urls.clone(),
            event_retention_secs: config.event_retention.as_secs() as i64,
            keepalive: config.keepalive,
            webhook: config.webhook.clone(),
        });
        let state = AppState(Arc::new(AppInner {
            core,
            sessions: session_keys(&config)?,
            public_origin,
            csp,
            embed_origins,
            embed_loader,
            demo: config.demo,
            rate_limit_per_minute: config.rate_limit_per_minute,
            connections_cache: std::sync::Mutex::new(std::collections::HashMap::new()),
            metrics_addr: metrics_listener.as_ref().map(TcpListener::local_addr).transpose()?,
            service_keys: config.service_keys.clone(),
        }));
        let router = app(state.clone(), config.static_dir.as_deref());
        Ok(Application { listener, router, state, health_check_interval: config.health_check_interval, metrics_listener })
    }

    pub fn public_url(&self) -> &Url {
        &self.state.public_url
    }

    /// Where the server actually listens (the public URL may be a proxy in front of it).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Serves until SIGTERM or Ctrl-C, with the background health checks and the metrics listener
    /// alongside (stopped with it); then finishes what is in flight (see `shutdown`).
    pub async fn run(self) -> std::io::Result<()> {
        self.run_until(shutdown::signal()).await
    }

    /// Serves until `shutdown` resolves (`run` passes SIGTERM or Ctrl-C), then stops the background
    /// round and finishes what is in flight: the requests, and the work handed to tracked tasks
    /// (grants, renewals), the round's own included.
    pub async fn run_until(self, shutdown: impl std::future::Future<Output = ()>) -> std::io::Result<()> {
        let stop_checks = AbortOnDrop(Some(tokio::spawn(services::maintenance::run(self.state.core.clone(), self.health_check_interval))));
        let _stop_deliveries =
            self.state.webhook.clone().map(|settings| AbortOnDrop(Some(tokio::spawn(services::delivery::run(self.state.db.clone(), settings)))));
        let _stop_metrics = self
            .metrics_listener
            .map(|listener| AbortOnDrop(Some(tokio::spawn(observability::serve_metrics(listener, routes::metrics::router(self.state.core.clone()))))));
        // Every request ends within the request timeout: drained that long, none is left to start
        // work after the tracked tasks were waited for.
        let drain = serve::request_timeout(&self.state.providers);
        let served = serve::serve(self.listener, self.router, shutdown, drain).await;
        // No new round, and the one running has ended before the wait below: a renewal it started
        // runs in a tracked task and is waited for.
        stop_checks.stop().await;
        shutdown::finish_tracked(&self.state.tasks).await;
        served
    }
}

struct AbortOnDrop(Option<tokio::task::JoinHandle<()>>);

impl AbortOnDrop {
    /// Aborts the task and waits until it has ended.
    async fn stop(mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(task) = &self.0 {
            task.abort();
        }
    }
}

/// Verification with the portal's public key if one is set, else with the shared secret.
fn session_keys(config: &Config) -> Result<SessionKeys, StartupError> {
    let keys = match (&config.session_public_key, &config.session_secret) {
        (Some(key), _) => {
            SessionKeys::with_public_key(key).map_err(|e| ConfigError { setting: "CONNECTIONS_SESSION_PUBLIC_KEY".into(), problem: e.to_string() })?
        }
        (None, Some(secret)) => SessionKeys::new(secret),
        (None, None) => return Err(ConfigError { setting: "CONNECTIONS_SESSION_SECRET".into(), problem: "is required".into() }.into()),
    };
    Ok(keys.for_audience(&config.session_audience, config.session_issuer.as_deref()))
}

/// `http://<addr>`, with a wildcard address replaced by loopback.
pub(crate) fn default_public_url(addr: SocketAddr) -> Url {
    let addr = if addr.ip().is_unspecified() { SocketAddr::from(([127, 0, 0, 1], addr.port())) } else { addr };
    Url::parse(&format!("http://{addr}")).expect("an address makes a valid URL")
}
