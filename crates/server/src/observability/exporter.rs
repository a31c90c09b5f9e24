//! `GET /metrics` in Prometheus' text format, on a listener of its own (`CONNECTIONS_METRICS_ADDR`),
//! never on the public port. Counters and histograms are recorded as things happen; the
//! connections gauge is read from the database at each scrape, so every instance reports the same.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use axum::Router;
use connections_wire::ConnectionStatus;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

use super::names;
use crate::config_error::ConfigError;

/// Seconds: from a fast local answer to a provider at its longest timeout (120 s).
const LATENCY_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0];

/// Histogram samples wait in the recorder until rendered; unscraped, they are folded in this often.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

const STATUSES: [ConnectionStatus; 4] =
    [ConnectionStatus::Connected, ConnectionStatus::ReauthenticationRequired, ConnectionStatus::Revoked, ConnectionStatus::Disconnected];

static RECORDER: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's recorder, installed by the first caller (one per process: the `metrics` facade
/// has one global recorder). `None` if another recorder was installed first.
fn recorder() -> Option<&'static PrometheusHandle> {
    RECORDER
        .get_or_init(|| {
            let builder =
                PrometheusBuilder::new().set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS).expect("the bucket list is not empty");
            match builder.install_recorder() {
                Ok(handle) => {
                    describe();
                    metrics::gauge!(names::BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
                    Some(handle)
                }
                Err(error) => {
                    tracing::error!(%error, "metrics: could not install the recorder; /metrics will be empty");
                    None
                }
            }
        })
        .as_ref()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(names::HTTP_REQUESTS, "HTTP requests answered, by route template, method and status class");
    describe_histogram!(names::HTTP_REQUEST_DURATION, Unit::Seconds, "Time to answer an HTTP request, by route template and method");
    describe_counter!(names::GRANTS, "Grants posted (the end of a connect flow), by provider and outcome");
    describe_counter!(names::RENEWALS, "Access renewals with a refresh token, by provider and outcome");
    describe_counter!(names::HEALTH_CHECKS, "Connection health checks, by provider and outcome");
    describe_counter!(names::DISCONNECTS, "Disconnects, by provider and how the provider answered");
    describe_counter!(names::WEBHOOK_EVENTS, "Webhook deliveries, by provider and outcome");
    describe_counter!(names::PROVIDER_REQUESTS, "HTTP calls to providers, by provider, endpoint and outcome");
    describe_histogram!(names::PROVIDER_REQUEST_DURATION, Unit::Seconds, "Time a provider took to answer, by provider, endpoint and outcome");
    describe_gauge!(names::CONNECTIONS, "Stored connections, by provider and status (all instances: read from the database)");
    describe_gauge!(names::BUILD_INFO, "Always 1, labelled with the server's version");
}

/// `CONNECTIONS_METRICS_ADDR`: an address like `127.0.0.1:9464`, not the public one. Empty: off.
pub(crate) fn parse_metrics_addr(value: Option<&str>, public: SocketAddr) -> Result<Option<SocketAddr>, ConfigError> {
    let invalid = |problem: String| ConfigError { setting: "CONNECTIONS_METRICS_ADDR".into(), problem };
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else { return Ok(None) };
    let addr: SocketAddr = value.parse().map_err(|_| invalid(format!("{value:?} is not an address like 127.0.0.1:9464")))?;
    if addr.port() != 0 && addr.port() == public.port() && (addr.ip() == public.ip() || addr.ip().is_unspecified() || public.ip().is_unspecified()) {
        return Err(invalid(format!("{value} is the public address (CONNECTIONS_ADDR): metrics are never served there")));
    }
    Ok(Some(addr))
}

/// Binds the metrics listener and installs the recorder, at start: a busy address stops the server
/// like any other bad setting. `None` when metrics are off.
pub(crate) async fn bind_metrics(addr: Option<SocketAddr>) -> std::io::Result<Option<TcpListener>> {
    let Some(addr) = addr else { return Ok(None) };
    let listener = TcpListener::bind(addr).await?;
    recorder();
    tracing::info!(addr = %listener.local_addr()?, "metrics served at /metrics");
    Ok(Some(listener))
}

/// Serves `router` (`GET /metrics`, see `routes::metrics`) until the task is dropped.
pub(crate) async fn serve_metrics(listener: TcpListener, router: Router) {
    let Some(handle) = recorder() else { return };
    let upkeep = tokio::spawn(async move {
        let mut ticks = tokio::time::interval(UPKEEP_EVERY);
        loop {
            ticks.tick().await;
            handle.run_upkeep();
        }
    });
    let _stop_upkeep = AbortOnDrop(upkeep);
    if let Err(error) = axum::serve(listener, router).await {
        tracing::error!(%error, "metrics listener stopped");
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What `/metrics` answers: every metric recorded, in Prometheus' text format.
pub(crate) fn render() -> String {
    recorder().map(PrometheusHandle::render).unwrap_or_default()
}

/// `connections_connections{provider, status}`: `counts` holds `(provider, status, count)` as
/// stored; every configured provider gets every status (0 included, so a status that empties is
/// seen to). Rows of providers no longer configured are left out.
pub(crate) fn set_connection_gauges<'a>(providers: impl Iterator<Item = &'a str>, counts: &[(String, String, i64)]) {
    for provider in providers {
        for status in STATUSES {
            let stored = counts.iter().find(|(p, s, _)| p == provider && s == status.as_str()).map_or(0, |(_, _, n)| *n);
            metrics::gauge!(names::CONNECTIONS, "provider" => provider.to_owned(), "status" => status.as_str()).set(stored as f64);
        }
    }
}

/// `connections_outbox_pending`: outgoing webhook events not yet delivered (retries included).
pub(crate) fn set_outbox_pending(pending: i64) {
    metrics::gauge!(names::OUTBOX_PENDING).set(pending as f64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metrics_address_is_optional_and_never_the_public_one() {
        let public: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        assert_eq!(parse_metrics_addr(None, public).unwrap(), None);
        assert_eq!(parse_metrics_addr(Some(" "), public).unwrap(), None);
        assert_eq!(parse_metrics_addr(Some("127.0.0.1:9464"), public).unwrap(), Some("127.0.0.1:9464".parse().unwrap()));
        assert!(parse_metrics_addr(Some("127.0.0.1:8080"), public)
            .unwrap_err()
            .to_string()
            .starts_with("CONNECTIONS_METRICS_ADDR: 127.0.0.1:8080 is the public"));
        assert!(parse_metrics_addr(Some("9464"), public).unwrap_err().to_string().starts_with("CONNECTIONS_METRICS_ADDR:"));
        let any_port: SocketAddr = "127.0.0.1:0".parse().unwrap();
        assert!(parse_metrics_addr(Some("127.0.0.1:0"), any_port).unwrap().is_some());
    }
}
