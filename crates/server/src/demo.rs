//! `--demo`: the server with the local Stripe stand-in and a demo sign-in, every other setting filled
//! in. Secrets the user did not give are made once and kept under `.demo/`, so a restart keeps
//! stored connections readable.

use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use connections_wire::{Dialect, Mode};
use provider_standin::{ClientAuth, KeyPlacement, KeyedSource, Realm, Standin, StandinConfig};
use rand::RngCore;
use tokio::net::TcpListener;

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};

use crate::config::{self, Args, ConfigError};
use crate::providers::api_key::ApiKeySpec;
use crate::providers::{ConnectSpec, DialectSpec, Oauth2Spec, Placement};
use crate::secret::Secret;
use crate::session::{Claims, SessionKeys};
use crate::{default_public_url, Application, Config, StartupError};

pub const DEMO_CLIENT_ID: &str = "ca_DemoConnectionsPlatform";
pub const DEMO_SECRET_KEY: &str = "sk_test_DemoConnectionsPlatformSecret";
const DEMO_DIR: &str = ".demo";

pub struct DemoApp {
    pub app: Application,
    /// The running stand-in, for tests to inspect.
    pub standin: Standin,
    pub standin_url: String,
    /// The example admin portal embedding the app, on its own origin; `None` without its pages.
    pub portal_url: Option<String>,
}

/// Where the example portal's pages are, relative to the working directory (like `dist/`).
pub(crate) const PORTAL_DIR: &str = "examples/portal";
/// The portal's places for the app: `mount()` owning the address bar, and the custom element.
pub(crate) const PORTAL_MOUNT_PATH: &str = "/admin/connections";
pub(crate) const PORTAL_ELEMENT_PATH: &str = "/element";

/// A secret the user did not give: kept under `.demo/` when the demo owns its data there, so a
/// restart can still read what it stored; otherwise (a database given) made fresh for this run.
fn demo_secret(persist: bool, file: &str, make: impl FnOnce() -> String) -> Result<String, StartupError> {
    if !persist {
        return Ok(make());
    }
    let path = Path::new(DEMO_DIR).join(file);
    match std::fs::read_to_string(&path) {
        Ok(value) if !value.trim().is_empty() => Ok(value.trim().to_owned()),
        _ => {
            std::fs::create_dir_all(DEMO_DIR)?;
            let value = make();
            std::fs::write(&path, &value)?;
            Ok(value)
        }
    }
}

fn random_base64(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    rand::thread_rng().fill_bytes(&mut bytes);
    STANDARD.encode(bytes)
}

pub async fn launch(args: Args) -> Result<DemoApp, StartupError> {
    launch_with(args, None).await
}

