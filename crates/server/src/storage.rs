//! Storage through sqlx. Runtime-checked queries, so the build needs no database.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use connections_wire::{ConnectionStatus, ConnectionView};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Row, SqlitePool};

/// How long a connect attempt may take, from "Connect with Stripe" to the grant.
pub const ATTEMPT_LIFETIME_SECS: i64 = 10 * 60;

#[derive(Clone)]
pub struct Db {
    pool: SqlitePool,
}

/// Why a grant's `state` did not match a pending attempt.
#[derive(Debug, PartialEq, Eq)]
pub enum AttemptRefusal {
    /// Never registered, or registered by another session (not told apart, to reveal nothing).
    Unknown,
    AlreadyUsed,
    Expired,
}

/// Everything stored about a new or renewed connection; tokens already encrypted.
pub struct NewConnection<'a> {
    pub provider: &'a str,
    pub account_id: &'a str,
    pub account_name: &'a str,
    pub livemode: bool,
    pub scope: &'a str,
    pub access_token: Vec<u8>,
    pub refresh_token: Option<Vec<u8>>,
    pub publishable_key: Option<&'a str>,
    pub connected_by_subject: &'a str,
    pub connected_by_name: &'a str,
    pub now: i64,
}

const VIEW_COLUMNS: &str = "id, provider, account_id, account_name, livemode, scope, status, connected_by_name, connected_at";

impl Db {
    pub async fn connect(database_url: &str) -> Result<Self, sqlx::Error> {
        let options = SqliteConnectOptions::from_str(database_url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new().max_connections(8).connect_with(options).await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Db { pool })
    }

    pub async fn insert_attempt(&self, state: &str, provider: &str, subject: &str, challenge: &str, now: i64) -> Result<bool, sqlx::Error> {
        // Old attempts are useless after they expire; keep the table small.
        sqlx::query("DELETE FROM connect_attempts WHERE expires_at < ?")
            .bind(now - 24 * 3600)
            .execute(&self.pool)
            .await?;
        let inserted = sqlx::query(
            "INSERT INTO connect_attempts (state, provider, session_subject, code_challenge, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (state) DO NOTHING",
        )
        .bind(state)
        .bind(provider)
        .bind(subject)
        .bind(challenge)
        .bind(now)
        .bind(now + ATTEMPT_LIFETIME_SECS)
        .execute(&self.pool)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    /// Marks the attempt used and returns its PKCE challenge. One statement, so of two concurrent
    /// grants with the same `state` exactly one gets the row.
    pub async fn consume_attempt(
        &self,
        provider: &str,
        state: &str,
        subject: &str,
        now: i64,
    ) -> Result<Result<String, AttemptRefusal>, sqlx::Error> {
        let consumed = sqlx::query(
            "UPDATE connect_attempts SET consumed_at = ?1
             WHERE state = ?2 AND provider = ?3 AND session_subject = ?4 AND consumed_at IS NULL AND expires_at > ?1
             RETURNING code_challenge",
        )
        .bind(now)
        .bind(state)
        .bind(provider)
        .bind(subject)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(row) = consumed {
            return Ok(Ok(row.try_get("code_challenge")?));
        }
        let found = sqlx::query("SELECT session_subject, consumed_at, expires_at FROM connect_attempts WHERE state = ? AND provider = ?")
            .bind(state)
            .bind(provider)
            .fetch_optional(&self.pool)
            .await?;
        Ok(Err(match found {
            None => AttemptRefusal::Unknown,
            Some(row) if row.try_get::<String, _>("session_subject")? != subject => AttemptRefusal::Unknown,
            Some(row) if row.try_get::<Option<i64>, _>("consumed_at")?.is_some() => AttemptRefusal::AlreadyUsed,
            Some(_) => AttemptRefusal::Expired,
        }))
    }

    /// Stores a connection, or renews the existing row for the same provider account. Metadata and
    /// tokens are written by one statement, so there is never a half-written connection.
    pub async fn upsert_connection(&self, new: NewConnection<'_>) -> Result<ConnectionView, sqlx::Error> {
        // One transaction: whatever else is written with a connection commits with it or not at all.
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&format!(
            "INSERT INTO connections (id, provider, account_id, account_name, livemode, scope, status, access_token, refresh_token,
                publishable_key, connected_by_subject, connected_by_name, connected_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, 'connected', ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (provider, account_id) DO UPDATE SET
                account_name = excluded.account_name, livemode = excluded.livemode, scope = excluded.scope,
                status = 'connected', access_token = excluded.access_token, refresh_token = excluded.refresh_token,
                publishable_key = excluded.publishable_key, connected_by_subject = excluded.connected_by_subject,
                connected_by_name = excluded.connected_by_name, connected_at = excluded.connected_at,
                updated_at = excluded.updated_at
             RETURNING {VIEW_COLUMNS}"
        ))
        .bind(format!("conn_{}", uuid::Uuid::new_v4().simple()))
        .bind(new.provider)
        .bind(new.account_id)
        .bind(new.account_name)
        .bind(new.livemode)
        .bind(new.scope)
        .bind(new.access_token)
        .bind(new.refresh_token)
        .bind(new.publishable_key)
        .bind(new.connected_by_subject)
        .bind(new.connected_by_name)
        .bind(new.now)
        .bind(new.now)
        .fetch_one(&mut *tx)
        .await?;
        let view = view_from_row(&row)?;
        tx.commit().await?;
        Ok(view)
    }

