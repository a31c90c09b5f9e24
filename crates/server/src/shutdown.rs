//! Stopping without losing a grant. On SIGTERM (or Ctrl-C) the server stops accepting connections
//! and finishes the requests in flight (axum's graceful shutdown); then it waits for the work those
//! requests (and the background round) handed to a task of their own, which outlives a client that
//! hung up: a grant whose code was exchanged is stored (or undone at the provider) before the process
//! exits, since the code cannot be used twice; a renewal whose refresh token has left stores what
//! comes back, since a rolled refresh token cannot be used twice either.

use std::future::Future;

use tokio::task::JoinHandle;
use tokio_util::task::TaskTracker;

/// Resolves on the first SIGTERM or SIGINT.
pub async fn signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut terminate) => {
                terminate.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    let signal = tokio::select! {
        () = interrupt => "SIGINT",
        () = terminate => "SIGTERM",
    };
    tracing::info!(signal, "shutting down: no new connections; finishing the requests in flight");
}

/// Runs `work` in a task of its own, in the current request's context (span, request id), tracked so
/// that shutdown waits for it: for work that must not stop half-way when the client goes.
pub(crate) fn spawn_tracked<F>(tasks: TaskTracker, work: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tasks.spawn(crate::observability::carry_request_context(work))
}

/// After the last request: waits for the tracked tasks still running. Each is bounded by the
/// providers' timeouts and the database's.
pub(crate) async fn finish_tracked(tasks: &TaskTracker) {
    tasks.close();
    if !tasks.is_empty() {
        tracing::info!(tasks = tasks.len(), "waiting for grants in flight to be stored, and renewals whose refresh token has left");
    }
    tasks.wait().await;
}