/// Like [`launch`], with an already running stand-in and its URL: a restarted server keeps talking
/// to the same "Stripe".
pub async fn launch_with(mut args: Args, running: Option<(Standin, String)>) -> Result<DemoApp, StartupError> {
    args.demo = true;
    let persist = args.database_url.is_none();
    if args.database_url.is_none() {
        std::fs::create_dir_all(DEMO_DIR)?;
        args.database_url = Some(format!("sqlite://{DEMO_DIR}/connections.db?mode=rwc"));
    }
    if args.session_secret.is_none() {
        args.session_secret = Some(demo_secret(persist, "session.secret", || random_base64(48))?);
    }
    if args.encryption_key.is_none() {
        args.encryption_key = Some(demo_secret(persist, "encryption.key", || random_base64(32))?);
    }
    // Stripe's webhook secret: the one client's, or each mode's where the mode gives none.
    let webhook_secret = match args.stripe_webhook_secret.clone() {
        Some(secret) => secret,
        None => demo_secret(persist, "webhook.secret", || format!("whsec_{}", random_base64(24).replace(['+', '/', '='], "x")))?,
    };
    if !args.stripe_modes.any() {
        args.stripe_webhook_secret = Some(webhook_secret.clone());
    }
    args.stripe_client_id.get_or_insert_with(|| DEMO_CLIENT_ID.to_owned());
    // With a client per mode (`--stripe-test-secret-key` …), those keys; else the one client's.
    if !args.stripe_modes.any() {
        args.stripe_secret_key.get_or_insert_with(|| DEMO_SECRET_KEY.to_owned());
    }

    let addr: std::net::SocketAddr = args
        .addr
        .trim()
        .parse()
        .map_err(|_| ConfigError { setting: "CONNECTIONS_ADDR".into(), problem: format!("{:?} is not an address like 127.0.0.1:8080", args.addr) })?;
    let listener = TcpListener::bind(addr).await?;
    let public_url = match &args.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => default_public_url(listener.local_addr()?).to_string().trim_end_matches('/').to_owned(),
    };
    args.public_url = Some(public_url.clone());
    let redirect_uri = format!("{public_url}{}", connections_wire::paths::callback("stripe"));

    // The example portal: another origin embedding the app, as a customer's admin portal would.
    let portal = if Path::new(PORTAL_DIR).join("mount.html").is_file() {
        let listener = TcpListener::bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let url = format!("http://{}", listener.local_addr()?);
        if args.embed_urls.is_none() {
            args.embed_urls = Some(format!("{url}{PORTAL_MOUNT_PATH},{url}{PORTAL_ELEMENT_PATH}"));
        }
        Some((listener, url))
    } else {
        tracing::warn!("demo: no {PORTAL_DIR}/ here, so no example portal");
        None
    };
    // The portal's backend receives the outgoing webhooks, as the BI product's would.
    if let Some((_, url)) = &portal {
        if args.webhook_url.is_none() {
            args.webhook_url = Some(format!("{url}{PORTAL_WEBHOOK_PATH}"));
            args.webhook_secret = Some(demo_secret(persist, "outgoing-webhook.secret", || format!("whsec_{}", random_base64(32)))?);
        }
    }
    let embed_urls = config::parse_embed_urls(args.embed_urls.as_deref().unwrap_or_default())?;
    let session_secret = Secret::new(args.session_secret.clone().unwrap_or_default());

    let client_id = args.stripe_client_id.clone().unwrap_or_default();
    let secret_key = args.stripe_secret_key.clone().unwrap_or_default();
    let (standin, standin_url) = match running {
        Some((standin, url)) => (standin, url),
        None => {
            let standin = Standin::new(StandinConfig::demo(&client_id, &secret_key, &redirect_uri));
            let url = provider_standin::spawn(standin.clone(), ([127, 0, 0, 1], 0).into()).await?;
            (standin, url)
        }
    };
    // Stripe URLs not given explicitly go to the stand-in (tests point one endpoint at a failing peer
    // by giving it), for the dialect chosen.
    let connect = args.stripe_oauth.as_deref().map(str::trim) == Some("connect");
    let point = |value: &mut Option<String>, path: &str| {
        value.get_or_insert_with(|| format!("{standin_url}{path}"));
    };
    if connect {
        point(&mut args.stripe_authorize_url, "/oauth/authorize");
        point(&mut args.stripe_token_url, "/oauth/token");
        point(&mut args.stripe_deauthorize_url, "/oauth/deauthorize");
    } else if args.stripe_modes.any() {
        // Each mode's install link is the stand-in's link of that mode.
        let modes = &mut args.stripe_modes;
        for (key, url, mode) in [
            (&modes.stripe_live_secret_key, &mut modes.stripe_live_authorize_url, "live"),
            (&modes.stripe_test_secret_key, &mut modes.stripe_test_authorize_url, "test"),
            (&modes.stripe_sandbox_secret_key, &mut modes.stripe_sandbox_authorize_url, "sandbox"),
        ] {
            if key.is_some() {
                point(url, &format!("/apps/oauth/v2/{mode}/authorize"));
            }
        }
        point(&mut args.stripe_token_url, "/v1/oauth/token");
    } else {
        point(&mut args.stripe_authorize_url, "/apps/oauth/v2/authorize");
        point(&mut args.stripe_token_url, "/v1/oauth/token");
    }
    point(&mut args.stripe_api_base, "");

    // A providers file may name the stand-in as `{{STANDIN}}`; secrets it names that are not set get
    // a demo value, which the stand-in is given too.
    let env =
        |name: &str| demo_mode_secret(name).or_else(|| std::env::var(name).ok()).or_else(|| Some(demo_provider_secret(name, &secret_key, &webhook_secret)));
    if let Some(path) = args.providers.clone() {
        let text = std::fs::read_to_string(&path).map_err(|e| ConfigError { setting: "CONNECTIONS_PROVIDERS".into(), problem: format!("{path}: {e}") })?;
        args.providers_text = Some(text.replace("{{STANDIN}}", &standin_url));
    }
    let mut config = Config::from_args(args, &env)?;
    for provider in &mut config.providers {
        let redirect_uris = std::iter::once(format!("{public_url}{}", connections_wire::paths::callback(&provider.id)))
            .chain(embed_urls.iter().map(|url| format!("{}/{}/callback", url.as_str().trim_end_matches('/'), provider.id)));
        for uri in redirect_uris {
            standin.register_redirect_uri(&uri);
        }
        let webhook_url = format!("{public_url}{}", connections_wire::paths::webhook(&provider.id));
        let kind = provider.dialect.kind();
        match &mut provider.dialect {
            DialectSpec::Oauth2(oauth2) => standin.add_realm(demo_realm(&provider.id, &provider.name, oauth2, &public_url)),
            DialectSpec::ApiKey(keyed) => standin.add_keyed_source(demo_keyed_source(&provider.id, &provider.name, keyed)),
            // Stripe's keys are the stand-in's own (`/standin/api/stripe-keys`).
            DialectSpec::StripeKey(_) => {}
            // The stand-in signs and sends its events to our webhook, as Stripe would.
            DialectSpec::StripeApps(stripe) | DialectSpec::StripeConnect(ConnectSpec { stripe, .. }) => {
                // A client per mode: the stand-in's app takes each mode's key, and each mode's
                // events go to our webhook signed with that mode's secret.
                for client in &mut stripe.modes {
                    standin.set_app_mode_key(standin_mode(client.mode), client.secret_key.expose());
                    let secret = client.webhook_secret.get_or_insert_with(|| Secret::new(format!("{webhook_secret}{}", client.mode.as_str())));
                    standin.set_apps_mode_webhook(standin_mode(client.mode), &webhook_url, secret.expose());
                }
                let secret = stripe.webhook_secret.get_or_insert_with(|| Secret::new(webhook_secret.clone()));
                if kind == Dialect::StripeApps {
                    standin.set_apps_webhook(&webhook_url, secret.expose());
                } else {
                    standin.set_webhook(&webhook_url, secret.expose());
                }
            }
        }
    }
    let signer = config.webhook.as_ref().map(|webhook| webhook.signer.clone());
    let app = Application::from_listener(config, listener).await?;
    let portal_url = portal.map(|(listener, url)| {
        let state = PortalState { app_url: public_url.clone(), sessions: Arc::new(SessionKeys::new(&session_secret)), signer, received: Arc::default() };
        let router = portal_router(state);
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        url
    });
    Ok(DemoApp { app, standin, standin_url, portal_url })
}

