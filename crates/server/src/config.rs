//! Configuration from the environment (or matching flags). Every setting is checked at start, and a
//! missing or malformed one stops the server with a message naming it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use clap::Parser;
use url::Url;

use connections_wire::Dialect;

use crate::providers::spec::{self, Env};
use crate::providers::{ProviderSpec, StripeSettings};

mod stripe_modes;
use crate::secret::Secret;
pub use stripe_modes::StripeModeArgs;

#[derive(Parser, Debug, Clone, Default)]
#[command(name = "connections-server", version, about = "Connections: connect Stripe accounts to the BI product")]
pub struct Args {
    /// Address to listen on.
    #[arg(long, env = "CONNECTIONS_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: String,
    /// The URL users reach the app at (default: http://ADDR). Stripe redirects back under it.
    #[arg(long, env = "CONNECTIONS_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// `sqlite://path?mode=rwc` (default `sqlite://connections.db?mode=rwc`) or `postgres://…`.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// HS256 secret the host portal signs session tokens with (at least 32 bytes).
    #[arg(long, env = "CONNECTIONS_SESSION_SECRET", hide_env_values = true)]
    pub session_secret: Option<String>,
    /// The host portal's public key (PEM, or a path to a PEM file), RS256 or EdDSA: sessions are
    /// verified with it instead of the shared secret, so Connections cannot mint them.
    #[arg(long, env = "CONNECTIONS_SESSION_PUBLIC_KEY", hide_env_values = true)]
    pub session_public_key: Option<String>,
    /// The `aud` session tokens must carry.
    #[arg(long, env = "CONNECTIONS_SESSION_AUDIENCE", default_value = crate::session::DEFAULT_AUDIENCE)]
    pub session_audience: String,
    /// The `iss` session tokens must carry; unset: not checked.
    #[arg(long, env = "CONNECTIONS_SESSION_ISSUER")]
    pub session_issuer: Option<String>,
    /// Days of audit trail to keep; older events are deleted.
    #[arg(long, env = "CONNECTIONS_EVENT_RETENTION_DAYS", value_name = "CONNECTIONS_EVENT_RETENTION_DAYS", default_value = "400", value_parser = clap::value_parser!(u64).range(1..=36_500))]
    pub event_retention_days: u64,
    /// 32 random bytes, base64. Several, comma separated, to rotate: the first encrypts, all decrypt.
    #[arg(long, env = "CONNECTIONS_ENCRYPTION_KEY", hide_env_values = true)]
    pub encryption_key: Option<String>,
    /// A TOML file of data sources (`[providers.<id>]`, see the README). Without it, Stripe alone,
    /// from the `STRIPE_*` settings.
    #[arg(long, env = "CONNECTIONS_PROVIDERS")]
    pub providers: Option<String>,
    /// The providers file's text when it was already read (the demo fills in the stand-in's
    /// address); messages still name the file at `providers`.
    #[arg(skip)]
    pub providers_text: Option<String>,
    /// How Stripe is connected without a providers file: `apps` (Stripe Apps OAuth, the default) or
    /// `connect` (Connect OAuth, for platforms that already use it).
    #[arg(long, env = "STRIPE_OAUTH")]
    pub stripe_oauth: Option<String>,
    /// The Stripe App's or Connect platform's client id (`ca_…`).
    #[arg(long, env = "STRIPE_CLIENT_ID")]
    pub stripe_client_id: Option<String>,
    /// The platform's secret key (`sk_…` or restricted `rk_…`).
    #[arg(long, env = "STRIPE_SECRET_KEY", hide_env_values = true)]
    pub stripe_secret_key: Option<String>,
    /// Default: Stripe's own for the chosen `STRIPE_OAUTH` (the Apps install link, or Connect's
    /// authorize page). Test mode Stripe Apps have their own install link: put it here.
    #[arg(long, env = "STRIPE_AUTHORIZE_URL")]
    pub stripe_authorize_url: Option<String>,
    #[arg(long, env = "STRIPE_TOKEN_URL")]
    pub stripe_token_url: Option<String>,
    /// Connect only.
    #[arg(long, env = "STRIPE_DEAUTHORIZE_URL")]
    pub stripe_deauthorize_url: Option<String>,
    #[arg(long, env = "STRIPE_API_BASE")]
    pub stripe_api_base: Option<String>,
    /// Signing secret of the webhook endpoint (`whsec_…`); without it the webhook route is off.
    #[arg(long, env = "STRIPE_WEBHOOK_SECRET", hide_env_values = true)]
    pub stripe_webhook_secret: Option<String>,
    /// A Stripe App's client per mode, instead of `STRIPE_SECRET_KEY`'s one.
    #[command(flatten)]
    pub stripe_modes: StripeModeArgs,
    /// Seconds between background health checks of every connection; 0 turns them off.
    #[arg(long, env = "CONNECTIONS_HEALTH_CHECK_SECS", value_name = "CONNECTIONS_HEALTH_CHECK_SECS", default_value = "3600")]
    pub health_check_secs: u64,
    /// Days a connection's refresh token may sit unused before the background round renews it, so an
    /// idle connection never ages out at its provider (1–180).
    #[arg(long, env = "CONNECTIONS_KEEPALIVE_DAYS", value_name = "CONNECTIONS_KEEPALIVE_DAYS", default_value = "7", value_parser = clap::value_parser!(u64).range(1..=180))]
    pub keepalive_days: u64,
    /// Connect only: `read_only` or `read_write`.
    #[arg(long, env = "STRIPE_SCOPE", default_value = "read_only")]
    pub stripe_scope: String,
    /// Seconds to wait for Stripe before giving up on a request.
    #[arg(long, env = "STRIPE_TIMEOUT_SECS", value_name = "STRIPE_TIMEOUT_SECS", default_value = "10", value_parser = clap::value_parser!(u64).range(1..=120))]
    pub stripe_timeout_secs: u64,
    /// Connect attempts started, and grants posted, per session per minute.
    #[arg(long, env = "CONNECTIONS_RATE_LIMIT_PER_MINUTE", value_name = "CONNECTIONS_RATE_LIMIT_PER_MINUTE", default_value = "10", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub rate_limit_per_minute: u32,
    /// The built SPA (Trunk's `dist/`).
    #[arg(long, env = "CONNECTIONS_STATIC_DIR", default_value = "dist")]
    pub static_dir: String,
    /// CSP `frame-ancestors`: who may frame the app, e.g. `'self' https://admin.example.com`.
    #[arg(long, env = "CONNECTIONS_FRAME_ANCESTORS", default_value = "'self'")]
    pub frame_ancestors: String,
    /// Host pages the app is embedded in, comma separated: each is where the app's routes live on the
    /// host (its `basePath`), e.g. `https://portal.example.com/admin/connections`. Their origins may
    /// call the API (CORS) and frame the app; `<url>/<provider>/callback` is a return address that
    /// must also be registered with Stripe.
    #[arg(long, env = "CONNECTIONS_EMBED_URLS")]
    pub embed_urls: Option<String>,
    /// Run the demo: start the local Stripe stand-in, offer a demo sign-in, fill in every setting.
    #[arg(long, env = "CONNECTIONS_DEMO")]
    pub demo: bool,
    /// Where to serve Prometheus metrics (`GET /metrics`), e.g. `127.0.0.1:9464`; never on the public
    /// port. Unset: no metrics.
    #[arg(long, env = "CONNECTIONS_METRICS_ADDR")]
    pub metrics_addr: Option<String>,
    /// `text`, or `json` for one JSON object per line.
    #[arg(long, env = "CONNECTIONS_LOG_FORMAT", default_value = "text")]
    pub log_format: String,
    /// Without a command: serve.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Keys of the product's backends for `/service/v1/`, comma separated, each `name=<hex SHA-256
    /// of the key>`: the keys themselves are never configured here.
    #[arg(long, env = "CONNECTIONS_SERVICE_KEYS", hide_env_values = true)]
    pub service_keys: Option<String>,
    /// Where outgoing webhook events are POSTed (Standard Webhooks); unset: none are sent.
    #[arg(long, env = "CONNECTIONS_WEBHOOK_URL")]
    pub webhook_url: Option<String>,
    /// `whsec_` + base64 of the signing key (24 to 64 bytes); required with CONNECTIONS_WEBHOOK_URL.
    #[arg(long, env = "CONNECTIONS_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<String>,
    /// Milliseconds before a failed delivery is first retried (then doubling, up to two hours;
    /// retries stop after 30 hours). Default 5000.
    #[arg(long, env = "CONNECTIONS_WEBHOOK_FIRST_RETRY_MS")]
    pub webhook_first_retry_ms: Option<String>,
}

