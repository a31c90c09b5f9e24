//! What storage holds, as the API and the outgoing webhooks show it: storage returns its own records,
//! and they become wire types here, above it.

use chrono::{DateTime, Utc};
use connections_wire::{AuditEvent, ConnectionView, DataCheck, DeliveryStatus, TableCheck, Timestamp, WebhookDelivery};

use crate::outbox::{Notification, NotificationBody, NotificationData};
use crate::storage::{AuditRecord, Connection, OutboxRow, StoredDataCheck, StoredTable};

impl From<Connection> for ConnectionView {
    fn from(c: Connection) -> Self {
        ConnectionView {
            id: c.id,
            provider: c.provider,
            account_id: c.account_id,
            account_name: c.account_name,
            livemode: c.livemode,
            mode: c.mode,
            scope: c.scope,
            status: c.status,
            connected_by: c.connected_by,
            connected_at: c.connected_at,
            last_checked_at: c.last_checked_at,
            last_data_at: c.last_data_at,
        }
    }
}

impl From<AuditRecord> for AuditEvent {
    fn from(r: AuditRecord) -> Self {
        AuditEvent { at: r.at, action: r.action, success: r.success, actor: r.actor, provider: r.provider, account_id: r.account_id, detail: r.detail }
    }
}

impl From<StoredDataCheck> for DataCheck {
    fn from(check: StoredDataCheck) -> Self {
        DataCheck {
            checked_at: Timestamp::from_timestamp(check.checked_at),
            tables: check
                .tables
                .into_iter()
                .map(|t| TableCheck { table: t.table, access: t.access, reason: t.reason, newest_at: t.newest_at.map(Timestamp::from_timestamp) })
                .collect(),
        }
    }
}

impl From<&TableCheck> for StoredTable {
    fn from(t: &TableCheck) -> Self {
        StoredTable { table: t.table.clone(), access: t.access, reason: t.reason.clone(), newest_at: t.newest_at.map(|at| at.timestamp()) }
    }
}

fn millis(value: Option<i64>) -> Option<Timestamp> {
    value.map(|ms| Timestamp::from_timestamp(ms.div_euclid(1000)))
}

impl From<OutboxRow> for WebhookDelivery {
    fn from(row: OutboxRow) -> Self {
        let status = match (row.delivered_ms, row.failed_ms) {
            (Some(_), _) => DeliveryStatus::Delivered,
            (None, Some(_)) => DeliveryStatus::Failed,
            (None, None) => DeliveryStatus::Pending,
        };
        WebhookDelivery {
            id: row.message_id,
            event_type: row.event_type,
            status,
            attempts: row.attempts,
            created_at: Timestamp::from_timestamp(row.created_ms.div_euclid(1000)),
            last_attempt_at: millis(row.last_attempt_ms),
            last_error: row.last_error,
            next_attempt_at: if status == DeliveryStatus::Pending { millis(row.next_attempt_ms) } else { None },
            delivered_at: millis(row.delivered_ms),
        }
    }
}

/// An outgoing webhook's body (`storage::RenderNotification`, given to the database at start):
/// `{"type", "timestamp", "data": {"workspace", "connection"}}`, the connection as the API shows it.
/// `data.via_link` names the connect link it was made through, when it was.
pub(crate) fn notification_body(
    notification: Notification,
    workspace: &str,
    connection: &Connection,
    at: i64,
    via_link: Option<&str>,
) -> Result<String, serde_json::Error> {
    let connection = ConnectionView::from(connection.clone());
    let body = NotificationBody {
        event_type: notification.as_str(),
        timestamp: DateTime::<Utc>::from_timestamp(at, 0).unwrap_or_default(),
        data: NotificationData { workspace, connection: &connection, via_link },
    };
    serde_json::to_string(&body)
}
