//! The API under `/api/`. Every route but `GET /api/session` and the signed provider webhooks needs an
//! administrator.

mod connect;
mod connections;
mod extract;
mod links;
pub(crate) mod metrics;
pub(crate) mod probes;
mod providers;
pub(crate) mod service;
mod session;
pub(crate) mod tracking;
mod webhooks;

pub(crate) use extract::{Admin, ServiceCaller};

use axum::routing::{any, delete, get, post};
use axum::Router;
use connections_wire::paths;

use crate::app::AppState;
use crate::error::ApiError;

pub(crate) fn api_router(demo: bool) -> Router<AppState> {
    let router = Router::new()
        .route(paths::SESSION, get(session::current))
        .route(paths::PROVIDERS, get(providers::list))
        .route("/api/providers/{provider}/attempts", post(connect::start_attempt))
        .route("/api/providers/{provider}/grants", post(connect::grant))
        .route("/api/providers/{provider}/keys", post(connect::connect_key))
        .route(paths::CONNECTIONS, get(connections::list))
        .route("/api/connections/{id}", get(connections::detail))
        .route("/api/connections/{id}/check", post(connections::check))
        .route("/api/connections/{id}/disconnect", post(connections::disconnect))
        .route("/api/connections/{id}/data-check", post(connections::data_check))
        .route("/api/webhook-deliveries/{id}/retry", post(connections::retry_delivery))
        .route(paths::AUDIT, get(connections::audit))
        .route(paths::CONNECT_LINKS, get(links::list).post(links::create))
        .route("/api/connect-links/{id}", delete(links::revoke))
        .route(paths::LINK, post(links::page))
        .route(paths::LINK_ATTEMPTS, post(links::start_attempt))
        .route(paths::LINK_GRANTS, post(links::grant))
        .route(paths::LINK_KEYS, post(links::connect_key))
        .route("/api/providers/{provider}/installs", post(connect::start_install))
        .route("/api/providers/{provider}/installs/{id}/confirm", post(connect::confirm_install))
        .route("/api/providers/{provider}/installs/{id}/decline", post(connect::decline_install))
        // `/api/webhooks/stripe` is the Stripe provider's, as before.
        .route("/api/webhooks/{provider}", post(webhooks::receive))
        .route("/api", any(not_found))
        .route("/api/{*rest}", any(not_found))
        .method_not_allowed_fallback(method_not_allowed);
    if demo {
        router.route(paths::DEMO_SESSION, post(session::demo_sign_in).delete(session::demo_sign_out))
    } else {
        router
    }
}

async fn not_found() -> ApiError {
    ApiError::NotFound
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
