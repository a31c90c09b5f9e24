//! What keeps tokens alive beyond one renewal: connections whose refresh token sat unused too long
//! (keep-alive), a recovery announced when a connection works again, and who else holds an
//! account's authorization before it is withdrawn for the whole account.

use connections_wire::AuditAction;

use super::{insert_event, record_from_row, ConnectionRecord, Db, NewEvent, RECORD_COLUMNS};
use crate::outbox::EventType;

impl Db {
    /// Connections that hold a refresh token not used (nor issued) for `idle_secs` of the
    /// database's clock, oldest first. Rows from before the column count from `connected_at`.
    pub async fn idle_connections(&self, idle_secs: i64) -> Result<Vec<ConnectionRecord>, sqlx::Error> {
        let now = self.db_now();
        let rows = sqlx::query(&format!(
            "SELECT {RECORD_COLUMNS} FROM connections
             WHERE status = 'connected' AND access_token IS NOT NULL AND refresh_token IS NOT NULL
                AND COALESCE(refresh_used_at, connected_at) < {now} - $1
             ORDER BY COALESCE(refresh_used_at, connected_at), id"
        ))
        .bind(idle_secs)
        .fetch_all(&self.pool)
        .await?;
        // One row that cannot be read must not stop every other idle connection's renewal.
        Ok(super::decodable(&rows, record_from_row))
    }

    /// A connection that needed reauthentication works again: its audit line and its outgoing
    /// `connection.recovered`, in the transaction that made it so.
    pub(super) async fn recovered(&self, tx: &mut sqlx::Transaction<'_, sqlx::Any>, id: &str, cause: &NewEvent<'_>) -> Result<(), sqlx::Error> {
        let event = NewEvent {
            action: AuditAction::Recover,
            success: true,
            detail: "Access works again without a new consent: reauthentication is no longer required",
            ..*cause
        };
        insert_event(tx, &event).await?;
        self.announce(tx, id, EventType::Recovered, cause.at).await
    }

    /// How many connections other than `except_id`, in any workspace, still hold tokens for the
    /// provider account.
    pub async fn others_holding_account(&self, provider: &str, account_id: &str, except_id: Option<&str>) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT COUNT(*) FROM connections WHERE provider = $1 AND account_id = $2 AND access_token IS NOT NULL AND id <> $3")
            .bind(provider)
            .bind(account_id)
            .bind(except_id.unwrap_or(""))
            .fetch_one(&self.pool)
            .await
    }

    /// Notes that this server withdrew the account's authorization at the provider, at `now`.
    pub async fn record_own_revocation(&self, provider: &str, account_id: &str, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO own_revocations (provider, account_id, at) VALUES ($1, $2, $3) ON CONFLICT (provider, account_id) DO UPDATE SET at = excluded.at",
        )
        .bind(provider)
        .bind(account_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Whether this server withdrew the account's authorization at the provider since `since`.
    pub async fn revoked_here_since(&self, provider: &str, account_id: &str, since: i64) -> Result<bool, sqlx::Error> {
        let found: Option<i64> = sqlx::query_scalar("SELECT at FROM own_revocations WHERE provider = $1 AND account_id = $2 AND at >= $3")
            .bind(provider)
            .bind(account_id)
            .bind(since)
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.is_some())
    }
}
