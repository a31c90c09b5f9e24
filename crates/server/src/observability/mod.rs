//! Operating the server: what it tells whoever runs it.
//!
//! - `context`: the id of the request a piece of work belongs to (set by `routes::tracking`, which
//!   also logs and counts every request), carried by problem bodies and every log line of it.
//! - `logs`: text or JSON lines (`CONNECTIONS_LOG_FORMAT`).
//! - `exporter`: Prometheus metrics, on their own listener (`CONNECTIONS_METRICS_ADDR`) only.
//! - `outcomes`: one counter per thing that can go well or badly (grants, renewals, health checks,
//!   disconnects, webhook events, calls to providers), recorded where the outcome is decided.
//!
//! Metrics go through the `metrics` facade: until the exporter installs its recorder (metrics off),
//! recording costs nothing. Labels are fixed words, route templates and configured provider ids, never
//! an id, a name or anything a request carried.

mod context;
mod exporter;
mod logs;
mod outcomes;

pub(crate) use context::{carry_request_context, in_request, request_id};
pub(crate) use exporter::{bind_metrics, parse_metrics_addr, render, serve_metrics, set_connection_gauges, set_outbox_pending};
pub use logs::{init_logging, log_chain, LogFormat};
pub(crate) use outcomes::{
    count_disconnect, count_grant, count_health_check, count_renewal, count_undecryptable_disconnect, count_webhook_delivery, count_webhook_event,
};

/// Every metric this server exports, for the README and the tests.
pub(crate) mod names {
    pub(crate) const HTTP_REQUESTS: &str = "connections_http_requests_total";
    pub(crate) const HTTP_REQUEST_DURATION: &str = "connections_http_request_duration_seconds";
    pub(crate) const GRANTS: &str = "connections_grants_total";
    pub(crate) const RENEWALS: &str = "connections_renewals_total";
    pub(crate) const HEALTH_CHECKS: &str = "connections_health_checks_total";
    pub(crate) const DISCONNECTS: &str = "connections_disconnects_total";
    pub(crate) const WEBHOOK_EVENTS: &str = "connections_webhook_events_total";
    pub(crate) const PROVIDER_REQUESTS: &str = "connections_provider_requests_total";
    pub(crate) const PROVIDER_REQUEST_DURATION: &str = "connections_provider_request_duration_seconds";
    pub(crate) const CONNECTIONS: &str = "connections_connections";
    pub(crate) const WEBHOOK_DELIVERIES: &str = "connections_webhook_deliveries_total";
    pub(crate) const OUTBOX_PENDING: &str = "connections_outbox_pending";
    pub(crate) const BUILD_INFO: &str = "connections_build_info";
}
