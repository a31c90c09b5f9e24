//! The audit trail (`connection_events`): one line per thing done to a connection, failed attempts
//! included.

use connections_wire::{AuditAction, Timestamp};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{timestamp, Db};

/// One line of the audit trail, to be written.
#[derive(Clone, Copy)]
pub struct AuditEntry<'a> {
    pub workspace: &'a str,
    pub provider: &'a str,
    pub account_id: &'a str,
    pub action: AuditAction,
    pub success: bool,
    pub actor_subject: &'a str,
    pub actor_name: &'a str,
    pub detail: &'a str,
    pub at: i64,
}

/// One line of the audit trail, as stored.
#[derive(Clone, Debug)]
pub struct AuditRecord {
    pub at: Timestamp,
    pub action: AuditAction,
    pub success: bool,
    pub actor: String,
    pub provider: String,
    pub account_id: String,
    pub detail: String,
}

const EVENT_COLUMNS: &str = "at, action, CAST(success AS INTEGER) AS success, actor_name, provider, account_id, detail";

impl Db {
    pub(crate) async fn record_event(&self, event: AuditEntry<'_>) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        insert_event(&mut tx, &event).await?;
        tx.commit().await
    }

    /// The audit trail of one account in one workspace, newest first.
    pub(crate) async fn history(&self, workspace: &str, provider: &str, account_id: &str) -> Result<Vec<AuditRecord>, sqlx::Error> {
        let rows = sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} FROM connection_events WHERE workspace = $1 AND provider = $2 AND account_id = $3 ORDER BY at DESC, id DESC"
        ))
        .bind(workspace)
        .bind(provider)
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// A workspace's most recent events across its accounts, failed attempts included, newest first.
    pub(crate) async fn recent_events(&self, workspace: &str, limit: i64) -> Result<Vec<AuditRecord>, sqlx::Error> {
        let rows = sqlx::query(&format!("SELECT {EVENT_COLUMNS} FROM connection_events WHERE workspace = $1 ORDER BY at DESC, id DESC LIMIT $2"))
            .bind(workspace)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// Deletes audit events older than `before` (unix seconds); answers how many.
    pub(crate) async fn prune_events(&self, before: i64) -> Result<u64, sqlx::Error> {
        Ok(sqlx::query("DELETE FROM connection_events WHERE at < $1").bind(before).execute(&self.pool).await?.rows_affected())
    }
}

pub(super) async fn insert_event(tx: &mut sqlx::Transaction<'_, sqlx::Any>, event: &AuditEntry<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO connection_events (provider, account_id, action, success, actor_subject, actor_name, detail, at, workspace)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(event.provider)
    .bind(event.account_id)
    .bind(event.action.as_str())
    .bind(i64::from(event.success))
    .bind(event.actor_subject)
    .bind(event.actor_name)
    .bind(event.detail)
    .bind(event.at)
    .bind(event.workspace)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn event_from_row(row: &AnyRow) -> Result<AuditRecord, sqlx::Error> {
    let action: String = row.try_get("action")?;
    Ok(AuditRecord {
        at: timestamp(row.try_get("at")?, "at")?,
        action: AuditAction::parse(&action).ok_or_else(|| sqlx::Error::Decode(format!("unknown audit action {action:?}").into()))?,
        success: row.try_get::<i64, _>("success")? != 0,
        actor: row.try_get("actor_name")?,
        provider: row.try_get("provider")?,
        account_id: row.try_get("account_id")?,
        detail: row.try_get("detail")?,
    })
}
