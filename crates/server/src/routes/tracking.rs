//! Around every request: its id, its log line and its metrics (recorded through `observability`).

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::observability::{in_request, names};

/// The load balancer's probes (`routes::probes`), logged at debug level only.
pub(crate) const HEALTHZ: &str = "/healthz";
pub(crate) const READYZ: &str = "/readyz";

pub(crate) const REQUEST_ID_HEADER: &str = "x-request-id";

/// Requests answered by no route (the SPA's files, or nothing) share this route label.
pub(crate) const UNMATCHED_ROUTE: &str = "unmatched";

/// A load balancer's `x-request-id` is kept when it is a plain token; anything else gets a new id.
fn incoming_request_id(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(REQUEST_ID_HEADER)?.to_str().ok()?;
    let plain = (1..=64).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    plain.then(|| value.to_owned())
}

/// 32 hex digits, unique across instances: a random prefix drawn once per process and a counter
/// (a fresh random id per request cost a `getrandom` system call each; the id is no secret).
fn new_request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static PREFIX: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let prefix = *PREFIX.get_or_init(|| uuid::Uuid::new_v4().as_u64_pair().0);
    format!("{prefix:016x}{:016x}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Methods by name; anything else a client sends is `other` (a label must not be whatever was typed).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}

/// The path as logged: a connect link's page (`/connect/<token>`) without its token.
fn logged_path(path: &str) -> &str {
    if path.starts_with(connections_wire::paths::LINK_PAGE_PREFIX) {
        "/connect/…"
    } else {
        path
    }
}

/// The outermost layer of the app (`Router::layer`, so the matched route is known): gives the request
/// its id, logs it once answered (paths only: the callback's query string holds an authorization
/// code; the probes only at debug level), counts and times it under its route template.
pub(crate) async fn track_requests(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map(|path| path.as_str().to_owned());
    let quiet = matches!(route.as_deref(), Some(HEALTHZ | READYZ));
    let method = method_label(request.method());
    let id = incoming_request_id(request.headers()).unwrap_or_else(new_request_id);
    let span = tracing::info_span!("http", method = %request.method(), path = %logged_path(request.uri().path()), request_id = %id);
    let started = Instant::now();
    let mut response = in_request(id.clone(), next.run(request)).instrument(span.clone()).await;
    let latency = started.elapsed();
    let status = response.status();
    span.in_scope(|| {
        let latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        if quiet {
            tracing::debug!(status = status.as_u16(), latency_ms, "finished processing request");
        } else {
            tracing::info!(status = status.as_u16(), latency_ms, "finished processing request");
        }
    });
    let route = route.unwrap_or_else(|| UNMATCHED_ROUTE.to_owned());
    metrics::counter!(names::HTTP_REQUESTS, "route" => route.clone(), "method" => method, "status" => status_class(status)).increment(1);
    metrics::histogram!(names::HTTP_REQUEST_DURATION, "route" => route, "method" => method).record(latency.as_secs_f64());
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_incoming_request_id_is_kept_and_anything_else_replaced() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(REQUEST_ID_HEADER, HeaderValue::from_str(value).unwrap());
            incoming_request_id(&headers)
        };
        assert_eq!(with("lb-7f3a:01.2").as_deref(), Some("lb-7f3a:01.2"));
        assert_eq!(with("with space"), None);
        assert_eq!(with("\"quoted\""), None);
        assert_eq!(with(&"x".repeat(65)), None);
        assert_eq!(incoming_request_id(&HeaderMap::new()), None);
        assert_eq!(new_request_id().len(), 32);
        assert_ne!(new_request_id(), new_request_id());
    }

    #[test]
    fn labels_are_fixed_words() {
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
        assert_eq!(status_class(StatusCode::SERVICE_UNAVAILABLE), "5xx");
        assert_eq!(status_class(StatusCode::CREATED), "2xx");
    }
}
