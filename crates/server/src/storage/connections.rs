//! The `connections` table: a provider account connected in a workspace, its status and its tokens
//! (encrypted).

use connections_wire::{AuditAction, ConnectionStatus, Mode, Timestamp};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::audit::insert_event;
use super::connect_links::{note_link_connection, use_link};
use super::provider_events::remember_provider_event;
use super::{decodable, shown_timestamp, stored_mode, timestamp, AuditEntry, Db, IfChanged};
use crate::outbox::Notification;

/// Tokens and account data from a successful exchange, tokens already encrypted.
pub struct NewConnection<'a> {
    pub workspace: &'a str,
    pub provider: &'a str,
    pub account_id: &'a str,
    pub account_name: &'a str,
    pub livemode: Option<bool>,
    /// The mode whose client made it (a Stripe App with a client per mode).
    pub mode: Option<Mode>,
    pub scope: &'a str,
    pub access_token: Vec<u8>,
    pub refresh_token: Option<Vec<u8>>,
    pub access_expires_at: Option<i64>,
    pub publishable_key: Option<&'a str>,
    pub connected_by_subject: &'a str,
    pub connected_by_name: &'a str,
    pub now: i64,
}

/// A connection's columns that are shown (a row of the table), as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    pub id: String,
    pub provider: String,
    pub account_id: String,
    pub account_name: String,
    pub livemode: Option<bool>,
    pub mode: Option<Mode>,
    pub scope: String,
    pub status: ConnectionStatus,
    pub connected_by: String,
    pub connected_at: Timestamp,
    /// Unknown when never checked, or when the stored time is outside the years 1970 to 9999.
    pub last_checked_at: Option<Timestamp>,
    pub last_data_at: Option<Timestamp>,
}

/// What storing a connection writes besides itself, as the service chose: the audit action and
/// the notification, for a new account and for one already known (connected again).
#[derive(Clone, Copy, Debug)]
pub struct OnUpsert {
    pub new: (AuditAction, Option<Notification>),
    pub known: (AuditAction, Option<Notification>),
}

/// A connection as the server works with it: the row, and its tokens still encrypted.
pub struct ConnectionRecord {
    /// The shown columns.
    pub view: Connection,
    pub workspace: String,
    pub access_token: Option<Vec<u8>>,
    pub refresh_token: Option<Vec<u8>>,
    pub access_expires_at: Option<i64>,
    /// Bumped by every token write: a renewal claims and stores against the version it read.
    pub token_version: i64,
    /// A renewal is under way (on some instance) until then.
    pub renewing_until: Option<i64>,
}

// Booleans are read through a cast: SQLite reports a column declared BOOLEAN as such, which the Any
// driver refuses, while an expression's value is a plain integer on both databases.
pub(super) const VIEW_COLUMNS: &str = "id, provider, account_id, account_name, CAST(livemode AS INTEGER) AS livemode, mode, scope, status, \
     connected_by_name, connected_at, last_checked_at, last_data_at";
pub(super) const RECORD_COLUMNS: &str = "id, provider, account_id, account_name, CAST(livemode AS INTEGER) AS livemode, mode, scope, status, \
     connected_by_name, connected_at, last_checked_at, last_data_at, access_token, refresh_token, access_expires_at, token_version, renewing_until, workspace";

impl Db {
    /// Stores a connection, or renews the row of the same provider account (re-authentication), and
    /// records it in the audit trail, in one transaction. Answers whether the account was known.
    ///
    /// `written` is the caller's choice of audit action and notification, for a new account and for
    /// a known one.
    pub async fn upsert_connection(&self, new: NewConnection<'_>, detail: &str, written: OnUpsert) -> Result<(Connection, bool), sqlx::Error> {
        Ok(self.upsert_inner(new, detail, written, None).await?.expect("no link to refuse"))
    }

