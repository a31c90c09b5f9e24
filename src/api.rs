//! HTTP to the Connections server: on this page's origin with the session cookie (standalone), or at
//! the host's `apiBase` with the host's session token (embedded).

use std::cell::RefCell;

use connections_wire::{
    paths, ConnectLinkCreated, ConnectLinkList, ConnectLinkView, ConnectionDetail, ConnectionList, ConnectionView, DataCheck, DemoSignInRequest, GrantRequest,
    GrantResponse, InstallRequest, KeyConnectRequest, LinkAttemptRequest, LinkGrantRequest, LinkGrantResponse, LinkPage, LinkToken, NewConnectLink,
    PendingInstall, Problem, ProviderList, Role, SessionInfo, StartAttemptRequest, StartAttemptResponse, WebhookDelivery,
};
use gloo_net::http::{Request, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::JsCast;

use crate::catalog::Catalog;
use crate::endpoints;
pub use crate::errors::ApiError;
use crate::json;

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
    session_changed();
}

thread_local! {
    /// Which session requests carry now: a count of the changes made inside the app (a mount with the
    /// host's token, a sign-in, a sign-out). The cookie itself is out of the app's reach.
    static SESSION: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// The session requests carry now. An answer obtained under another one is never shown: it belongs
/// to whoever was signed in before.
pub fn current_session() -> u64 {
    SESSION.with(std::cell::Cell::get)
}

fn session_changed() {
    SESSION.with(|session| session.set(session.get() + 1));
}

/// What a request carried, to tell afterwards whether it is still the page's session.
struct Carried {
    session: u64,
    token: Option<String>,
}

impl Carried {
    /// After a `401`, whether to ask again: the page's session is no longer the one this request
    /// carried. After a sign-in, a sign-out or a new mount, a read is asked again under the new
    /// session (a change is never made for someone else); when the host's token provider hands out
    /// another token (it renewed it), any request is.
    async fn ask_again(&self, method: Method) -> bool {
        if self.session != current_session() {
            return method == Method::Get;
        }
        match (&self.token, CONFIG.with(|config| config.borrow().token.clone())) {
            (Some(sent), Some(source @ SessionToken::Provider(_))) => bearer(source).await.is_ok_and(|now| now != *sent),
            _ => false,
        }
    }
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

/// A request to the server with the configured base and the session's credentials as they are now.
async fn request(method: Method, path: &str) -> Result<(RequestBuilder, Carried), ApiError> {
    let session = current_session();
    let config = CONFIG.with(|config| config.borrow().clone());
    let url = format!("{}{path}", config.base);
    let builder = method.builder(&url).header("Accept", "application/json");
    Ok(match config.token {
        Some(source) => {
            let token = bearer(source).await?;
            let builder = builder.header("Authorization", &format!("Bearer {token}")).credentials(web_sys::RequestCredentials::Omit);
            (builder, Carried { session, token: Some(token) })
        }
        // Another origin's cookie only travels when asked for (and the server's CORS allows it).
        None if !config.base.is_empty() => (builder.credentials(web_sys::RequestCredentials::Include), Carried { session, token: None }),
        None => (builder, Carried { session, token: None }),
    })
}

/// Sends a request; `finish` adds what is particular to it (a header, the body). A `401` says the
/// session ended only when the request carried the page's session: otherwise it is asked again, once,
/// with the session the page has now (`Carried::ask_again`).
// One copy in the wasm, whoever calls: `finish` is a trait object, not a type parameter.
async fn send(method: Method, path: &str, finish: &dyn Fn(RequestBuilder) -> Result<Request, ApiError>) -> Result<Response, ApiError> {
    let mut again = true;
    loop {
        let (builder, carried) = request(method, path).await?;
        let response = finish(builder)?.send().await.map_err(|_| ApiError::Network)?;
        if response.status() != 401 || !again || !carried.ask_again(method).await {
            return Ok(response);
        }
        again = false;
    }
}

fn no_body(builder: RequestBuilder) -> Result<Request, ApiError> {
    builder.build().map_err(|_| ApiError::Network)
}

/// The answer's body parsed by the browser (`Response.json()`, so `JSON.parse`) and read into `T`.
async fn body<T: DeserializeOwned>(response: &web_sys::Response) -> Option<T> {
    let parsed = wasm_bindgen_futures::JsFuture::from(response.json().ok()?).await.ok()?;
    json::from_js(parsed)
}

/// A problem+json answer as `ApiError::Problem`, anything else as what it is not.
async fn problem(response: Response) -> ApiError {
    let response = web_sys::Response::from(response);
    problem_from(body::<Problem>(&response).await, response.status())
}

fn problem_from(problem: Option<Problem>, status: u16) -> ApiError {
    match problem {
        Some(problem) => ApiError::Problem(Box::new(problem)),
        None => ApiError::UnexpectedResponse(status),
    }
}

/// Where the standalone shell (`index.html`) keeps the answers it asked for while the wasm
/// downloaded: opened on the table, the session, the providers and the rows, read by `JSON.parse`
/// already, so the app's first render has them in hand and draws the table in one go.
const EARLY_ANSWERS: &str = "__connectionsEarlyAnswers";

/// One of the shell's answers: its status, `ETag` and parsed body.
struct EarlyAnswer {
    status: u16,
    etag: Option<String>,
    body: wasm_bindgen::JsValue,
}

impl EarlyAnswer {
    /// The shell's answer for `path`, taken once. `None` when there is none (embedded, opened on
    /// another page, taken already, forgotten at a sign-in) or it is not one (its request failed, or
    /// the session changed while it was awaited): then the app asks itself.
    async fn take(path: &str) -> Option<EarlyAnswer> {
        use js_sys::Reflect;
        let standalone = CONFIG.with(|config| config.borrow().base.is_empty() && config.borrow().token.is_none());
        let answers = Reflect::get(&js_sys::global(), &EARLY_ANSWERS.into()).ok().filter(|a| standalone && a.is_object())?;
        let key = wasm_bindgen::JsValue::from_str(path);
        let promise = Reflect::get(&answers, &key).ok()?.dyn_into::<js_sys::Promise>().ok()?;
        Reflect::delete_property(answers.unchecked_ref::<js_sys::Object>(), &key).ok()?;
        let session = current_session();
        let answer = wasm_bindgen_futures::JsFuture::from(promise).await.ok()?;
        let field = |name: &str| Reflect::get(&answer, &name.into()).unwrap_or_default();
        let status = field("status").as_f64().filter(|s| (100.0..600.0).contains(s))? as u16;
        (session == current_session()).then(|| EarlyAnswer { status, etag: field("etag").as_string(), body: field("body") })
    }

    fn read<T: DeserializeOwned>(self) -> Result<T, ApiError> {
        if !(200..300).contains(&self.status) {
            return Err(problem_from(json::from_js(self.body), self.status));
        }
        json::from_js(self.body).ok_or(ApiError::UnexpectedResponse(self.status))
    }
}

/// After a sign-in or a sign-out the shell's answers are someone else's.
fn forget_early_answers() {
    let _ = js_sys::Reflect::delete_property(js_sys::global().unchecked_ref::<js_sys::Object>(), &EARLY_ANSWERS.into());
}

async fn read<T: DeserializeOwned>(response: Response) -> Result<T, ApiError> {
    if !response.ok() {
        return Err(problem(response).await);
    }
    let response = web_sys::Response::from(response);
    body(&response).await.ok_or(ApiError::UnexpectedResponse(response.status()))
}

/// `body` as the request's JSON.
fn with_json(builder: RequestBuilder, body: &(impl Serialize + ?Sized)) -> Result<Request, ApiError> {
    let text = json::to_string(body).ok_or(ApiError::Network)?;
    builder.header("Content-Type", "application/json").body(text).map_err(|_| ApiError::Network)
}

async fn get<T: DeserializeOwned>(path: &str) -> Result<T, ApiError> {
    read(send(Method::Get, path, &no_body).await?).await
}

async fn post<B: Serialize, T: DeserializeOwned>(path: &str, body: &B) -> Result<T, ApiError> {
    read(send(Method::Post, path, &|builder| with_json(builder, body)).await?).await
}

pub async fn session() -> Result<SessionInfo, ApiError> {
    match EarlyAnswer::take(paths::SESSION).await {
        Some(answer) => answer.read(),
        None => get(paths::SESSION).await,
    }
}

/// Demo only: as the administrator or viewer of one of `DEMO_WORKSPACES`.
pub async fn demo_sign_in(role: Role, workspace: &str) -> Result<SessionInfo, ApiError> {
    forget_early_answers();
    let signed_in = post(paths::DEMO_SESSION, &DemoSignInRequest { role, workspace: Some(workspace.to_owned()) }).await;
    session_changed();
    signed_in
}

pub async fn demo_sign_out() -> Result<(), ApiError> {
    forget_early_answers();
    let response = send(Method::Delete, paths::DEMO_SESSION, &no_body).await;
    session_changed();
    let response = response?;
    if response.ok() {
        Ok(())
    } else {
        Err(ApiError::UnexpectedResponse(response.status()))
    }
}

/// The providers the server offers. Pages act only on a provider listed here.
pub async fn catalog() -> Result<Catalog, ApiError> {
    let list = match EarlyAnswer::take(paths::PROVIDERS).await {
        Some(answer) => answer.read::<ProviderList>(),
        None => get(paths::PROVIDERS).await,
    };
    list.map(|list| Catalog::new(list.providers))
}

/// A list answered with an `ETag`: the session it came from, the tag, the rows. (A new API base comes
/// with a new mount, so with a new session.)
struct LastList {
    session: u64,
    etag: String,
    rows: Vec<ConnectionView>,
}

thread_local! {
    static LAST_LIST: RefCell<Option<LastList>> = const { RefCell::new(None) };
}

/// The table's rows. Polled: the request carries the last list's `ETag` in `If-None-Match`, and a
/// `304 Not Modified` (nothing changed) reuses that list without a body or a parse. A list is only
/// reused under the session it was answered for.
pub async fn connections() -> Result<Vec<ConnectionView>, ApiError> {
    let session = current_session();
    let last_etag = LAST_LIST.with(|last| last.borrow().as_ref().filter(|l| l.session == session).map(|l| l.etag.clone()));
    if last_etag.is_none() {
        if let Some(answer) = EarlyAnswer::take(paths::CONNECTIONS).await {
            let etag = answer.etag.clone();
            let rows = answer.read::<ConnectionList>()?.connections;
            remember_list(session, etag, &rows);
            return Ok(rows);
        }
    }
    let response = send(Method::Get, paths::CONNECTIONS, &|builder| match &last_etag {
        Some(etag) => no_body(builder.header("If-None-Match", etag)),
        None => no_body(builder),
    })
    .await?;
    if response.status() == 304 {
        let reused =
            LAST_LIST.with(|last| last.borrow().as_ref().filter(|l| l.session == session && Some(&l.etag) == last_etag.as_ref()).map(|l| l.rows.clone()));
        return reused.ok_or(ApiError::UnexpectedResponse(304));
    }
    let etag = response.headers().get("etag");
    let rows = read::<ConnectionList>(response).await?.connections;
    remember_list(session, etag, &rows);
    Ok(rows)
}

fn remember_list(session: u64, etag: Option<String>, rows: &[ConnectionView]) {
    LAST_LIST.with(|last| *last.borrow_mut() = etag.map(|etag| LastList { session, etag, rows: rows.to_vec() }));
}

/// Registers the attempt; the answer says where to send the browser.
pub async fn start_attempt(provider: &str, request: &StartAttemptRequest) -> Result<StartAttemptResponse, ApiError> {
    post(&endpoints::attempts(provider)?, request).await
}

/// `201` with `outcome: created`, or `200` with `outcome: renewed`.
pub async fn send_grant(provider: &str, request: &GrantRequest) -> Result<GrantResponse, ApiError> {
    post(&endpoints::grants(provider)?, request).await
}

/// A pasted key, tested and stored by the server: `201` created, `200` replaced, or a `key_refused`
/// problem with what each table said. The answer is read as a grant's (its `tables` are on the
/// connection's page): one reader less in the wasm.
pub async fn connect_key(provider: &str, request: &KeyConnectRequest) -> Result<GrantResponse, ApiError> {
    post(&endpoints::keys(provider)?, request).await
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
    let response = send(Method::Post, &endpoints::decline_install(provider, id)?, &|builder| with_json(builder, &empty())).await?;
    if response.ok() {
        return Ok(());
    }
    Err(problem(response).await)
}

/// Makes a connect link; the answer's address holds the token, shown this once.
pub async fn create_link(request: &NewConnectLink) -> Result<ConnectLinkCreated, ApiError> {
    post(paths::CONNECT_LINKS, request).await
}

/// The workspace's links, newest first.
pub async fn links() -> Result<Vec<ConnectLinkView>, ApiError> {
    get::<ConnectLinkList>(paths::CONNECT_LINKS).await.map(|list| list.links)
}

pub async fn revoke_link(id: &str) -> Result<(), ApiError> {
    let path = paths::connect_link(&endpoints::segment(id).map_err(|_| ApiError::BadId)?);
    let response = send(Method::Delete, &path, &no_body).await?;
    if response.ok() {
        return Ok(());
    }
    Err(problem(response).await)
}

/// What a link's page shows (no session: the token is the only credential, sent in the body).
pub async fn link_page(token: &str) -> Result<LinkPage, ApiError> {
    post(paths::LINK, &LinkToken { token: token.into() }).await
}

pub async fn link_attempt(request: &LinkAttemptRequest) -> Result<StartAttemptResponse, ApiError> {
    post(paths::LINK_ATTEMPTS, request).await
}

pub async fn link_grant(request: &LinkGrantRequest) -> Result<LinkGrantResponse, ApiError> {
    post(paths::LINK_GRANTS, request).await
}

/// A key-based source's key, pasted on a connect link's page.
pub async fn link_key(request: &connections_wire::LinkKeyRequest) -> Result<LinkGrantResponse, ApiError> {
    post(paths::LINK_KEYS, request).await
}