pub use crate::config_error::ConfigError;

fn invalid(setting: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError { setting: setting.to_owned(), problem: problem.into() }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    /// `None`: derived from the address actually bound.
    pub public_url: Option<Url>,
    pub database_url: String,
    /// `None` when sessions are verified with a public key only.
    pub session_secret: Option<Secret<String>>,
    pub(crate) session_public_key: Option<crate::session::PublicKey>,
    pub session_audience: String,
    pub session_issuer: Option<String>,
    pub event_retention: Duration,
    pub encryption_keys: Vec<Secret<[u8; 32]>>,
    /// Every data source, in the order the gallery shows them.
    pub providers: Vec<ProviderSpec>,
    /// `None`: serve the API only.
    pub static_dir: Option<PathBuf>,
    pub frame_ancestors: String,
    pub embed_urls: Vec<Url>,
    pub rate_limit_per_minute: u32,
    /// `None`: no background health checks.
    pub health_check_interval: Option<Duration>,
    /// How long a refresh token may sit unused before the background round renews it.
    pub keepalive: Duration,
    pub demo: bool,
    /// `None`: no metrics listener.
    pub metrics_addr: Option<SocketAddr>,
    /// Who may call `/service/v1/`; empty: nobody.
    pub(crate) service_keys: crate::service_keys::ServiceKeys,
    /// `None`: no outgoing webhooks (and no outbox rows).
    pub(crate) webhook: Option<crate::outbox::WebhookSettings>,
}