    pub async fn list_connections(&self) -> Result<Vec<ConnectionView>, sqlx::Error> {
        let rows = sqlx::query(&format!("SELECT {VIEW_COLUMNS} FROM connections ORDER BY connected_at DESC, id"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(view_from_row).collect()
    }

    /// Counts one `action` by `subject`, unless `limit` were already counted in the last `window_secs`:
    /// then answers how many seconds until one falls out of the window.
    pub async fn count_rate_event(&self, subject: &str, action: &str, now: i64, limit: u32, window_secs: i64) -> Result<Option<u64>, sqlx::Error> {
        let since = now - window_secs;
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM rate_events WHERE subject = ? AND action = ? AND at <= ?")
            .bind(subject)
            .bind(action)
            .bind(since)
            .execute(&mut *tx)
            .await?;
        let (count, oldest): (i64, Option<i64>) =
            sqlx::query_as("SELECT COUNT(*), MIN(at) FROM rate_events WHERE subject = ? AND action = ? AND at > ?")
                .bind(subject)
                .bind(action)
                .bind(since)
                .fetch_one(&mut *tx)
                .await?;
        if count >= i64::from(limit) {
            let retry_after = oldest.map_or(window_secs, |oldest| oldest + window_secs - now).max(1);
            return Ok(Some(retry_after as u64));
        }
        sqlx::query("INSERT INTO rate_events (subject, action, at) VALUES (?, ?, ?)")
            .bind(subject)
            .bind(action)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(None)
    }

    /// The stored (encrypted) access token of a connection, for health checks and tests.
    pub async fn encrypted_access_token(&self, provider: &str, account_id: &str) -> Result<Option<Vec<u8>>, sqlx::Error> {
        sqlx::query_scalar("SELECT access_token FROM connections WHERE provider = ? AND account_id = ?")
            .bind(provider)
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await
    }
}

fn view_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<ConnectionView, sqlx::Error> {
    let status: String = row.try_get("status")?;
    let connected_at: i64 = row.try_get("connected_at")?;
    Ok(ConnectionView {
        id: row.try_get("id")?,
        provider: row.try_get("provider")?,
        account_id: row.try_get("account_id")?,
        account_name: row.try_get("account_name")?,
        livemode: row.try_get("livemode")?,
        scope: row.try_get("scope")?,
        status: ConnectionStatus::parse(&status)
            .ok_or_else(|| sqlx::Error::Decode(format!("unknown connection status {status:?} in the database").into()))?,
        connected_by: row.try_get("connected_by_name")?,
        connected_at: DateTime::<Utc>::from_timestamp(connected_at, 0)
            .ok_or_else(|| sqlx::Error::Decode(format!("connected_at {connected_at} is out of range").into()))?,
    })
}