/// The demo's own keys for a Stripe App's modes, whatever the environment says: the stand-in is
/// given them, and a real key has no business in the demo.
fn demo_mode_secret(variable: &str) -> Option<String> {
    let value = match variable {
        "STRIPE_LIVE_SECRET_KEY" => "sk_live_DemoConnectionsLiveMode",
        "STRIPE_TEST_SECRET_KEY" => "sk_test_DemoConnectionsTestMode",
        "STRIPE_SANDBOX_SECRET_KEY" => "sk_test_DemoConnectionsSandbox",
        _ => return None,
    };
    Some(value.to_owned())
}

fn standin_mode(mode: Mode) -> provider_standin::StripeMode {
    match mode {
        Mode::Live => provider_standin::StripeMode::Live,
        Mode::Test => provider_standin::StripeMode::Test,
        Mode::Sandbox => provider_standin::StripeMode::Sandbox,
    }
}

/// The demo's value for a provider secret the environment does not set: Stripe's are the stand-in's
/// platform key and the demo's webhook secret, any other is derived from its variable's name.
fn demo_provider_secret(variable: &str, stripe_secret_key: &str, webhook_secret: &str) -> String {
    match variable {
        "STRIPE_SECRET_KEY" => stripe_secret_key.to_owned(),
        "STRIPE_WEBHOOK_SECRET" => webhook_secret.to_owned(),
        // Each mode's endpoint signs with its own secret.
        mode_webhook if mode_webhook.starts_with("STRIPE_") && mode_webhook.ends_with("_WEBHOOK_SECRET") => {
            format!("whsec_demo{}", mode_webhook.to_ascii_lowercase().replace('_', ""))
        }
        _ => format!("demo-{}", variable.to_ascii_lowercase().replace('_', "-")),
    }
}

