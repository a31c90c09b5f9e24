//! HTTP to the Connections server: on this page's origin with the session cookie (standalone), or at
//! the host's `apiBase` with the host's session token (embedded).

use std::cell::RefCell;

use connections_wire::{
    paths, ConnectionDetail, ConnectionList, ConnectionView, DataCheck, DemoSignInRequest, GrantRequest, GrantResponse, InstallRequest, PendingInstall,
    Problem, ProviderList, Role, SessionInfo, StartAttemptRequest, StartAttemptResponse, WebhookDelivery,
};
use gloo_net::http::{Request, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::JsCast;

use crate::catalog::Catalog;
use crate::endpoints;
pub use crate::errors::ApiError;

/// How the host supplies the session: a token string, or a function returning one (or a promise of
/// one), called before each request so the host can refresh it.
#[derive(Clone)]
pub enum SessionToken {
    Value(String),
    Provider(js_sys::Function),
}

#[derive(Clone, Default)]
struct ApiConfig {
    base: String,
    token: Option<SessionToken>,
}

thread_local! {
    static CONFIG: RefCell<ApiConfig> = RefCell::new(ApiConfig::default());
}

/// Set once at mount, before anything is fetched.
pub fn configure(base: String, token: Option<SessionToken>) {
    CONFIG.with(|config| *config.borrow_mut() = ApiConfig { base, token });
}

/// Whether the host page supplies the session (then signing out is the host's business).
pub fn host_supplies_session() -> bool {
    CONFIG.with(|config| config.borrow().token.is_some())
}

/// A path the server serves (e.g. a provider's logo), on the API's origin when embedded.
pub fn asset_url(path: &str) -> String {
    if path.starts_with('/') {
        CONFIG.with(|config| format!("{}{path}", config.borrow().base))
    } else {
        path.to_owned()
    }
}

async fn bearer(source: SessionToken) -> Result<String, ApiError> {
    let value = match source {
        SessionToken::Value(token) => return Ok(token),
        SessionToken::Provider(function) => {
            let result = function.call0(&wasm_bindgen::JsValue::NULL).map_err(|_| ApiError::SessionToken)?;
            match result.dyn_into::<js_sys::Promise>() {
                Ok(promise) => wasm_bindgen_futures::JsFuture::from(promise).await.map_err(|_| ApiError::SessionToken)?,
                Err(value) => value,
            }
        }
    };
    value.as_string().filter(|t| !t.trim().is_empty()).ok_or(ApiError::SessionToken)
}

/// The methods the server's API answers: a closed set, so a misspelt one cannot compile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    Get,
    Post,
    Delete,
}

impl Method {
    fn builder(self, url: &str) -> RequestBuilder {
        match self {
            Method::Get => Request::get(url),
            Method::Post => Request::post(url),
            Method::Delete => Request::delete(url),
        }
    }
}

/// A request to the server with the configured base and credentials.
async fn request(method: Method, path: &str) -> Result<RequestBuilder, ApiError> {
    let config = CONFIG.with(|config| config.borrow().clone());
    let url = format!("{}{path}", config.base);
    let builder = method.builder(&url).header("Accept", "application/json");
    Ok(match config.token {
        Some(source) => builder.header("Authorization", &format!("Bearer {}", bearer(source).await?)).credentials(web_sys::RequestCredentials::Omit),
        // Another origin's cookie only travels when asked for (and the server's CORS allows it).
        None if !config.base.is_empty() => builder.credentials(web_sys::RequestCredentials::Include),
        None => builder,
    })
}

async fn read<T: DeserializeOwned>(response: Response) -> Result<T, ApiError> {
    let status = response.status();
    if response.ok() {
        return response.json::<T>().await.map_err(|_| ApiError::UnexpectedResponse(status));
    }
    match response.json::<Problem>().await {
        Ok(problem) => Err(ApiError::Problem(problem)),
        Err(_) => Err(ApiError::UnexpectedResponse(status)),
    }
}

async fn get<T: DeserializeOwned>(path: &str) -> Result<T, ApiError> {
    let response = request(Method::Get, path).await?.send().await.map_err(|_| ApiError::Network)?;
    read(response).await
}

async fn post<B: Serialize, T: DeserializeOwned>(path: &str, body: &B) -> Result<T, ApiError> {
    let response = request(Method::Post, path).await?.json(body).map_err(|_| ApiError::Network)?.send().await.map_err(|_| ApiError::Network)?;
    read(response).await
}

pub async fn session() -> Result<SessionInfo, ApiError> {
    get(paths::SESSION).await
}

/// Demo only: as the administrator or viewer of one of `DEMO_WORKSPACES`.
pub async fn demo_sign_in(role: Role, workspace: &str) -> Result<SessionInfo, ApiError> {
    post(paths::DEMO_SESSION, &DemoSignInRequest { role, workspace: Some(workspace.to_owned()) }).await
}

