//! The webhook outbox: each event is written in the transaction of the change it announces (so no
//! change goes unannounced and nothing is announced that did not happen), then claimed and
//! delivered by one instance at a time, in order per connection.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{insert_event, view_from_row, Backend, Connection, Db, IfChanged, VIEW_COLUMNS};
use crate::outbox::Notification;

/// An outgoing webhook in the outbox, as stored (times in unix milliseconds): delivered, given up
/// (`failed_ms`), or pending.
#[derive(Clone, Debug)]
pub(crate) struct OutboxRow {
    pub message_id: String,
    pub event_type: String,
    pub attempts: u32,
    pub created_ms: i64,
    pub last_attempt_ms: Option<i64>,
    pub last_error: Option<String>,
    pub next_attempt_ms: Option<i64>,
    pub delivered_ms: Option<i64>,
    pub failed_ms: Option<i64>,
}

/// An outbox row claimed for delivery.
#[derive(Debug)]
pub(crate) struct DueOutboxRow {
    pub id: i64,
    pub message_id: String,
    pub payload: String,
    pub attempts: u32,
    pub created_ms: i64,
}

const DELIVERY_COLUMNS: &str =
    "message_id, event_type, attempts, created_ms, last_attempt_ms, last_error, next_attempt_ms, delivered_ms, failed_ms, locked_until_ms";

/// The oldest undelivered event of each connection that is due and not being delivered elsewhere.
/// A connection's later events wait for its earlier ones (order per connection); an event whose
/// retries were given up no longer holds the others back.
const DUE: &str = "SELECT o.id FROM webhook_outbox o
     WHERE o.delivered_ms IS NULL AND o.failed_ms IS NULL AND o.next_attempt_ms <= $2
       AND (o.locked_until_ms IS NULL OR o.locked_until_ms < $2)
       AND NOT EXISTS (SELECT 1 FROM webhook_outbox e WHERE e.connection_id = o.connection_id AND e.id < o.id
                       AND e.delivered_ms IS NULL AND e.failed_ms IS NULL)
     ORDER BY o.id LIMIT $3";

/// Makes an outgoing webhook's body: the notification, the connection's workspace, the connection as
/// the change left it, and when. Handed to [`Db::with_outbox`] by the composition root, so storage
/// writes a body made above it.
/// The last argument is the connect link the change was made through, if any (`via_link`).
pub(crate) type RenderNotification = fn(Notification, &str, &Connection, i64, Option<&str>) -> Result<String, serde_json::Error>;