/// What `connections-server` does other than serve.
#[derive(clap::Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Re-encrypts every stored token with the newest key (the first of CONNECTIONS_ENCRYPTION_KEY),
    /// so that the older ones can be retired. Needs only DATABASE_URL and CONNECTIONS_ENCRYPTION_KEY;
    /// safe while servers run. Exits 1 when a token no configured key decrypts is left.
    Reseal,
}

/// `DATABASE_URL`, or the default.
pub fn database_url(args: &Args) -> String {
    args.database_url.clone().filter(|v| !v.trim().is_empty()).unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned())
}

/// `CONNECTIONS_ENCRYPTION_KEY`, required and valid.
pub fn encryption_keys(args: &Args) -> Result<Vec<Secret<[u8; 32]>>, ConfigError> {
    parse_encryption_keys(&required(&args.encryption_key, "CONNECTIONS_ENCRYPTION_KEY")?)
}

pub(crate) const DEFAULT_DATABASE_URL: &str = "sqlite://connections.db?mode=rwc";

fn required(value: &Option<String>, setting: &'static str) -> Result<String, ConfigError> {
    match value.as_deref().map(str::trim) {
        Some(value) if !value.is_empty() => Ok(value.to_owned()),
        _ => Err(invalid(setting, "is required")),
    }
}

/// `CONNECTIONS_EMBED_URLS`: http(s) URLs without query or fragment, kept without a trailing slash.
pub(crate) fn parse_embed_urls(value: &str) -> Result<Vec<Url>, ConfigError> {
    const SETTING: &str = "CONNECTIONS_EMBED_URLS";
    let mut urls = Vec::new();
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let mut url = http_url(part, SETTING)?;
        if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
            return Err(invalid(SETTING, format!("{part:?} must not have a query, fragment or user name")));
        }
        let path = url.path().trim_end_matches('/').to_owned();
        url.set_path(&path);
        urls.push(url);
    }
    Ok(urls)
}

fn http_url(value: &str, setting: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(value.trim()).map_err(|e| invalid(setting, format!("{value:?} is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(setting, format!("{value:?} must be an http or https URL")));
    }
    let local = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    if url.scheme() == "http" && !local {
        return Err(invalid(setting, format!("{value:?} must use https (plain http is only for localhost)")));
    }
    Ok(url)
}

/// Parses `CONNECTIONS_ENCRYPTION_KEY`: one or more base64 keys of exactly 32 bytes.
pub fn parse_encryption_keys(value: &str) -> Result<Vec<Secret<[u8; 32]>>, ConfigError> {
    const SETTING: &str = "CONNECTIONS_ENCRYPTION_KEY";
    let mut keys = Vec::new();
    for (index, part) in value.split(',').map(str::trim).enumerate() {
        let bytes = STANDARD.decode(part).map_err(|_| invalid(SETTING, format!("key {} is not valid base64", index + 1)))?;
        let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| invalid(SETTING, format!("key {} must be 32 bytes, got {}", index + 1, bytes.len())))?;
        keys.push(Secret::new(key));
    }
    Ok(keys)
}

impl TryFrom<Args> for Config {
    type Error = ConfigError;

    fn try_from(args: Args) -> Result<Self, ConfigError> {
        Config::from_args(args, &|name| std::env::var(name).ok())
    }
}

/// The providers: the file `CONNECTIONS_PROVIDERS` names, or Stripe alone from `STRIPE_*`.
fn providers(args: &Args, timeout: Duration, env: Env<'_>) -> Result<Vec<ProviderSpec>, ConfigError> {
    if let Some(path) = args.providers.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        let text = match &args.providers_text {
            Some(text) => text.clone(),
            None => std::fs::read_to_string(path).map_err(|e| invalid("CONNECTIONS_PROVIDERS", format!("{path}: {e}")))?,
        };
        return spec::parse_file(&text, path, env).map_err(|e| ConfigError { setting: e.location, problem: e.problem });
    }
    let dialect = match args.stripe_oauth.as_deref().map(str::trim) {
        None | Some("") | Some("apps") => Dialect::StripeApps,
        Some("connect") => Dialect::StripeConnect,
        Some(other) => return Err(invalid("STRIPE_OAUTH", format!("{other:?} must be apps or connect"))),
    };
    let optional_url = |value: &Option<String>, setting: &str| value.as_deref().filter(|v| !v.trim().is_empty()).map(|v| http_url(v, setting)).transpose();
    if dialect == Dialect::StripeApps && args.stripe_deauthorize_url.is_some() {
        return Err(invalid("STRIPE_DEAUTHORIZE_URL", "is for STRIPE_OAUTH=connect; Stripe Apps have no deauthorize call"));
    }
    let webhook_secret = match args.stripe_webhook_secret.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(secret) if secret.starts_with("whsec_") && secret.len() > 10 => Some(Secret::new(secret.to_owned())),
        Some(_) => return Err(invalid("STRIPE_WEBHOOK_SECRET", "must be a webhook signing secret starting with whsec_")),
    };
    let settings = StripeSettings {
        dialect,
        client_id: required(&args.stripe_client_id, "STRIPE_CLIENT_ID")?,
        // With a client per mode, each mode's key (and a `STRIPE_SECRET_KEY` as well is refused).
        secret_key: match args.stripe_modes.any() {
            true => args.stripe_secret_key.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(|key| Secret::new(key.to_owned())),
            false => Some(Secret::new(required(&args.stripe_secret_key, "STRIPE_SECRET_KEY")?)),
        },
        authorize_url: optional_url(&args.stripe_authorize_url, "STRIPE_AUTHORIZE_URL")?,
        token_url: optional_url(&args.stripe_token_url, "STRIPE_TOKEN_URL")?,
        deauthorize_url: optional_url(&args.stripe_deauthorize_url, "STRIPE_DEAUTHORIZE_URL")?,
        api_base: optional_url(&args.stripe_api_base, "STRIPE_API_BASE")?,
        scope: args.stripe_scope.trim().to_owned(),
        webhook_secret,
        modes: args.stripe_modes.settings()?,
        timeout,
    };
    let spec = settings.into_spec("stripe", "Stripe").map_err(|(setting, problem)| invalid(setting, problem))?;
    Ok(vec![spec])
}

