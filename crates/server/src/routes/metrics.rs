//! `GET /metrics` on the metrics listener (`CONNECTIONS_METRICS_ADDR`): the connections gauge and the
//! outbox backlog are read from the database at each scrape, so every instance reports the same.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::observability;
use crate::services::Core;

pub(crate) fn router(core: Core) -> Router {
    Router::new().route("/metrics", get(scrape)).with_state(core)
}

async fn scrape(State(core): State<Core>) -> impl IntoResponse {
    match core.db.connection_counts().await {
        Ok(counts) => observability::set_connection_gauges(core.providers.iter().map(|provider| provider.id()), &counts),
        Err(error) => tracing::warn!(%error, "metrics: could not count the connections"),
    }
    match core.db.outbox_backlog().await {
        Ok(pending) => observability::set_outbox_pending(pending),
        Err(error) => tracing::warn!(%error, "metrics: could not count the outbox"),
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], observability::render())
}