pub async fn demo_sign_out() -> Result<(), ApiError> {
    let response = request(Method::Delete, paths::DEMO_SESSION).await?.send().await.map_err(|_| ApiError::Network)?;
    if response.ok() {
        Ok(())
    } else {
        Err(ApiError::UnexpectedResponse(response.status()))
    }
}

/// The providers the server offers. Pages act only on a provider listed here.
pub async fn catalog() -> Result<Catalog, ApiError> {
    get::<ProviderList>(paths::PROVIDERS).await.map(|list| Catalog::new(list.providers))
}

thread_local! {
    /// The last list answered with an `ETag`, with that tag and the API base it came from.
    static LAST_LIST: RefCell<Option<(String, String, Vec<ConnectionView>)>> = const { RefCell::new(None) };
}

/// The table's rows. Polled: the request carries the last list's `ETag` in `If-None-Match`, and a
/// `304 Not Modified` (nothing changed) reuses that list without a body or a parse.
pub async fn connections() -> Result<Vec<ConnectionView>, ApiError> {
    let base = CONFIG.with(|config| config.borrow().base.clone());
    let last_etag = LAST_LIST.with(|last| last.borrow().as_ref().filter(|(at, _, _)| *at == base).map(|(_, etag, _)| etag.clone()));
    let mut builder = request(Method::Get, paths::CONNECTIONS).await?;
    if let Some(etag) = &last_etag {
        builder = builder.header("If-None-Match", etag);
    }
    let response = builder.send().await.map_err(|_| ApiError::Network)?;
    if response.status() == 304 {
        let reused = LAST_LIST
            .with(|last| last.borrow().as_ref().filter(|(at, etag, _)| *at == base && Some(etag) == last_etag.as_ref()).map(|(_, _, list)| list.clone()));
        return reused.ok_or(ApiError::UnexpectedResponse(304));
    }
    let etag = response.headers().get("etag");
    let list = read::<ConnectionList>(response).await?.connections;
    LAST_LIST.with(|last| *last.borrow_mut() = etag.map(|etag| (base, etag, list.clone())));
    Ok(list)
}

/// Registers the attempt; the answer says where to send the browser.
pub async fn start_attempt(provider: &str, request: &StartAttemptRequest) -> Result<StartAttemptResponse, ApiError> {
    post(&endpoints::attempts(provider)?, request).await
}

/// `201` with `outcome: created`, or `200` with `outcome: renewed`.
pub async fn send_grant(provider: &str, request: &GrantRequest) -> Result<GrantResponse, ApiError> {
    post(&endpoints::grants(provider)?, request).await
}

pub async fn connection(id: &str) -> Result<ConnectionDetail, ApiError> {
    get(&endpoints::connection(id)?).await
}

/// State-changing calls without a body still send `{}` as JSON: the server requires the content type.
fn empty() -> Empty {
    Empty {}
}

/// `{}`.
#[derive(Serialize)]
struct Empty {}

pub async fn disconnect(id: &str) -> Result<ConnectionView, ApiError> {
    post(&endpoints::disconnect(id)?, &empty()).await
}

pub async fn check(id: &str) -> Result<ConnectionView, ApiError> {
    post(&endpoints::check(id)?, &empty()).await
}

/// Reads one page of each data table with the connection's access (`Test data access`).
pub async fn data_check(id: &str) -> Result<DataCheck, ApiError> {
    post(&endpoints::data_check(id)?, &empty()).await
}

/// Sends an outgoing webhook event again now.
pub async fn retry_delivery(id: &str) -> Result<WebhookDelivery, ApiError> {
    post(&endpoints::retry_delivery(id)?, &empty()).await
}

pub async fn start_install(provider: &str, code: &str) -> Result<PendingInstall, ApiError> {
    post(&endpoints::installs(provider)?, &InstallRequest { code: code.into() }).await
}

pub async fn confirm_install(provider: &str, id: &str) -> Result<GrantResponse, ApiError> {
    post(&endpoints::confirm_install(provider, id)?, &empty()).await
}

pub async fn decline_install(provider: &str, id: &str) -> Result<(), ApiError> {
    let builder = request(Method::Post, &endpoints::decline_install(provider, id)?).await?;
    let response = builder.json(&empty()).map_err(|_| ApiError::Network)?.send().await.map_err(|_| ApiError::Network)?;
    if response.ok() {
        return Ok(());
    }
    match response.json::<Problem>().await {
        Ok(problem) => Err(ApiError::Problem(problem)),
        Err(_) => Err(ApiError::UnexpectedResponse(response.status())),
    }
}