    /// [`Db::upsert_connection`] through the connect link `link_id`, which the same transaction uses
    /// up: `None` (nothing stored) when the link is no longer open. The outgoing webhook carries the
    /// link's id (`via_link`).
    pub(crate) async fn upsert_connection_through_link(
        &self,
        new: NewConnection<'_>,
        detail: &str,
        written: OnUpsert,
        link_id: &str,
    ) -> Result<Option<(Connection, bool)>, sqlx::Error> {
        self.upsert_inner(new, detail, written, Some(link_id)).await
    }

    async fn upsert_inner(
        &self,
        new: NewConnection<'_>,
        detail: &str,
        written: OnUpsert,
        link: Option<&str>,
    ) -> Result<Option<(Connection, bool)>, sqlx::Error> {
        // Write first: a transaction that reads before writing can't upgrade its lock when another
        // writer got in between (SQLite WAL), which would fail concurrent grants.
        let mut tx = self.pool.begin().await?;
        if let Some(link) = link {
            if !use_link(&mut tx, link, new.now).await? {
                return Ok(None);
            }
        }
        let new_id = format!("conn_{}", uuid::Uuid::new_v4().simple());
        let row = sqlx::query(&format!(
            "INSERT INTO connections (id, provider, account_id, account_name, livemode, scope, status, access_token, refresh_token,
                publishable_key, connected_by_subject, connected_by_name, connected_at, updated_at, last_checked_at,
                access_expires_at, token_version, workspace, refresh_used_at, mode)
             VALUES ($1, $2, $3, $4, $5, $6, 'connected', $7, $8, $9, $10, $11, $12, $12, $12, $13, 1, $14, $12, $15)
             ON CONFLICT (workspace, provider, account_id) DO UPDATE SET
                account_name = excluded.account_name, livemode = excluded.livemode, mode = excluded.mode, scope = excluded.scope,
                status = 'connected', access_token = excluded.access_token, refresh_token = excluded.refresh_token,
                publishable_key = excluded.publishable_key, connected_by_subject = excluded.connected_by_subject,
                connected_by_name = excluded.connected_by_name, connected_at = excluded.connected_at,
                updated_at = excluded.updated_at, last_checked_at = excluded.last_checked_at,
                access_expires_at = excluded.access_expires_at, token_version = connections.token_version + 1,
                renewing_until = NULL, renewal_holder = NULL, refresh_used_at = excluded.refresh_used_at
             RETURNING {VIEW_COLUMNS}"
        ))
        .bind(&new_id)
        .bind(new.provider)
        .bind(new.account_id)
        .bind(new.account_name)
        .bind(new.livemode.map(i64::from))
        .bind(new.scope)
        .bind(new.access_token)
        .bind(new.refresh_token)
        .bind(new.publishable_key)
        .bind(new.connected_by_subject)
        .bind(new.connected_by_name)
        .bind(new.now)
        .bind(new.access_expires_at)
        .bind(new.workspace)
        .bind(new.mode.map(Mode::as_str))
        .fetch_one(&mut *tx)
        .await?;
        let view = view_from_row(&row)?;
        let revision = self.bump_revision(&mut tx).await?;
        // The row keeps its id on conflict, so another id means the account was already known.
        let existed = view.id != new_id;
        let (action, notification) = if existed { written.known } else { written.new };
        insert_event(
            &mut tx,
            &AuditEntry {
                workspace: new.workspace,
                provider: new.provider,
                account_id: new.account_id,
                action,
                success: true,
                actor_subject: new.connected_by_subject,
                actor_name: new.connected_by_name,
                detail,
                at: new.now,
            },
        )
        .await?;
        if let Some(link) = link {
            note_link_connection(&mut tx, link, &view.id).await?;
        }
        if let Some(notification) = notification {
            self.announce_via(&mut tx, &view.id, notification, new.now, link).await?;
        }
        tx.commit().await?;
        self.committed(revision);
        Ok(Some((view, existed)))
    }

    /// One workspace's connections, newest first.
    pub async fn list_connections(&self, workspace: &str) -> Result<Vec<Connection>, sqlx::Error> {
        let rows = sqlx::query(&format!("SELECT {VIEW_COLUMNS} FROM connections WHERE workspace = $1 ORDER BY connected_at DESC, id"))
            .bind(workspace)
            .fetch_all(&self.pool)
            .await?;
        Ok(decodable(&rows, view_from_row))
    }

    /// A connection by id, whatever its workspace: for work the server does itself (renewals,
    /// background checks). Requests use [`Db::connection_in`].
    pub async fn connection(&self, id: &str) -> Result<Option<ConnectionRecord>, sqlx::Error> {
        let row = sqlx::query(&format!("SELECT {RECORD_COLUMNS} FROM connections WHERE id = $1")).bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(record_from_row).transpose()
    }

    /// A connection of `workspace`; another workspace's is not found.
    pub(crate) async fn connection_in(&self, workspace: &str, id: &str) -> Result<Option<ConnectionRecord>, sqlx::Error> {
        let row = sqlx::query(&format!("SELECT {RECORD_COLUMNS} FROM connections WHERE id = $1 AND workspace = $2"))
            .bind(id)
            .bind(workspace)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(record_from_row).transpose()
    }

    pub async fn connection_by_account(&self, workspace: &str, provider: &str, account_id: &str) -> Result<Option<ConnectionRecord>, sqlx::Error> {
        let row = sqlx::query(&format!("SELECT {RECORD_COLUMNS} FROM connections WHERE workspace = $1 AND provider = $2 AND account_id = $3"))
            .bind(workspace)
            .bind(provider)
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(record_from_row).transpose()
    }

    /// Every workspace's connection of one provider account (a provider's webhook concerns them all).
    pub(crate) async fn connections_of_account(&self, provider: &str, account_id: &str) -> Result<Vec<ConnectionRecord>, sqlx::Error> {
        let rows = sqlx::query(&format!("SELECT {RECORD_COLUMNS} FROM connections WHERE provider = $1 AND account_id = $2 ORDER BY id"))
            .bind(provider)
            .bind(account_id)
            .fetch_all(&self.pool)
            .await?;
        // One row that cannot be read must not stop the provider's event for the others.
        Ok(decodable(&rows, record_from_row))
    }

    /// Connections whose tokens a health check should try: connected, or flagged but still holding tokens.
    pub(crate) async fn connections_to_check(&self) -> Result<Vec<ConnectionRecord>, sqlx::Error> {
        let rows = sqlx::query(&format!(
            "SELECT {RECORD_COLUMNS} FROM connections
             WHERE status IN ('connected', 'reauthentication_required') AND access_token IS NOT NULL ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await?;
        Ok(decodable(&rows, record_from_row))
    }

    /// Ends a connection (Disconnected, Revoked): its tokens are forgotten and why is recorded,
    /// together. Only if its tokens are still those of `version`: a renewal or reconnection that got
    /// in between is not overwritten blindly (answers false; read again and decide again).
    /// `provider_event`, a provider's webhook event `(provider, event id)` this ends it for, is remembered
    /// in the same transaction: if the end fails, so does the remembering, and the provider's
    /// redelivery is applied. `announce`, the outgoing webhook the caller chose, is written only
    /// if the connection is ended.
    pub async fn end_connection(
        &self,
        id: &str,
        version: i64,
        status: ConnectionStatus,
        event: AuditEntry<'_>,
        provider_event: Option<(&str, &str)>,
        announce: Option<Notification>,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let ended = sqlx::query(
            "UPDATE connections SET status = $1, access_token = NULL, refresh_token = NULL, access_expires_at = NULL,
                token_version = token_version + 1, renewing_until = NULL, renewal_holder = NULL, updated_at = $2
             WHERE id = $3 AND token_version = $4",
        )
        .bind(status.as_str())
        .bind(event.at)
        .bind(id)
        .bind(version)
        .execute(&mut *tx)
        .await?;
        if ended.rows_affected() != 1 {
            return Ok(false);
        }
        let revision = self.bump_revision(&mut tx).await?;
        insert_event(&mut tx, &event).await?;
        if let Some((provider, event_id)) = provider_event {
            remember_provider_event(&mut tx, provider, event_id, event.at).await?;
        }
        if let Some(notification) = announce {
            self.announce(&mut tx, id, notification, event.at).await?;
        }
        tx.commit().await?;
        self.committed(revision);
        Ok(true)
    }

    /// A health check reached the provider: note when, and the status it found. Only if the tokens
    /// are still those of `version` (the version after any renewal the check made): a disconnect
    /// that got in between stays a disconnect. The audit line is written either way; `if_changed`
    /// (the caller's choice) only when the status changed.
    pub(crate) async fn record_check(
        &self,
        id: &str,
        version: i64,
        status: ConnectionStatus,
        event: AuditEntry<'_>,
        if_changed: IfChanged<'_>,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        // A change of status first (written, not read, so the transaction never upgrades a read
        // lock): only a change writes `if_changed`.
        let update = |only_a_change: bool| {
            sqlx::query(if only_a_change {
                "UPDATE connections SET status = $1, last_checked_at = $2, updated_at = $2
                 WHERE id = $3 AND token_version = $4 AND access_token IS NOT NULL AND status <> $1"
            } else {
                "UPDATE connections SET status = $1, last_checked_at = $2, updated_at = $2
                 WHERE id = $3 AND token_version = $4 AND access_token IS NOT NULL"
            })
            .bind(status.as_str())
            .bind(event.at)
            .bind(id)
            .bind(version)
        };
        let changed = update(true).execute(&mut *tx).await?.rows_affected() == 1;
        let applied = changed || update(false).execute(&mut *tx).await?.rows_affected() == 1;
        let revision = if applied { Some(self.bump_revision(&mut tx).await?) } else { None };
        insert_event(&mut tx, &event).await?;
        if changed {
            self.write_if_changed(&mut tx, id, event.at, &if_changed).await?;
        }
        tx.commit().await?;
        if let Some(revision) = revision {
            self.committed(revision);
        }
        Ok(applied)
    }

    /// How many connections each provider has in each status: `(provider, status, count)`.
    pub(crate) async fn connection_counts(&self) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
        sqlx::query_as("SELECT provider, status, COUNT(*) FROM connections GROUP BY provider, status").fetch_all(&self.pool).await
    }
}

