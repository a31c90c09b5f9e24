//! The HTTP server loop, with the limits a slow client must not get around: headers must arrive
//! within [`HEADER_READ_TIMEOUT`], a body within [`BODY_READ_TIMEOUT`], and a whole request must be
//! answered within [`request_timeout`] (at least [`REQUEST_TIMEOUT`]). `axum::serve` sets none of them (it gives hyper no timer), so
//! a client that sends a header byte a minute would hold a connection forever.
//!
//! On shutdown it stops accepting and lets the connections in flight finish (graceful shutdown).

use std::future::Future;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

pub(crate) const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
pub(crate) const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The least time a request is given: longer than a grant's two provider calls at the default
/// timeout (10 s each) and the data-access check it waits for.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Room for the database and our own work on top of the provider calls.
const REQUEST_MARGIN: Duration = Duration::from_secs(10);

/// How long a request may take: longer than the longest work one may wait for, so that a caller
/// gets an answer rather than a timeout. That is a health check: two renewals (each may wait for
/// another's lease, then ask the provider itself) and two reads of the account, at the slowest
/// provider's timeout. A renewal that outlasts its caller is finished all the same (it runs in a
/// task of its own, see `services::tokens`).
pub(crate) fn request_timeout(providers: &crate::providers::ProviderRegistry) -> Duration {
    let longest = providers
        .iter()
        .map(|provider| {
            let call = provider.spec().timeout;
            2 * (crate::services::tokens::wait_for_others(provider) + call) + 2 * call
        })
        .max()
        .unwrap_or_default();
    REQUEST_TIMEOUT.max(longest + REQUEST_MARGIN)
}

/// The timeouts on the request side, for `app()`'s router: the whole answer (`request_timeout`),
/// and inside it the body.
pub(crate) fn timeouts(
    request_timeout: Duration,
) -> tower::ServiceBuilder<
    tower::layer::util::Stack<
        tower_http::timeout::RequestBodyTimeoutLayer,
        tower::layer::util::Stack<tower_http::timeout::TimeoutLayer, tower::layer::util::Identity>,
    >,
> {
    tower::ServiceBuilder::new()
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, request_timeout))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(BODY_READ_TIMEOUT))
}

/// Serves `router` on `listener` until `shutdown` resolves, then drains: waits up to `drain` for
/// the requests in flight (the request timeout, so that none outlives it).
pub(crate) async fn serve(listener: TcpListener, router: Router, shutdown: impl Future<Output = ()>, drain: Duration) -> std::io::Result<()> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT);
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors and the like: wait a little rather than spin.
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(router.clone());
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
        let connection = graceful.watch(connection.into_owned());
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(drain, graceful.shutdown()).await.is_err() {
        tracing::warn!("connections still open after the drain timeout");
    }
    Ok(())
}