/// A key-based source of the providers file, served by the stand-in under its own id as its made-up
/// Pipeline CRM is (keys `pl_…`), reading the key where the entry says and serving the tables its
/// `data_urls` end in.
fn demo_keyed_source(id: &str, name: &str, keyed: &ApiKeySpec) -> KeyedSource {
    let placement = match &keyed.placement {
        Placement::Bearer => KeyPlacement::Bearer,
        Placement::Basic => KeyPlacement::Basic,
        Placement::Header(header) => KeyPlacement::Header(header.as_str().to_owned()),
    };
    let tables = keyed.data_urls.iter().filter_map(|(_, url)| url.path_segments()?.next_back().map(str::to_owned)).collect();
    KeyedSource { id: id.to_owned(), name: name.to_owned(), tables, ..KeyedSource::demo_pipeline(placement) }
}

/// A generic OAuth 2.0 source of the providers file, served by the stand-in under its own id with
/// the file's client, scopes and client authentication.
fn demo_realm(id: &str, name: &str, provider: &Oauth2Spec, public_url: &str) -> Realm {
    let redirect_uri = format!("{public_url}{}", connections_wire::paths::callback(id));
    let secret = provider.client_secret.expose();
    let mut realm = if id.contains("ads") {
        Realm::demo_ads(&provider.client_id, secret, &redirect_uri)
    } else {
        Realm::demo_crm(&provider.client_id, secret, &redirect_uri)
    };
    realm.id = id.to_owned();
    realm.name = name.to_owned();
    realm.scopes = provider.scopes.clone();
    realm.client_auth = match provider.client_auth {
        crate::providers::ClientAuth::Basic => ClientAuth::Basic,
        crate::providers::ClientAuth::Body => ClientAuth::Body,
    };
    realm
}

#[derive(Clone)]
struct PortalState {
    /// The Connections server, which the portal's pages load the app from.
    app_url: String,
    sessions: Arc<SessionKeys>,
    /// Verifies the outgoing webhooks the portal's backend receives; `None` when they go elsewhere.
    signer: Option<crate::outbox::Signer>,
    /// The last few verified events, newest first, for the portal's page.
    received: Arc<std::sync::Mutex<std::collections::VecDeque<serde_json::Value>>>,
}

/// Where the portal's backend receives Connections' webhooks.
pub(crate) const PORTAL_WEBHOOK_PATH: &str = "/backend/connections-webhooks";
const PORTAL_EVENTS_KEPT: usize = 10;

/// The example portal: plain pages with their own header and styles, embedding the app with
/// `mount()`, as `<connections-panel>`, and in an iframe; and the portal's own session endpoint.
fn portal_router(state: PortalState) -> Router {
    let page = |file: &'static str| move |State(state): State<PortalState>| portal_page(state, file);
    Router::new()
        .route("/", get(|| async { Redirect::to(PORTAL_MOUNT_PATH) }))
        .route(PORTAL_MOUNT_PATH, get(page("mount.html")))
        .route(&format!("{PORTAL_MOUNT_PATH}/{{*rest}}"), get(page("mount.html")))
        .route(PORTAL_ELEMENT_PATH, get(page("element.html")))
        .route(&format!("{PORTAL_ELEMENT_PATH}/{{*rest}}"), get(page("element.html")))
        .route("/framed", get(page("framed.html")))
        .route("/portal.css", get(|| portal_asset("portal.css", "text/css; charset=utf-8")))
        .route("/portal.js", get(|| portal_asset("portal.js", "text/javascript; charset=utf-8")))
        .route("/session-token", get(portal_session_token))
        .route(PORTAL_WEBHOOK_PATH, axum::routing::post(portal_receive_webhook))
        .route("/backend/events", get(portal_backend_events))
        .with_state(state)
}

