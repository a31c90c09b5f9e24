//! Connect links (`connect_links`): a token, stored only as its SHA-256, that lets whoever holds it
//! connect one provider for one workspace, once, before it expires, unless it was revoked.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::audit::insert_event;
use super::{AuditEntry, Db};

/// A link to be stored.
pub(crate) struct NewLink<'a> {
    pub id: &'a str,
    pub token_hash: &'a str,
    pub workspace: &'a str,
    pub workspace_name: &'a str,
    pub provider: &'a str,
    pub connection_id: Option<&'a str>,
    pub created_by_subject: &'a str,
    pub created_by_name: &'a str,
    pub note: Option<&'a str>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A link as stored.
#[derive(Clone, Debug)]
pub(crate) struct StoredLink {
    pub id: String,
    pub workspace: String,
    pub workspace_name: String,
    pub provider: String,
    pub connection_id: Option<String>,
    pub created_by_name: String,
    pub note: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub used_at: Option<i64>,
    pub used_by_connection: Option<String>,
}

/// Where a link stands at `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LinkState {
    Open,
    Used,
    Revoked,
    Expired,
}

impl StoredLink {
    pub(crate) fn state(&self, now: i64) -> LinkState {
        if self.used_at.is_some() {
            LinkState::Used
        } else if self.revoked_at.is_some() {
            LinkState::Revoked
        } else if self.expires_at <= now {
            LinkState::Expired
        } else {
            LinkState::Open
        }
    }
}

const LINK_COLUMNS: &str = "id, workspace, workspace_name, provider, connection_id, created_by_name, note, created_at, expires_at, \
     revoked_at, used_at, used_by_connection";

fn link_from_row(row: &AnyRow) -> Result<StoredLink, sqlx::Error> {
    Ok(StoredLink {
        id: row.try_get("id")?,
        workspace: row.try_get("workspace")?,
        workspace_name: row.try_get("workspace_name")?,
        provider: row.try_get("provider")?,
        connection_id: row.try_get("connection_id")?,
        created_by_name: row.try_get("created_by_name")?,
        note: row.try_get("note")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
        used_at: row.try_get("used_at")?,
        used_by_connection: row.try_get("used_by_connection")?,
    })
}

impl Db {
    /// Stores a new link and its audit line, together.
    pub(crate) async fn insert_link(&self, link: &NewLink<'_>, audit: AuditEntry<'_>) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO connect_links (id, token_hash, workspace, workspace_name, provider, connection_id, created_by_subject, created_by_name,
                note, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(link.id)
        .bind(link.token_hash)
        .bind(link.workspace)
        .bind(link.workspace_name)
        .bind(link.provider)
        .bind(link.connection_id)
        .bind(link.created_by_subject)
        .bind(link.created_by_name)
        .bind(link.note)
        .bind(link.created_at)
        .bind(link.expires_at)
        .execute(&mut *tx)
        .await?;
        insert_event(&mut tx, &audit).await?;
        tx.commit().await
    }

    /// The link whose token has this hash, whatever its state.
    pub(crate) async fn link_by_token_hash(&self, token_hash: &str) -> Result<Option<StoredLink>, sqlx::Error> {
        let row = sqlx::query(&format!("SELECT {LINK_COLUMNS} FROM connect_links WHERE token_hash = $1")).bind(token_hash).fetch_optional(&self.pool).await?;
        row.as_ref().map(link_from_row).transpose()
    }

    /// A link of `workspace`; another workspace's is not found.
    pub(crate) async fn link_in(&self, workspace: &str, id: &str) -> Result<Option<StoredLink>, sqlx::Error> {
        let row = sqlx::query(&format!("SELECT {LINK_COLUMNS} FROM connect_links WHERE workspace = $1 AND id = $2"))
            .bind(workspace)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(link_from_row).transpose()
    }

    /// A workspace's links, newest first: every one still open, and the others of the last `recent_secs`.
    pub(crate) async fn links_of(&self, workspace: &str, now: i64, recent_secs: i64) -> Result<Vec<StoredLink>, sqlx::Error> {
        let rows = sqlx::query(&format!(
            "SELECT {LINK_COLUMNS} FROM connect_links WHERE workspace = $1 AND (expires_at > $2 OR created_at > $3) ORDER BY created_at DESC, id LIMIT 200"
        ))
        .bind(workspace)
        .bind(now)
        .bind(now - recent_secs)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(link_from_row).collect()
    }

    /// Revokes a link of `workspace` that is still open; answers whether it was. The audit line is
    /// written only then.
    pub(crate) async fn revoke_link(&self, workspace: &str, id: &str, now: i64, audit: AuditEntry<'_>) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let revoked = sqlx::query(
            "UPDATE connect_links SET revoked_at = $1 WHERE workspace = $2 AND id = $3 AND revoked_at IS NULL AND used_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .bind(workspace)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !revoked {
            return Ok(false);
        }
        insert_event(&mut tx, &audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Writes an audit line about a link (opened).
    pub(crate) async fn record_link_event(&self, audit: AuditEntry<'_>) -> Result<(), sqlx::Error> {
        self.record_event(audit).await
    }

    /// Links that expired unused and whose expiry is not yet in the audit trail: marked, and
    /// `audit` made for each, in one transaction. Answers how many.
    pub(crate) async fn record_expired_links(&self, now: i64, audit: impl Fn(&StoredLink) -> (String, String)) -> Result<u64, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(&format!(
            "UPDATE connect_links SET expiry_recorded = 1
             WHERE expiry_recorded = 0 AND expires_at <= $1 AND used_at IS NULL AND revoked_at IS NULL RETURNING {LINK_COLUMNS}"
        ))
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        let links: Vec<StoredLink> = rows.iter().map(link_from_row).collect::<Result<_, _>>()?;
        for link in &links {
            let (account_id, detail) = audit(link);
            let entry = AuditEntry {
                workspace: &link.workspace,
                provider: &link.provider,
                account_id: &account_id,
                action: connections_wire::AuditAction::ConnectLink,
                success: true,
                actor_subject: "connect-link",
                actor_name: "Connect link",
                detail: &detail,
                at: now,
            };
            insert_event(&mut tx, &entry).await?;
        }
        tx.commit().await?;
        Ok(links.len() as u64)
    }
}

/// Claims the link for a connection in `tx`: only if it is still open. Answers whether it was.
pub(super) async fn use_link(tx: &mut sqlx::Transaction<'_, sqlx::Any>, id: &str, now: i64) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query("UPDATE connect_links SET used_at = $1 WHERE id = $2 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $1")
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?
        .rows_affected()
        == 1)
}

/// Notes which connection the link was used for.
pub(super) async fn note_link_connection(tx: &mut sqlx::Transaction<'_, sqlx::Any>, id: &str, connection_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE connect_links SET used_by_connection = $1 WHERE id = $2").bind(connection_id).bind(id).execute(&mut **tx).await?;
    Ok(())
}
