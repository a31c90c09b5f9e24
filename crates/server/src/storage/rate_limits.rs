//! Counted requests (`rate_events`): each session's per-minute allowance per action.

use super::{Backend, Db};

impl Db {
    /// Counts one `action` by `subject` of `workspace`, unless `limit` were already counted in the
    /// last `window_secs`: then answers how many seconds until one falls out of the window. Atomic:
    /// on PostgreSQL the count and the insert run under a transaction-scoped advisory lock of that
    /// subject and action, on SQLite the first write takes the database's one write lock, so a
    /// concurrent burst cannot all read "under the limit".
    pub(crate) async fn count_rate_event(
        &self,
        workspace: &str,
        subject: &str,
        action: &str,
        now: i64,
        limit: u32,
        window_secs: i64,
    ) -> Result<Option<u64>, sqlx::Error> {
        let since = now - window_secs;
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT 1 FROM pg_advisory_xact_lock(hashtextextended($1, 0))")
                .bind(format!("rate:{workspace}:{subject}:{action}"))
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM rate_events WHERE workspace = $1 AND subject = $2 AND action = $3 AND at <= $4")
            .bind(workspace)
            .bind(subject)
            .bind(action)
            .bind(since)
            .execute(&mut *tx)
            .await?;
        let (count, oldest): (i64, Option<i64>) =
            sqlx::query_as("SELECT COUNT(*), MIN(at) FROM rate_events WHERE workspace = $1 AND subject = $2 AND action = $3 AND at > $4")
                .bind(workspace)
                .bind(subject)
                .bind(action)
                .bind(since)
                .fetch_one(&mut *tx)
                .await?;
        if count >= i64::from(limit) {
            let retry_after = oldest.map_or(window_secs, |oldest| oldest + window_secs - now).max(1);
            return Ok(Some(retry_after as u64));
        }
        sqlx::query("INSERT INTO rate_events (workspace, subject, action, at) VALUES ($1, $2, $3, $4)")
            .bind(workspace)
            .bind(subject)
            .bind(action)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(None)
    }

    /// Deletes counted requests older than `before`: each counts only within its minute, and a
    /// session that never comes back would otherwise keep its rows for ever.
    pub(crate) async fn prune_rate_events(&self, before: i64) -> Result<u64, sqlx::Error> {
        Ok(sqlx::query("DELETE FROM rate_events WHERE at < $1").bind(before).execute(&self.pool).await?.rows_affected())
    }
}