/// Writes the outgoing webhook `event_type` for connection `id`, as the row stands now in `tx`.
async fn enqueue(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    render: RenderNotification,
    id: &str,
    event_type: Notification,
    now: i64,
    via_link: Option<&str>,
) -> Result<(), sqlx::Error> {
    let row = sqlx::query(&format!("SELECT {VIEW_COLUMNS}, workspace FROM connections WHERE id = $1")).bind(id).fetch_one(&mut **tx).await?;
    let connection = view_from_row(&row)?;
    let workspace: String = row.try_get("workspace")?;
    let now_ms = now * 1000;
    let payload = render(event_type, &workspace, &connection, now, via_link).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sqlx::query(
        "INSERT INTO webhook_outbox (message_id, workspace, connection_id, event_type, payload, created_ms, next_attempt_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(format!("msg_{}", uuid::Uuid::new_v4().simple()))
    .bind(&workspace)
    .bind(id)
    .bind(event_type.as_str())
    .bind(payload)
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Db {
    /// Writes the outgoing webhook a service chose, in the transaction of its change (when the
    /// outbox is on: a receiver is configured).
    pub(super) async fn announce(&self, tx: &mut sqlx::Transaction<'_, sqlx::Any>, id: &str, event_type: Notification, now: i64) -> Result<(), sqlx::Error> {
        self.announce_via(tx, id, event_type, now, None).await
    }

    /// [`Db::announce`], for a change made through the connect link `via_link`.
    pub(super) async fn announce_via(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        id: &str,
        event_type: Notification,
        now: i64,
        via_link: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        if let Some(render) = self.outbox {
            enqueue(tx, render, id, event_type, now, via_link).await?;
        }
        Ok(())
    }

    /// What a change writes besides itself, once it is known to have happened.
    pub(super) async fn write_if_changed(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        id: &str,
        at: i64,
        if_changed: &IfChanged<'_>,
    ) -> Result<(), sqlx::Error> {
        if let Some(audit) = &if_changed.audit {
            insert_event(tx, audit).await?;
        }
        if let Some(notification) = if_changed.announce {
            self.announce(tx, id, notification, at).await?;
        }
        Ok(())
    }

    /// Claims up to `limit` due events until `lease_until_ms`. On PostgreSQL the candidates are
    /// locked with `FOR UPDATE SKIP LOCKED`, so instances claiming at once take different events
    /// without waiting for each other; on SQLite the one writer does the same.
    pub(crate) async fn claim_due_events(&self, now_ms: i64, lease_until_ms: i64, limit: i64) -> Result<Vec<DueOutboxRow>, sqlx::Error> {
        // Most polls find nothing: a read on the partial index, so an idle outbox never takes the
        // write lock.
        let due: Option<i64> =
            sqlx::query_scalar("SELECT id FROM webhook_outbox WHERE delivered_ms IS NULL AND failed_ms IS NULL AND next_attempt_ms <= $1 LIMIT 1")
                .bind(now_ms)
                .fetch_optional(&self.pool)
                .await?;
        if due.is_none() {
            return Ok(Vec::new());
        }
        let sql = match self.backend {
            Backend::Postgres => format!(
                "WITH picked AS ({DUE} FOR UPDATE OF o SKIP LOCKED)
                 UPDATE webhook_outbox w SET locked_until_ms = $1 FROM picked WHERE w.id = picked.id
                 RETURNING w.id, w.message_id, w.payload, w.attempts, w.created_ms"
            ),
            Backend::Sqlite => format!(
                "UPDATE webhook_outbox SET locked_until_ms = $1 WHERE id IN ({DUE})
                 RETURNING id, message_id, payload, attempts, created_ms"
            ),
        };
        let rows = sqlx::query(&sql).bind(lease_until_ms).bind(now_ms).bind(limit).fetch_all(&self.pool).await?;
        let mut due = rows
            .iter()
            .map(|row| {
                Ok(DueOutboxRow {
                    id: row.try_get("id")?,
                    message_id: row.try_get("message_id")?,
                    payload: row.try_get("payload")?,
                    attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
                    created_ms: row.try_get("created_ms")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        due.sort_by_key(|event| event.id);
        Ok(due)
    }

    pub(crate) async fn event_delivered(&self, id: i64, now_ms: i64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE webhook_outbox SET delivered_ms = $1, last_attempt_ms = $1, attempts = attempts + 1, last_error = NULL, locked_until_ms = NULL
             WHERE id = $2",
        )
        .bind(now_ms)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// An attempt failed: try again at `next_attempt_ms`, or give up (`None`).
    pub(crate) async fn event_attempt_failed(&self, id: i64, now_ms: i64, error: &str, next_attempt_ms: Option<i64>) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE webhook_outbox SET attempts = attempts + 1, last_attempt_ms = $1, last_error = $2, locked_until_ms = NULL,
                next_attempt_ms = COALESCE($3, next_attempt_ms), failed_ms = CASE WHEN $3 IS NULL THEN $1 ELSE NULL END
             WHERE id = $4",
        )
        .bind(now_ms)
        .bind(error)
        .bind(next_attempt_ms)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The most recent events about one connection, newest first.
    pub(crate) async fn deliveries_of(&self, workspace: &str, connection_id: &str, limit: i64) -> Result<Vec<OutboxRow>, sqlx::Error> {
        let rows = sqlx::query(&format!("SELECT {DELIVERY_COLUMNS} FROM webhook_outbox WHERE workspace = $1 AND connection_id = $2 ORDER BY id DESC LIMIT $3"))
            .bind(workspace)
            .bind(connection_id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(delivery_from_row).collect()
    }

    /// Sends an event of `workspace` again now (a failed one gets one more attempt; if that fails
    /// too it is failed again). Answers the event as it now stands; `None` when the workspace has no
    /// such event.
    pub(crate) async fn retry_delivery(&self, workspace: &str, message_id: &str, now_ms: i64) -> Result<Option<OutboxRow>, sqlx::Error> {
        let row = sqlx::query(&format!(
            "UPDATE webhook_outbox SET failed_ms = NULL, next_attempt_ms = $1
             WHERE workspace = $2 AND message_id = $3 AND delivered_ms IS NULL
             RETURNING {DELIVERY_COLUMNS}"
        ))
        .bind(now_ms)
        .bind(workspace)
        .bind(message_id)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(row) = row {
            return delivery_from_row(&row).map(Some);
        }
        // Delivered already (nothing to do), or not this workspace's.
        let row = sqlx::query(&format!("SELECT {DELIVERY_COLUMNS} FROM webhook_outbox WHERE workspace = $1 AND message_id = $2"))
            .bind(workspace)
            .bind(message_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(delivery_from_row).transpose()
    }

    /// How many events wait for delivery (retries included), for the metrics gauge.
    /// Deletes outgoing events delivered or given up before `before_ms`; pending ones (retries
    /// included) are never deleted. Answers how many went.
    pub(crate) async fn prune_outbox(&self, before_ms: i64) -> Result<u64, sqlx::Error> {
        let pruned = sqlx::query("DELETE FROM webhook_outbox WHERE COALESCE(delivered_ms, failed_ms) < $1").bind(before_ms).execute(&self.pool).await?;
        Ok(pruned.rows_affected())
    }

    pub(crate) async fn outbox_backlog(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT COUNT(*) FROM webhook_outbox WHERE delivered_ms IS NULL AND failed_ms IS NULL").fetch_one(&self.pool).await
    }
}

fn delivery_from_row(row: &AnyRow) -> Result<OutboxRow, sqlx::Error> {
    Ok(OutboxRow {
        message_id: row.try_get("message_id")?,
        event_type: row.try_get("event_type")?,
        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
        created_ms: row.try_get("created_ms")?,
        last_attempt_ms: row.try_get("last_attempt_ms")?,
        last_error: row.try_get("last_error")?,
        next_attempt_ms: row.try_get("next_attempt_ms")?,
        delivered_ms: row.try_get("delivered_ms")?,
        failed_ms: row.try_get("failed_ms")?,
    })
}
