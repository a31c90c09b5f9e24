//! The request a piece of work belongs to: its id, set around every request by the HTTP layer
//! (`routes::tracking`), carried by every log line and problem body of the request, and into the
//! tasks it hands work to.

use std::future::Future;

use tracing::Instrument;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being answered, where there is one (inside `routes::tracking`).
pub(crate) fn request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// `work` run elsewhere (a spawned task) as part of the current request: its log lines keep the
/// request's span, and so its id.
pub(crate) fn carry_request_context<F: Future>(work: F) -> impl Future<Output = F::Output> {
    let id = request_id();
    let work = work.instrument(tracing::Span::current());
    async move {
        match id {
            Some(id) => REQUEST_ID.scope(id, work).await,
            None => work.await,
        }
    }
}

/// Runs `work` as the request `id`.
pub(crate) fn in_request<F: Future>(id: String, work: F) -> impl Future<Output = F::Output> {
    REQUEST_ID.scope(id, work)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_request_id_follows_work_handed_to_another_task() {
        let seen = REQUEST_ID.scope("req-1".to_owned(), async { tokio::spawn(carry_request_context(async { request_id() })).await.unwrap() }).await;
        assert_eq!(seen.as_deref(), Some("req-1"));
        assert_eq!(request_id(), None);
    }
}
