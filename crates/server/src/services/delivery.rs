//! Sends the outbox's events to `CONNECTIONS_WEBHOOK_URL`, signed as Standard Webhooks: at least
//! once (an event leaves the outbox only once the receiver answered 2xx), in order per connection,
//! retried with a doubling delay for more than a day. Several instances share the work: each event
//! is claimed for a short lease by one of them (`Db::claim_due_events`).

use std::time::Duration;

use chrono::Utc;

use crate::outbox::{next_attempt_ms, WebhookSettings};
use crate::storage::{Db, DueOutboxRow};

/// How often the outbox is looked at when there is nothing to send.
const POLL_EVERY: Duration = Duration::from_millis(500);
/// How long a receiver may take to answer.
const RECEIVER_TIMEOUT: Duration = Duration::from_secs(10);
/// A claim outlives one attempt; an instance that dies mid-delivery frees its events after this.
const LEASE_MS: i64 = 30_000;
/// Events sent at once (each of a different connection, so order per connection holds).
const BATCH: i64 = 16;

/// Runs until aborted.
pub(crate) async fn run(db: Db, settings: WebhookSettings) {
    let http = reqwest::Client::builder()
        .timeout(RECEIVER_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("connections/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("TLS backend initialises");
    loop {
        match deliver_due(&db, &settings, &http).await {
            // A full batch: more may be waiting.
            Ok(sent) if sent as i64 == BATCH => continue,
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "webhook delivery: could not read the outbox"),
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// Claims what is due and sends it, concurrently across connections. Answers how many were tried.
pub(crate) async fn deliver_due(db: &Db, settings: &WebhookSettings, http: &reqwest::Client) -> Result<usize, sqlx::Error> {
    let now_ms = Utc::now().timestamp_millis();
    let due = db.claim_due_events(now_ms, now_ms + LEASE_MS, BATCH).await?;
    let count = due.len();
    let attempts = due.into_iter().map(|event| async move {
        let outcome = send(settings, http, &event).await;
        let now_ms = Utc::now().timestamp_millis();
        let stored = match &outcome {
            Ok(()) => db.event_delivered(event.id, now_ms).await,
            Err(error) => {
                let next = next_attempt_ms(settings.first_retry_ms, event.attempts + 1, event.created_ms, now_ms);
                if next.is_none() {
                    tracing::error!(message = %event.message_id, %error, "webhook delivery given up after retrying for more than a day");
                } else {
                    tracing::warn!(message = %event.message_id, %error, attempt = event.attempts + 1, "webhook delivery failed; will retry");
                }
                db.event_attempt_failed(event.id, now_ms, error, next).await
            }
        };
        crate::observability::count_webhook_delivery(outcome.is_ok());
        if let Err(error) = stored {
            // The lease runs out and the event is sent again: at least once.
            tracing::warn!(message = %event.message_id, %error, "webhook delivery: could not record the attempt");
        }
    });
    futures_util::future::join_all(attempts).await;
    Ok(count)
}

/// One attempt. The timestamp (and so the signature) is the attempt's own, as the specification
/// says; the id is the event's, so a receiver can drop repeats.
async fn send(settings: &WebhookSettings, http: &reqwest::Client, event: &DueOutboxRow) -> Result<(), String> {
    let timestamp = Utc::now().timestamp();
    let signature = settings.signer.sign(&event.message_id, timestamp, event.payload.as_bytes());
    let response = http
        .post(settings.url.clone())
        .header("content-type", "application/json")
        .header("webhook-id", &event.message_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(event.payload.clone())
        .send()
        .await
        .map_err(|error| if error.is_timeout() { "the receiver did not answer in time".to_owned() } else { "the receiver could not be reached".to_owned() })?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("the receiver answered {status}"))
    }
}
