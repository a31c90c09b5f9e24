//! What keeps tokens alive beyond one renewal: connections whose refresh token sat unused too long
//! (keep-alive), and who else holds an account's authorization before it is withdrawn for the whole
//! account.

use super::{insert_event, record_from_row, AuditEntry, ConnectionRecord, Db, IfChanged, RenewedTokens, RECORD_COLUMNS};

impl Db {
    /// Claims the renewal of a connection's tokens for `lease_secs` of the database's clock, for
    /// `holder`, if nobody changed them since `version` was read and no other renewal holds the lease.
    /// One statement: of several instances asking at once, exactly one gets it. Storing, refusing and
    /// releasing then need the same `holder`: a renewal whose lease was taken over writes nothing.
    pub async fn claim_renewal(&self, id: &str, version: i64, holder: &str, lease_secs: i64) -> Result<bool, sqlx::Error> {
        let now = self.db_now();
        let claimed = sqlx::query(&format!(
            "UPDATE connections SET renewing_until = {now} + $1, renewal_holder = $2
             WHERE id = $3 AND token_version = $4 AND access_token IS NOT NULL AND (renewing_until IS NULL OR renewing_until < {now})"
        ))
        .bind(lease_secs)
        .bind(holder)
        .bind(id)
        .bind(version)
        .execute(&self.pool)
        .await?;
        Ok(claimed.rows_affected() == 1)
    }

    /// Stores renewed tokens, the new refresh token with the new access token in one write, and
    /// releases the lease, if `holder` still holds it. Answers false when the version moved (the row
    /// was reconnected or disconnected meanwhile) or another renewal took the lease over: then nothing
    /// is written. A connection that needed reauthentication and works again writes `if_recovered`,
    /// the caller's choice.
    pub async fn store_renewal(
        &self,
        id: &str,
        version: i64,
        holder: &str,
        tokens: RenewedTokens,
        event: AuditEntry<'_>,
        if_recovered: IfChanged<'_>,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let now = self.db_now();
        // A recovery first (written, not read, so the transaction never upgrades a read lock).
        let (mut stored, mut recovered) = (false, false);
        for (recovery, only) in [(true, " AND status = 'reauthentication_required'"), (false, "")] {
            let sql = format!(
                "UPDATE connections SET access_token = $1, refresh_token = COALESCE($2, refresh_token), access_expires_at = $3,
                    token_version = token_version + 1, renewing_until = NULL, renewal_holder = NULL, status = 'connected',
                    updated_at = {now}, refresh_used_at = {now}
                 WHERE id = $4 AND token_version = $5 AND access_token IS NOT NULL AND renewal_holder = $6{only}"
            );
            let written = sqlx::query(&sql)
                .bind(tokens.access_token.clone())
                .bind(tokens.refresh_token.clone())
                .bind(tokens.access_expires_at)
                .bind(id)
                .bind(version)
                .bind(holder)
                .execute(&mut *tx)
                .await?;
            if written.rows_affected() == 1 {
                (stored, recovered) = (true, recovery);
                break;
            }
        }
        if !stored {
            return Ok(false);
        }
        let revision = self.bump_revision(&mut tx).await?;
        insert_event(&mut tx, &event).await?;
        if recovered {
            self.write_if_changed(&mut tx, id, event.at, &if_recovered).await?;
        }
        tx.commit().await?;
        self.committed(revision);
        Ok(true)
    }

    /// Gives the lease back without changing the tokens (the provider could not be reached), if
    /// `holder` still holds it.
    pub async fn release_renewal(&self, id: &str, version: i64, holder: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE connections SET renewing_until = NULL, renewal_holder = NULL WHERE id = $1 AND token_version = $2 AND renewal_holder = $3")
            .bind(id)
            .bind(version)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The provider refused the refresh token: the connection needs a new consent. Conditional on
    /// the version, like every token write, and on `holder` still holding the lease, which it releases.
    /// `if_changed`, the caller's choice, is written only if the status changed.
    pub async fn renewal_refused(&self, id: &str, version: i64, holder: &str, event: AuditEntry<'_>, if_changed: IfChanged<'_>) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let now = self.db_now();
        // A change of status first: only a change writes `if_changed`.
        let (mut applied, mut changed) = (false, false);
        for (only_a_change, only) in [(true, " AND status <> 'reauthentication_required'"), (false, "")] {
            let sql = format!(
                "UPDATE connections SET status = 'reauthentication_required', renewing_until = NULL, renewal_holder = NULL,
                    token_version = token_version + 1, updated_at = {now}
                 WHERE id = $1 AND token_version = $2 AND renewal_holder = $3{only}"
            );
            if sqlx::query(&sql).bind(id).bind(version).bind(holder).execute(&mut *tx).await?.rows_affected() == 1 {
                (applied, changed) = (true, only_a_change);
                break;
            }
        }
        if !applied {
            return Ok(false);
        }
        let revision = self.bump_revision(&mut tx).await?;
        insert_event(&mut tx, &event).await?;
        if changed {
            self.write_if_changed(&mut tx, id, event.at, &if_changed).await?;
        }
        tx.commit().await?;
        self.committed(revision);
        Ok(true)
    }

    /// Connections that hold a refresh token not used (nor issued) for `idle_secs` of the
    /// database's clock, oldest first. Rows from before the column count from `connected_at`.
    pub(crate) async fn idle_connections(&self, idle_secs: i64) -> Result<Vec<ConnectionRecord>, sqlx::Error> {
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

    /// How many connections other than `except_id`, in any workspace, still hold tokens for the
    /// provider account.
    pub(crate) async fn others_holding_account(&self, provider: &str, account_id: &str, except_id: Option<&str>) -> Result<i64, sqlx::Error> {
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
    pub(crate) async fn revoked_here_since(&self, provider: &str, account_id: &str, since: i64) -> Result<bool, sqlx::Error> {
        let found: Option<i64> = sqlx::query_scalar("SELECT at FROM own_revocations WHERE provider = $1 AND account_id = $2 AND at >= $3")
            .bind(provider)
            .bind(account_id)
            .bind(since)
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.is_some())
    }
}
