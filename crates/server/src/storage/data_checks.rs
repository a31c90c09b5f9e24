//! The last data-access check of each connection, one row per data table.

use connections_wire::TableAccess;
use sqlx::Row;

use super::{insert_event, AuditEntry, Db};

/// A connection's last data-access check, as stored (times in unix seconds).
#[derive(Clone, Debug)]
pub(crate) struct StoredDataCheck {
    pub checked_at: i64,
    pub tables: Vec<StoredTable>,
}

/// One data table's result in a stored check.
#[derive(Clone, Debug)]
pub(crate) struct StoredTable {
    pub table: String,
    pub access: TableAccess,
    pub reason: Option<String>,
    pub newest_at: Option<i64>,
}

impl Db {
    /// Replaces the connection's check with `tables` and sets its last data point (the newest object
    /// read in any table), with its audit line if any, in one transaction.
    pub(crate) async fn store_data_check(
        &self,
        connection_id: &str,
        tables: &[StoredTable],
        now: i64,
        event: Option<AuditEntry<'_>>,
    ) -> Result<(), sqlx::Error> {
        let newest = tables.iter().filter_map(|t| t.newest_at).max();
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query("UPDATE connections SET last_data_at = COALESCE($1, last_data_at), updated_at = $2 WHERE id = $3")
            .bind(newest)
            .bind(now)
            .bind(connection_id)
            .execute(&mut *tx)
            .await?;
        if updated.rows_affected() != 1 {
            return Ok(());
        }
        sqlx::query("DELETE FROM data_checks WHERE connection_id = $1").bind(connection_id).execute(&mut *tx).await?;
        for (position, table) in tables.iter().enumerate() {
            sqlx::query(
                "INSERT INTO data_checks (connection_id, position, table_name, access, reason, newest_at, checked_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(connection_id)
            .bind(position as i64)
            .bind(&table.table)
            .bind(table.access.as_str())
            .bind(table.reason.as_deref())
            .bind(table.newest_at)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        let revision = self.bump_revision(&mut tx).await?;
        if let Some(event) = &event {
            insert_event(&mut tx, event).await?;
        }
        tx.commit().await?;
        self.committed(revision);
        Ok(())
    }

    /// The connection's last data-access check; `None` before the first.
    pub(crate) async fn data_check(&self, connection_id: &str) -> Result<Option<StoredDataCheck>, sqlx::Error> {
        let rows = sqlx::query("SELECT table_name, access, reason, newest_at, checked_at FROM data_checks WHERE connection_id = $1 ORDER BY position")
            .bind(connection_id)
            .fetch_all(&self.pool)
            .await?;
        let Some(first) = rows.first() else { return Ok(None) };
        let checked_at = first.try_get("checked_at")?;
        let tables = rows
            .iter()
            .map(|row| {
                let access: String = row.try_get("access")?;
                Ok(StoredTable {
                    table: row.try_get("table_name")?,
                    access: TableAccess::parse(&access).ok_or_else(|| sqlx::Error::Decode(format!("unknown table access {access:?}").into()))?,
                    reason: row.try_get("reason")?,
                    newest_at: row.try_get("newest_at")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok(Some(StoredDataCheck { checked_at, tables }))
    }
}

/// What `/service/v1/connections` filters on; `None`: any.
#[derive(Debug, Default)]
pub(crate) struct ConnectionFilter<'a> {
    pub workspace: Option<&'a str>,
    pub provider: Option<&'a str>,
    pub status: Option<connections_wire::ConnectionStatus>,
}

impl Db {
    /// Connections of every workspace in id order, after `after` (the cursor), at most `limit`, and
    /// the id to continue after when there are more. A row that cannot be read is logged and
    /// skipped (the page is then shorter); the next page still starts after it.
    pub(crate) async fn connections_page(
        &self,
        filter: &ConnectionFilter<'_>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<(Vec<super::ConnectionRecord>, Option<String>), sqlx::Error> {
        let mut rows = sqlx::query(&format!(
            "SELECT {} FROM connections
             WHERE ($1 IS NULL OR workspace = $1) AND ($2 IS NULL OR provider = $2) AND ($3 IS NULL OR status = $3) AND ($4 IS NULL OR id > $4)
             ORDER BY id LIMIT $5",
            super::RECORD_COLUMNS
        ))
        .bind(filter.workspace)
        .bind(filter.provider)
        .bind(filter.status.map(|s| s.as_str()))
        .bind(after)
        .bind(limit + 1)
        .fetch_all(&self.pool)
        .await?;
        let more = rows.len() as i64 > limit;
        rows.truncate(limit.max(0) as usize);
        let next = if more { rows.last().map(|row| row.try_get::<String, _>("id")).transpose()? } else { None };
        Ok((super::decodable(&rows, super::record_from_row), next))
    }
}