/// PEM text, or the path of a PEM file; an Ed25519 or an RSA public key.
fn session_public_key(value: &str) -> Result<crate::session::PublicKey, ConfigError> {
    const SETTING: &str = "CONNECTIONS_SESSION_PUBLIC_KEY";
    let pem = if value.starts_with("-----BEGIN") {
        value.as_bytes().to_vec()
    } else {
        std::fs::read(value).map_err(|e| invalid(SETTING, format!("{value}: {e}")))?
    };
    use crate::session::{PublicKey, SessionKeys};
    for key in [PublicKey::Ed(pem.clone()), PublicKey::Rsa(pem)] {
        if SessionKeys::with_public_key(&key).is_ok() {
            return Ok(key);
        }
    }
    Err(invalid(SETTING, "is not an Ed25519 or RSA public key in PEM form"))
}

/// Demo mode mints admin sessions for anyone and stands in for every provider: it must never run
/// on an operator's data. Answers why it is refused, if it is.
pub fn demo_refusal(args: &Args) -> Option<String> {
    let set = |value: &Option<String>| value.as_deref().is_some_and(|v| !v.trim().is_empty());
    if set(&args.database_url) {
        return Some("DATABASE_URL is set: the demo keeps its own database under .demo/".into());
    }
    if set(&args.session_secret) || set(&args.session_public_key) {
        return Some("a session secret or key is set: the demo's sign-in would mint sessions with it".into());
    }
    if args.stripe_secret_key.as_deref().is_some_and(|key| key.contains("_live_")) {
        return Some("STRIPE_SECRET_KEY is a live key".into());
    }
    if set(&args.stripe_modes.stripe_live_secret_key) {
        return Some("STRIPE_LIVE_SECRET_KEY is set: the demo makes its own keys for the stand-in's modes".into());
    }
    if let Some(url) = args.public_url.as_deref().filter(|v| !v.trim().is_empty()) {
        let loopback = Url::parse(url.trim())
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .is_some_and(|host| host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback()) || host == "[::1]");
        if !loopback {
            return Some(format!("CONNECTIONS_PUBLIC_URL {url} is not a loopback address"));
        }
    }
    None
}

