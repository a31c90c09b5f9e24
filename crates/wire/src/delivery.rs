//! What the SPA shows of the work done for the product's backends: the data-access check of a
//! connection, and the outgoing webhook deliveries about it.

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// Whether one data table could be read with the connection's access.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableAccess {
    Readable,
    /// The provider answered that the access granted does not cover this table.
    PermissionMissing,
    /// The provider refused the token itself (access lapsed).
    TokenRefused,
    /// The provider could not be reached, or answered something unreadable; try again later.
    Unavailable,
    /// No list endpoint is configured for this table.
    NotCheckable,
}

impl TableAccess {
    pub fn as_str(self) -> &'static str {
        match self {
            TableAccess::Readable => "readable",
            TableAccess::PermissionMissing => "permission_missing",
            TableAccess::TokenRefused => "token_refused",
            TableAccess::Unavailable => "unavailable",
            TableAccess::NotCheckable => "not_checkable",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        use TableAccess::*;
        [Readable, PermissionMissing, TokenRefused, Unavailable, NotCheckable].into_iter().find(|a| a.as_str() == value)
    }
}

/// One data table's result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableCheck {
    /// As the provider lists it, e.g. `Charges`.
    pub table: String,
    pub access: TableAccess,
    /// Why it is not readable, in our words (the provider's own text stays in the server's log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the newest object in the table was created ("last data point"); `None` when the table
    /// is empty or not readable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest_at: Option<Timestamp>,
}

/// `POST /api/connections/{id}/data-check`, and the last one in a connection's details.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataCheck {
    pub checked_at: Timestamp,
    /// In the provider's order.
    pub tables: Vec<TableCheck>,
}

/// Where an outgoing webhook event stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its first attempt or for a retry.
    Pending,
    Delivered,
    /// Retries given up (after more than a day); an administrator may retry it.
    Failed,
}

/// One outgoing webhook event about a connection (`CONNECTIONS_WEBHOOK_URL`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    /// The event's `webhook-id` (`msg_…`), the same on every attempt.
    pub id: String,
    /// `connection.created`, `connection.revoked`, …
    pub event_type: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempt_at: Option<Timestamp>,
    /// What the last attempt met, e.g. "the receiver answered 503".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_access_round_trips_through_its_storage_name() {
        use TableAccess::*;
        for access in [Readable, PermissionMissing, TokenRefused, Unavailable, NotCheckable] {
            assert_eq!(TableAccess::parse(access.as_str()), Some(access));
            assert_eq!(serde_json::to_value(access).unwrap(), access.as_str());
        }
    }
}
