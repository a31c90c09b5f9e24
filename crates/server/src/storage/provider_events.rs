//! Provider webhook events already applied (`webhook_events`), so a retry or a replay is ignored.

use super::Db;

/// How long processed webhook event ids are kept: longer than Stripe retries (three days).
pub(crate) const WEBHOOK_EVENT_RETENTION_SECS: i64 = 7 * 24 * 3600;

impl Db {
    /// Whether a provider's webhook event was applied before (a retry or a replay). Ids older than
    /// their retention are forgotten first.
    pub(crate) async fn provider_event_applied(&self, provider: &str, event_id: &str, now: i64) -> Result<bool, sqlx::Error> {
        sqlx::query("DELETE FROM webhook_events WHERE received_at < $1").bind(now - WEBHOOK_EVENT_RETENTION_SECS).execute(&self.pool).await?;
        let seen: Option<i64> = sqlx::query_scalar("SELECT 1 FROM webhook_events WHERE provider = $1 AND event_id = $2")
            .bind(provider)
            .bind(event_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(seen.is_some())
    }

    /// Remembers a provider's webhook event whose effect was nothing to change (or was made without
    /// it): a redelivery is then ignored.
    pub(crate) async fn remember_provider_event(&self, provider: &str, event_id: &str, now: i64) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        remember_provider_event(&mut tx, provider, event_id, now).await?;
        tx.commit().await
    }
}

pub(super) async fn remember_provider_event(tx: &mut sqlx::Transaction<'_, sqlx::Any>, provider: &str, event_id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO webhook_events (provider, event_id, received_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
        .bind(provider)
        .bind(event_id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