pub(super) fn view_from_row(row: &AnyRow) -> Result<Connection, sqlx::Error> {
    let status: String = row.try_get("status")?;
    Ok(Connection {
        id: row.try_get("id")?,
        provider: row.try_get("provider")?,
        account_id: row.try_get("account_id")?,
        account_name: row.try_get("account_name")?,
        livemode: row.try_get::<Option<i64>, _>("livemode")?.map(|m| m != 0),
        mode: stored_mode(row)?,
        scope: row.try_get("scope")?,
        status: ConnectionStatus::parse(&status).ok_or_else(|| sqlx::Error::Decode(format!("unknown connection status {status:?} in the database").into()))?,
        connected_by: row.try_get("connected_by_name")?,
        connected_at: timestamp(row.try_get("connected_at")?, "connected_at")?,
        last_checked_at: shown_timestamp(row, "last_checked_at")?,
        last_data_at: shown_timestamp(row, "last_data_at")?,
    })
}

pub(super) fn record_from_row(row: &AnyRow) -> Result<ConnectionRecord, sqlx::Error> {
    Ok(ConnectionRecord {
        view: view_from_row(row)?,
        access_token: row.try_get("access_token")?,
        refresh_token: row.try_get("refresh_token")?,
        access_expires_at: row.try_get("access_expires_at")?,
        token_version: row.try_get("token_version")?,
        renewing_until: row.try_get("renewing_until")?,
        workspace: row.try_get("workspace")?,
    })
}