/// What a receiver does with a Standard Webhooks delivery: check the timestamp is recent and the
/// signature is one of ours, then keep it (here: the last few, for the page). A real receiver
/// would also drop repeats by `webhook-id`, since delivery is at least once.
async fn portal_receive_webhook(State(state): State<PortalState>, headers: axum::http::HeaderMap, body: axum::body::Bytes) -> StatusCode {
    let Some(signer) = &state.signer else { return StatusCode::NOT_FOUND };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let (id, timestamp) = (header("webhook-id"), header("webhook-timestamp"));
    let Ok(sent_at) = timestamp.parse::<i64>() else { return StatusCode::BAD_REQUEST };
    if (chrono::Utc::now().timestamp() - sent_at).abs() > 5 * 60 {
        return StatusCode::BAD_REQUEST;
    }
    let expected = signer.sign(id, sent_at, &body);
    let signed = header("webhook-signature").split(' ').any(|signature| subtle::ConstantTimeEq::ct_eq(signature.as_bytes(), expected.as_bytes()).into());
    if !signed {
        return StatusCode::UNAUTHORIZED;
    }
    let Ok(event) = serde_json::from_slice::<serde_json::Value>(&body) else { return StatusCode::BAD_REQUEST };
    let mut received = state.received.lock().expect("portal events lock");
    if received.iter().any(|known| known["id"] == id) {
        return StatusCode::NO_CONTENT;
    }
    let connection = &event["data"]["connection"];
    received.push_front(serde_json::json!({
        "id": id,
        "type": event["type"],
        "account_name": connection["account_name"],
        "status": connection["status"],
        "workspace": event["data"]["workspace"],
        "received_at": chrono::Utc::now().to_rfc3339(),
    }));
    received.truncate(PORTAL_EVENTS_KEPT);
    StatusCode::NO_CONTENT
}

async fn portal_backend_events(State(state): State<PortalState>) -> Response {
    let received: Vec<serde_json::Value> = state.received.lock().expect("portal events lock").iter().cloned().collect();
    ([(header::CACHE_CONTROL, "no-store")], Json(serde_json::json!({ "events": received }))).into_response()
}

async fn portal_page(state: PortalState, file: &str) -> Response {
    let read = |name: &str| tokio::fs::read_to_string(Path::new(PORTAL_DIR).join(name));
    match (read(file).await, read("header.html").await) {
        (Ok(html), Ok(header)) => Html(html.replace("{{PORTAL_HEADER}}", header.trim_end()).replace("{{CONNECTIONS}}", &state.app_url)).into_response(),
        (Err(error), _) | (_, Err(error)) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{PORTAL_DIR}: {error}")).into_response(),
    }
}

async fn portal_asset(file: &str, content_type: &'static str) -> Response {
    match tokio::fs::read(Path::new(PORTAL_DIR).join(file)).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, content_type)], bytes).into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The portal's backend signs its signed-in user's session with the secret it shares with
/// Connections (`CONNECTIONS_SESSION_SECRET`); the page hands it to the app as `sessionToken`.
async fn portal_session_token(State(state): State<PortalState>) -> Response {
    let claims = Claims::new("portal-admin", "Pat Portal", "admin", "acme", 3600);
    match state.sessions.sign(&claims) {
        Ok(token) => ([(header::CACHE_CONTROL, "no-store")], Json(serde_json::json!({ "token": token, "expires_in": 3600 }))).into_response(),
        Err(error) => crate::error::ApiError::from(error).into_response(),
    }
}
