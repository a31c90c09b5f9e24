//! HTTP to the Connections server. Same origin, so the session cookie goes along.

use connections_wire::{
    paths, ConnectionDetail, ConnectionList, ConnectionView, DemoSignInRequest, GrantRequest, InstallRequest, PendingInstall, Problem,
    ProviderInfo, ProviderList, Role, SessionInfo, StartAttemptRequest, StartAttemptResponse,
};
use gloo_net::http::{Request, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq)]
pub enum ApiError {
    /// The server answered with problem+json.
    Problem(Problem),
    /// No answer at all.
    Network,
    /// An answer that is neither the expected JSON nor a problem.
    UnexpectedResponse(u16),
}

impl ApiError {
    pub fn code(&self) -> Option<connections_wire::ErrorCode> {
        match self {
            ApiError::Problem(problem) => Some(problem.code),
            _ => None,
        }
    }
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
    let response = Request::get(path).header("Accept", "application/json").send().await.map_err(|_| ApiError::Network)?;
    read(response).await
}

async fn post<B: Serialize, T: DeserializeOwned>(path: &str, body: &B) -> Result<T, ApiError> {
    let request = Request::post(path).header("Accept", "application/json").json(body).map_err(|_| ApiError::Network)?;
    let response = request.send().await.map_err(|_| ApiError::Network)?;
    read(response).await
}

pub async fn session() -> Result<SessionInfo, ApiError> {
    get(paths::SESSION).await
}

pub async fn demo_sign_in(role: Role) -> Result<SessionInfo, ApiError> {
    post(paths::DEMO_SESSION, &DemoSignInRequest { role }).await
}

pub async fn demo_sign_out() -> Result<(), ApiError> {
    let response = Request::delete(paths::DEMO_SESSION).send().await.map_err(|_| ApiError::Network)?;
    if response.ok() {
        Ok(())
    } else {
        Err(ApiError::UnexpectedResponse(response.status()))
    }
}

pub async fn providers() -> Result<Vec<ProviderInfo>, ApiError> {
    get::<ProviderList>(paths::PROVIDERS).await.map(|list| list.providers)
}

pub async fn connections() -> Result<Vec<ConnectionView>, ApiError> {
    get::<ConnectionList>(paths::CONNECTIONS).await.map(|list| list.connections)
}

pub async fn start_attempt(provider: &str, request: &StartAttemptRequest) -> Result<StartAttemptResponse, ApiError> {
    post(&paths::attempts(provider), request).await
}

pub async fn send_grant(provider: &str, request: &GrantRequest) -> Result<ConnectionView, ApiError> {
    post(&paths::grants(provider), request).await
}

pub async fn connection(id: &str) -> Result<ConnectionDetail, ApiError> {
    get(&paths::connection(id)).await
}

/// State-changing calls without a body still send `{}` as JSON: the server requires the content type.
fn empty() -> serde_json::Value {
    serde_json::json!({})
}

pub async fn disconnect(id: &str) -> Result<ConnectionView, ApiError> {
    post(&paths::disconnect(id), &empty()).await
}

pub async fn check(id: &str) -> Result<ConnectionView, ApiError> {
    post(&paths::check(id), &empty()).await
}

pub async fn start_install(provider: &str, code: &str) -> Result<PendingInstall, ApiError> {
    post(&paths::installs(provider), &InstallRequest { code: code.to_owned() }).await
}

pub async fn confirm_install(provider: &str, id: &str) -> Result<ConnectionView, ApiError> {
    post(&paths::confirm_install(provider, id), &empty()).await
}

pub async fn decline_install(provider: &str, id: &str) -> Result<(), ApiError> {
    let request = Request::post(&paths::decline_install(provider, id)).json(&empty()).map_err(|_| ApiError::Network)?;
    let response = request.send().await.map_err(|_| ApiError::Network)?;
    if response.ok() {
        return Ok(());
    }
    match response.json::<Problem>().await {
        Ok(problem) => Err(ApiError::Problem(problem)),
        Err(_) => Err(ApiError::UnexpectedResponse(response.status())),
    }
}