impl Config {
    /// Like `TryFrom<Args>`, reading the secrets a providers file names through `env`.
    pub(crate) fn from_args(args: Args, env: Env<'_>) -> Result<Self, ConfigError> {
        let addr = args.addr.trim().parse().map_err(|_| invalid("CONNECTIONS_ADDR", format!("{:?} is not an address like 127.0.0.1:8080", args.addr)))?;
        let public_url = match &args.public_url {
            Some(value) if !value.trim().is_empty() => {
                let url = http_url(value, "CONNECTIONS_PUBLIC_URL")?;
                if url.query().is_some() || url.fragment().is_some() {
                    return Err(invalid("CONNECTIONS_PUBLIC_URL", "must not have a query or fragment"));
                }
                Some(url)
            }
            _ => None,
        };
        let database_url = database_url(&args);
        if crate::storage::Backend::of(&database_url).is_none() {
            return Err(invalid("DATABASE_URL", "must be a sqlite: or postgres:// URL"));
        }
        let session_public_key = match args.session_public_key.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            None => None,
            Some(value) => Some(session_public_key(value)?),
        };
        let session_secret = match (&args.session_secret, &session_public_key) {
            (None, Some(_)) => None,
            _ => {
                let secret = required(&args.session_secret, "CONNECTIONS_SESSION_SECRET")
                    .map_err(|_| invalid("CONNECTIONS_SESSION_SECRET", "is required (or CONNECTIONS_SESSION_PUBLIC_KEY)"))?;
                if secret.len() < 32 {
                    return Err(invalid("CONNECTIONS_SESSION_SECRET", "must be at least 32 bytes"));
                }
                Some(Secret::new(secret))
            }
        };
        let session_audience = args.session_audience.trim().to_owned();
        if session_audience.is_empty() {
            return Err(invalid("CONNECTIONS_SESSION_AUDIENCE", "must not be empty"));
        }
        let encryption_keys = parse_encryption_keys(&required(&args.encryption_key, "CONNECTIONS_ENCRYPTION_KEY")?)?;
        // The numbers were checked (and their ranges) by clap as the arguments were parsed.
        let (event_retention_days, timeout_secs, health_check_secs) = (args.event_retention_days, args.stripe_timeout_secs, args.health_check_secs);
        let frame_ancestors = args.frame_ancestors.trim().to_owned();
        if frame_ancestors.is_empty() || frame_ancestors.contains([';', ',', '\n', '\r']) {
            return Err(invalid("CONNECTIONS_FRAME_ANCESTORS", "must be a space-separated list of CSP sources"));
        }
        // It goes into a header: visible ASCII and spaces only (an internationalised host in its
        // `xn--` form), or the server would have to serve without a policy.
        if !frame_ancestors.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
            return Err(invalid("CONNECTIONS_FRAME_ANCESTORS", "must be visible ASCII (write an internationalised host in its xn-- form)"));
        }
        let static_dir = PathBuf::from(args.static_dir.trim());
        if !static_dir.join("index.html").is_file() {
            return Err(invalid("CONNECTIONS_STATIC_DIR", format!("{} has no index.html; build the SPA first (trunk build --release)", static_dir.display())));
        }
        Ok(Config {
            addr,
            public_url,
            database_url,
            session_secret,
            session_public_key,
            session_audience,
            session_issuer: args.session_issuer.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned),
            event_retention: Duration::from_secs(event_retention_days * 86_400),
            encryption_keys,
            providers: providers(&args, Duration::from_secs(timeout_secs), env)?,
            static_dir: Some(static_dir),
            frame_ancestors,
            embed_urls: parse_embed_urls(args.embed_urls.as_deref().unwrap_or_default())?,
            rate_limit_per_minute: args.rate_limit_per_minute,
            health_check_interval: (health_check_secs > 0).then(|| Duration::from_secs(health_check_secs)),
            keepalive: Duration::from_secs(args.keepalive_days * 86_400),
            demo: args.demo,
            metrics_addr: crate::observability::parse_metrics_addr(args.metrics_addr.as_deref(), addr)?,
            service_keys: crate::service_keys::ServiceKeys::parse(args.service_keys.as_deref().unwrap_or_default())
                .map_err(|problem| invalid("CONNECTIONS_SERVICE_KEYS", problem))?,
            webhook: webhook_settings(&args)?,
        })
    }
}

