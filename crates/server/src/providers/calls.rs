//! Every call to a provider, counted and timed by provider, endpoint and outcome, whatever the
//! dialect. The metric names live here; `observability` describes and exports them and imports nothing
//! else of this (providers sit below it).

use std::time::Duration;

use super::ProviderError;

pub(crate) const PROVIDER_REQUESTS: &str = "connections_provider_requests_total";
pub(crate) const PROVIDER_REQUEST_DURATION: &str = "connections_provider_request_duration_seconds";

/// One HTTP call to a provider (`endpoint`: `token_exchange`, `token_refresh`, `account`,
/// `data_list`, `revoke`).
pub(crate) fn record<T>(provider: &str, endpoint: &'static str, result: &Result<T, ProviderError>, elapsed: Duration) {
    let outcome = match result {
        Ok(_) => "ok",
        Err(error) => error.outcome(),
    };
    metrics::counter!(PROVIDER_REQUESTS, "provider" => provider.to_owned(), "endpoint" => endpoint, "outcome" => outcome).increment(1);
    metrics::histogram!(PROVIDER_REQUEST_DURATION, "provider" => provider.to_owned(), "endpoint" => endpoint, "outcome" => outcome)
        .record(elapsed.as_secs_f64());
}