/// `CONNECTIONS_WEBHOOK_URL` and its secret and retry delay; all or nothing.
fn webhook_settings(args: &Args) -> Result<Option<crate::outbox::WebhookSettings>, ConfigError> {
    let set = |value: &Option<String>| value.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    let (url, secret) = match (set(&args.webhook_url), set(&args.webhook_secret)) {
        (None, None) => return Ok(None),
        (Some(_), None) => return Err(invalid("CONNECTIONS_WEBHOOK_SECRET", "is required with CONNECTIONS_WEBHOOK_URL")),
        (None, Some(_)) => return Err(invalid("CONNECTIONS_WEBHOOK_URL", "is required with CONNECTIONS_WEBHOOK_SECRET")),
        (Some(url), Some(secret)) => (url, secret),
    };
    let url = http_url(&url, "CONNECTIONS_WEBHOOK_URL")?;
    let signer = crate::outbox::Signer::from_secret(&secret).map_err(|problem| invalid("CONNECTIONS_WEBHOOK_SECRET", problem))?;
    let first_retry_ms = match set(&args.webhook_first_retry_ms) {
        None => crate::outbox::DEFAULT_FIRST_RETRY_MS,
        Some(value) => value
            .parse()
            .ok()
            .filter(|ms| (1..=3_600_000).contains(ms))
            .ok_or_else(|| invalid("CONNECTIONS_WEBHOOK_FIRST_RETRY_MS", format!("{value:?} must be a whole number of milliseconds from 1 to 3600000")))?,
    };
    Ok(Some(crate::outbox::WebhookSettings { url, signer, first_retry_ms }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid_args(static_dir: &std::path::Path) -> Args {
        Args {
            addr: "127.0.0.1:0".into(),
            session_secret: Some("s".repeat(32)),
            encryption_key: Some(STANDARD.encode([7u8; 32])),
            stripe_client_id: Some("ca_123".into()),
            stripe_secret_key: Some("sk_test_123".into()),
            stripe_scope: "read_only".into(),
            stripe_timeout_secs: 10,
            static_dir: static_dir.display().to_string(),
            session_audience: "connections".into(),
            event_retention_days: 400,
            frame_ancestors: "'self'".into(),
            rate_limit_per_minute: 10,
            health_check_secs: 3600,
            keepalive_days: 7,
            ..Args::default()
        }
    }

    fn static_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.html"), "<!DOCTYPE html>").unwrap();
        dir
    }

    fn error_for(change: impl FnOnce(&mut Args)) -> String {
        let dir = static_dir();
        let mut args = valid_args(dir.path());
        change(&mut args);
        Config::try_from(args).expect_err("should be refused").to_string()
    }

    #[test]
    fn a_stripe_app_takes_a_client_per_mode_from_the_environment_instead_of_the_one() {
        let per_mode = |args: &mut Args| {
            args.stripe_secret_key = None;
            args.stripe_modes.stripe_live_secret_key = Some("rk_live_1".into());
            args.stripe_modes.stripe_test_secret_key = Some("sk_test_1".into());
            args.stripe_modes.stripe_test_authorize_url = Some("https://marketplace.stripe.com/oauth/v2/chnlink_1/authorize".into());
            args.stripe_modes.stripe_test_webhook_secret = Some("whsec_testmode1".into());
        };
        let dir = static_dir();
        let mut args = valid_args(dir.path());
        per_mode(&mut args);
        let config = Config::try_from(args).unwrap();
        let crate::providers::DialectSpec::StripeApps(stripe) = &config.providers[0].dialect else { panic!() };
        let modes: Vec<_> = stripe.modes.iter().map(|c| (c.mode, c.authorize_url.as_str(), c.webhook_secret.is_some())).collect();
        assert_eq!(
            modes,
            [
                (connections_wire::Mode::Live, crate::providers::stripe::STRIPE_APPS_AUTHORIZE_URL, false),
                (connections_wire::Mode::Test, "https://marketplace.stripe.com/oauth/v2/chnlink_1/authorize", true)
            ]
        );

        let both = error_for(|a| {
            per_mode(a);
            a.stripe_secret_key = Some("sk_test_9".into());
        });
        assert!(both.starts_with("STRIPE_SECRET_KEY: is for one client; with a client per mode"), "{both}");
        let no_link = error_for(|a| {
            per_mode(a);
            a.stripe_modes.stripe_test_authorize_url = None;
        });
        assert!(no_link.starts_with("STRIPE_TEST_AUTHORIZE_URL: is required"), "{no_link}");
        let link_alone = error_for(|a| a.stripe_modes.stripe_sandbox_authorize_url = Some("https://x.example/a".into()));
        assert!(link_alone.starts_with("STRIPE_SANDBOX_AUTHORIZE_URL: is set without STRIPE_SANDBOX_SECRET_KEY"), "{link_alone}");
        let swapped = error_for(|a| {
            per_mode(a);
            a.stripe_modes.stripe_live_secret_key = Some("sk_test_1".into());
        });
        assert!(swapped.starts_with("STRIPE_LIVE_SECRET_KEY: must be live mode's secret key"), "{swapped}");
        let bad_webhook = error_for(|a| {
            per_mode(a);
            a.stripe_modes.stripe_test_webhook_secret = Some("secret".into());
        });
        assert!(bad_webhook.starts_with("STRIPE_TEST_WEBHOOK_SECRET:"), "{bad_webhook}");
        let connect = error_for(|a| {
            per_mode(a);
            a.stripe_oauth = Some("connect".into());
        });
        assert!(connect.starts_with("STRIPE_LIVE_SECRET_KEY: a client per mode is for Stripe Apps"), "{connect}");
    }

    #[test]
    fn valid_settings_are_accepted_with_stripe_apps_and_its_real_urls_by_default() {
        let dir = static_dir();
        let config = Config::try_from(valid_args(dir.path())).unwrap();
        let spec = &config.providers[0];
        let crate::providers::DialectSpec::StripeApps(stripe) = &spec.dialect else { panic!("{spec:?}") };
        assert_eq!((spec.id.as_str(), spec.dialect.kind()), ("stripe", Dialect::StripeApps));
        assert_eq!(stripe.token_url.as_str(), "https://api.stripe.com/v1/oauth/token");
        assert_eq!(stripe.authorize_url.as_str(), "https://marketplace.stripe.com/oauth/v2/authorize");
        assert_eq!(config.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(config.encryption_keys.len(), 1);
    }

    #[test]
    fn stripe_connect_is_chosen_with_stripe_oauth_and_keeps_its_urls() {
        let dir = static_dir();
        let mut args = valid_args(dir.path());
        args.stripe_oauth = Some("connect".into());
        let config = Config::try_from(args).unwrap();
        let spec = &config.providers[0];
        let crate::providers::DialectSpec::StripeConnect(connect) = &spec.dialect else { panic!("{spec:?}") };
        assert_eq!(spec.dialect.kind(), Dialect::StripeConnect);
        assert_eq!(connect.stripe.token_url.as_str(), "https://connect.stripe.com/oauth/token");
        assert_eq!(connect.deauthorize_url.as_str(), "https://connect.stripe.com/oauth/deauthorize");
    }

    #[test]
    fn a_providers_file_replaces_the_stripe_settings_and_a_bad_one_names_provider_and_key() {
        let dir = static_dir();
        let file = dir.path().join("providers.toml");
        std::fs::write(
            &file,
            "[providers.crm]\nname = \"CRM\"\ndialect = \"oauth2\"\nclient_id = \"c\"\nclient_secret_env = \"CRM_SECRET\"\n\
            authorize_url = \"https://crm.example/a\"\ntoken_url = \"https://crm.example/t\"\naccount_url = \"https://crm.example/me\"\n\
            account_id_pointer = \"/id\"\naccount_name_pointer = \"/name\"\n",
        )
        .unwrap();
        let mut args = valid_args(dir.path());
        args.providers = Some(file.display().to_string());
        args.stripe_client_id = None;
        let env = |name: &str| (name == "CRM_SECRET").then(|| "s3cret".to_owned());
        let config = Config::from_args(args.clone(), &env).unwrap();
        assert_eq!(config.providers.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), ["crm"]);
        let error = Config::from_args(args, &|_| None).unwrap_err().to_string();
        assert!(error.contains("provider \"crm\", key client_secret_env: the environment variable CRM_SECRET"), "{error}");
    }

    /// The demo hands over the file's text with the stand-in's address filled in, so no resolved
    /// copy is written anywhere; a mistake in it still names the file the user wrote.
    #[test]
    fn a_providers_text_already_read_is_parsed_and_its_mistakes_name_the_file() {
        let dir = static_dir();
        let mut args = valid_args(dir.path());
        args.providers = Some("examples/not-on-disk.toml".into());
        args.providers_text = Some(
            "[providers.crm]\nname = \"CRM\"\ndialect = \"oauth2\"\nclient_id = \"c\"\nclient_secret_env = \"CRM_SECRET\"\n\
            authorize_url = \"http://127.0.0.1:9/a\"\ntoken_url = \"http://127.0.0.1:9/t\"\naccount_url = \"http://127.0.0.1:9/me\"\n\
            account_id_pointer = \"/id\"\naccount_name_pointer = \"/name\"\n"
                .into(),
        );
        let env = |name: &str| (name == "CRM_SECRET").then(|| "s3cret".to_owned());
        let config = Config::from_args(args.clone(), &env).unwrap();
        assert_eq!(config.providers[0].id.as_str(), "crm");
        args.providers_text = Some("[providers.crm]\nname = 7\n".into());
        let error = Config::from_args(args, &env).unwrap_err().to_string();
        assert!(error.contains("examples/not-on-disk.toml"), "{error}");
    }

    /// The number settings are refused by clap as the arguments are parsed (the same values as before
    /// were checked in `Config::from_args`), naming the setting.
    #[test]
    fn number_settings_out_of_range_are_refused_naming_the_setting() {
        for (flag, bad) in [("--event-retention-days", "0"), ("--stripe-timeout-secs", "0"), ("--rate-limit-per-minute", "many"), ("--health-check-secs", "-1")]
        {
            let error = Args::try_parse_from(["connections-server".to_owned(), format!("{flag}={bad}")]).unwrap_err().to_string();
            assert!(error.contains(flag), "{error}");
            // An operator who set the environment variable finds its name too.
            let variable = format!("CONNECTIONS_{}", flag.trim_start_matches("--").replace('-', "_").to_uppercase()).replace("CONNECTIONS_STRIPE_", "STRIPE_");
            assert!(error.contains(&variable), "{error}");
        }
        for (flag, good) in
            [("--event-retention-days", "36500"), ("--stripe-timeout-secs", "120"), ("--rate-limit-per-minute", "100000"), ("--health-check-secs", "0")]
        {
            assert!(Args::try_parse_from(["connections-server".to_owned(), format!("{flag}={good}")]).is_ok(), "{flag}={good}");
        }
    }

    #[test]
    fn the_keepalive_is_seven_days_unless_set_within_its_range() {
        for bad in ["0", "181", "-1", "week"] {
            let error = Args::try_parse_from(["connections-server".to_owned(), format!("--keepalive-days={bad}")]).unwrap_err().to_string();
            assert!(error.contains("CONNECTIONS_KEEPALIVE_DAYS"), "{error}");
        }
        assert_eq!(Args::try_parse_from(["connections-server"]).unwrap().keepalive_days, 7);
        assert_eq!(Args::try_parse_from(["connections-server", "--keepalive-days=180"]).unwrap().keepalive_days, 180);
        let dir = static_dir();
        let args = Args { keepalive_days: 3, ..valid_args(dir.path()) };
        assert_eq!(Config::from_args(args, &|_| None).unwrap().keepalive, Duration::from_secs(3 * 86_400));
    }

    #[test]
    fn each_bad_setting_is_named_in_the_error() {
        assert!(error_for(|a| a.addr = "localhost".into()).starts_with("CONNECTIONS_ADDR:"));
        assert!(error_for(|a| a.session_secret = None).starts_with("CONNECTIONS_SESSION_SECRET: is required"));
        assert!(error_for(|a| a.session_public_key = Some("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----".into()))
            .starts_with("CONNECTIONS_SESSION_PUBLIC_KEY:"));
        assert!(error_for(|a| a.session_audience = " ".into()).starts_with("CONNECTIONS_SESSION_AUDIENCE:"));
        assert!(error_for(|a| a.session_secret = Some("short".into())).starts_with("CONNECTIONS_SESSION_SECRET:"));
        assert!(error_for(|a| a.encryption_key = Some("not base64!".into())).contains("not valid base64"));
        assert!(error_for(|a| a.encryption_key = Some(STANDARD.encode([1u8; 16]))).contains("must be 32 bytes, got 16"));
        assert!(error_for(|a| a.stripe_client_id = Some("123".into())).starts_with("STRIPE_CLIENT_ID:"));
        assert!(error_for(|a| a.stripe_secret_key = Some("pk_test_1".into())).starts_with("STRIPE_SECRET_KEY:"));
        assert!(error_for(|a| a.stripe_token_url = Some("ftp://x".into())).starts_with("STRIPE_TOKEN_URL:"));
        assert!(error_for(|a| a.stripe_api_base = Some("http://api.example.com".into())).contains("must use https"));
        assert!(error_for(|a| {
            a.stripe_oauth = Some("connect".into());
            a.stripe_scope = "admin".into();
        })
        .starts_with("STRIPE_SCOPE:"));
        assert!(error_for(|a| a.stripe_oauth = Some("oauth".into())).starts_with("STRIPE_OAUTH:"));
        assert!(error_for(|a| a.stripe_deauthorize_url = Some("https://x.example".into())).starts_with("STRIPE_DEAUTHORIZE_URL:"));
        assert!(error_for(|a| a.providers = Some("/nonexistent/providers.toml".into())).starts_with("CONNECTIONS_PROVIDERS:"));
        assert!(error_for(|a| a.database_url = Some("mysql://x".into())).starts_with("DATABASE_URL:"));
        assert!(error_for(|a| a.public_url = Some("https://x.example/?a=1".into())).starts_with("CONNECTIONS_PUBLIC_URL:"));
        assert!(error_for(|a| a.frame_ancestors = "'self'; script-src *".into()).starts_with("CONNECTIONS_FRAME_ANCESTORS:"));
        assert!(error_for(|a| a.frame_ancestors = "https://pörtal.example".into()).starts_with("CONNECTIONS_FRAME_ANCESTORS:"));
        assert!(error_for(|a| a.frame_ancestors = "'self'\thttps://a.example".into()).starts_with("CONNECTIONS_FRAME_ANCESTORS:"));
        assert!(error_for(|a| a.static_dir = "/nonexistent".into()).starts_with("CONNECTIONS_STATIC_DIR:"));
        assert!(error_for(|a| a.stripe_webhook_secret = Some("secret".into())).starts_with("STRIPE_WEBHOOK_SECRET:"));
        assert!(error_for(|a| a.embed_urls = Some("portal.example.com".into())).starts_with("CONNECTIONS_EMBED_URLS:"));
        assert!(error_for(|a| a.embed_urls = Some("http://portal.example.com/admin".into())).contains("must use https"));
        assert!(error_for(|a| a.embed_urls = Some("https://portal.example.com/admin?x=1".into())).starts_with("CONNECTIONS_EMBED_URLS:"));
    }

    #[test]
    fn embed_urls_are_a_list_without_trailing_slashes() {
        let urls = parse_embed_urls(" https://portal.example.com/admin/connections/ ,http://localhost:9000/x,").unwrap();
        let urls: Vec<_> = urls.iter().map(|u| u.as_str().to_owned()).collect();
        assert_eq!(urls, ["https://portal.example.com/admin/connections", "http://localhost:9000/x"]);
        assert!(parse_embed_urls("").unwrap().is_empty());
    }

    #[test]
    fn several_keys_can_be_given_for_rotation() {
        let value = format!("{},{}", STANDARD.encode([1u8; 32]), STANDARD.encode([2u8; 32]));
        let keys = parse_encryption_keys(&value).unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[1].expose(), &[2u8; 32]);
    }

    #[test]
    fn secrets_do_not_appear_in_debug_output() {
        let dir = static_dir();
        let config = Config::try_from(valid_args(dir.path())).unwrap();
        let printed = format!("{config:?}");
        assert!(!printed.contains("sk_test_123"));
        assert!(!printed.contains(&"s".repeat(32)));
    }

    #[test]
    fn outgoing_webhook_and_service_key_settings_are_checked() {
        let secret = format!("whsec_{}", STANDARD.encode([1u8; 32]));
        assert!(error_for(|a| a.webhook_url = Some("http://127.0.0.1:9/hooks".into())).contains("CONNECTIONS_WEBHOOK_SECRET: is required"));
        assert!(error_for(|a| a.webhook_secret = Some(secret.clone())).contains("CONNECTIONS_WEBHOOK_URL: is required"));
        let hook = |a: &mut Args, url: &str, secret: &str| {
            a.webhook_url = Some(url.into());
            a.webhook_secret = Some(secret.into());
        };
        assert!(error_for(|a| hook(a, "https://bi.example/hooks", "plain")).contains("CONNECTIONS_WEBHOOK_SECRET: must start with whsec_"));
        assert!(error_for(|a| hook(a, "http://bi.example/hooks", &secret)).contains("CONNECTIONS_WEBHOOK_URL"));
        assert!(error_for(|a| {
            hook(a, "https://bi.example/hooks", &secret);
            a.webhook_first_retry_ms = Some("0".into());
        })
        .contains("CONNECTIONS_WEBHOOK_FIRST_RETRY_MS"));
        assert!(error_for(|a| a.service_keys = Some("sync=not-a-digest".into())).contains("CONNECTIONS_SERVICE_KEYS: entry 1 (sync)"));
        let dir = static_dir();
        let mut args = valid_args(dir.path());
        hook(&mut args, "https://bi.example/hooks", &secret);
        let config = Config::try_from(args).unwrap();
        assert_eq!(config.webhook.unwrap().first_retry_ms, crate::outbox::DEFAULT_FIRST_RETRY_MS);
        assert!(config.service_keys.is_empty());
    }
}
