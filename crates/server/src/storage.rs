//! Storage through sqlx's `Any` driver: the same SQL (with `$N` placeholders, which both drivers bind
//! by number) on SQLite, the embedded default, and on PostgreSQL, for several instances behind a load
//! balancer. Runtime-checked queries, so the build needs no database. Booleans are stored as 0/1
//! integers: that is what both databases hand back through `Any`.

use std::sync::Once;
use std::time::Duration;

use chrono::{DateTime, Utc};
use connections_wire::{AuditAction, AuditEvent, ConnectionStatus, ConnectionView, PendingInstall};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};

/// How long a connect attempt may take, from "Connect with Stripe" to the grant.
pub const ATTEMPT_LIFETIME_SECS: i64 = 10 * 60;
/// How long a provider-started install waits for an administrator's confirmation.
pub const INSTALL_LIFETIME_SECS: i64 = 10 * 60;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of(database_url: &str) -> Option<Self> {
        if database_url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

/// Why a grant's `state` did not match a pending attempt.
#[derive(Debug, PartialEq, Eq)]
pub enum AttemptRefusal {
    /// Never registered, or registered by another session (not told apart, to reveal nothing).
    Unknown,
    AlreadyUsed,
    Expired,
}

/// A consumed attempt: what the grant is checked against and sent with.
#[derive(Debug)]
pub struct ConsumedAttempt {
    pub code_challenge: String,
    /// `None` for attempts stored before return addresses were kept: the server's own was used.
    pub redirect_uri: Option<String>,
}

/// Tokens and account data from a successful exchange, tokens already encrypted.
pub struct NewConnection<'a> {
    pub provider: &'a str,
    pub account_id: &'a str,
    pub account_name: &'a str,
    pub livemode: Option<bool>,
    pub scope: &'a str,
    pub access_token: Vec<u8>,
    pub refresh_token: Option<Vec<u8>>,
    pub access_expires_at: Option<i64>,
    pub publishable_key: Option<&'a str>,
    pub connected_by_subject: &'a str,
    pub connected_by_name: &'a str,
    pub now: i64,
}

/// One line of the audit trail, to be written.
pub struct NewEvent<'a> {
    pub provider: &'a str,
    pub account_id: &'a str,
    pub action: AuditAction,
    pub success: bool,
    pub actor_subject: &'a str,
    pub actor_name: &'a str,
    pub detail: &'a str,
    pub at: i64,
}

/// A connection as the server works with it: the row, and its tokens still encrypted.
pub struct ConnectionRecord {
    pub view: ConnectionView,
    pub access_token: Option<Vec<u8>>,
    pub refresh_token: Option<Vec<u8>>,
    pub access_expires_at: Option<i64>,
    /// Bumped by every token write: a renewal claims and stores against the version it read.
    pub token_version: i64,
    /// A renewal is under way (on some instance) until then.
    pub renewing_until: Option<i64>,
}

/// A renewed access token (and the rolled refresh token, if the provider sent one), encrypted.
pub struct RenewedTokens {
    pub access_token: Vec<u8>,
    pub refresh_token: Option<Vec<u8>>,
    pub access_expires_at: Option<i64>,
}

// Booleans are read through a cast: SQLite reports a column declared BOOLEAN as such, which the Any
// driver refuses, while an expression's value is a plain integer on both databases.
const VIEW_COLUMNS: &str = "id, provider, account_id, account_name, CAST(livemode AS INTEGER) AS livemode, scope, status, \
     connected_by_name, connected_at, last_checked_at";
const RECORD_COLUMNS: &str = "id, provider, account_id, account_name, CAST(livemode AS INTEGER) AS livemode, scope, status, \
     connected_by_name, connected_at, last_checked_at, access_token, refresh_token, access_expires_at, token_version, renewing_until";
const EVENT_COLUMNS: &str = "at, action, CAST(success AS INTEGER) AS success, actor_name, provider, account_id, detail";

impl Db {
    pub async fn connect(database_url: &str) -> Result<Self, sqlx::Error> {
        static DRIVERS: Once = Once::new();
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let backend = Backend::of(database_url).ok_or_else(|| sqlx::Error::Configuration("only sqlite: and postgres:// URLs are supported".into()))?;
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |connection, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // Readers don't block the writer, and a busy writer is waited for, not failed.
                        // synchronous = NORMAL is WAL's recommended setting: no corruption risk, one
                        // fsync per checkpoint instead of per commit (a power cut may lose the last
                        // commits, never half of one).
                        connection
                            .execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;")
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(database_url)
            .await?;
        match backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&pool).await?,
            Backend::Postgres => sqlx::migrate!("./migrations/postgres").run(&pool).await?,
        }
        Ok(Db { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool itself, for tests that need to reach under the API.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub async fn insert_attempt(&self, state: &str, provider: &str, subject: &str, challenge: &str, redirect_uri: &str, now: i64) -> Result<bool, sqlx::Error> {
        // Old attempts are useless after they expire; keep the table small.
        sqlx::query("DELETE FROM connect_attempts WHERE expires_at < $1").bind(now - 24 * 3600).execute(&self.pool).await?;
        let inserted = sqlx::query(
            "INSERT INTO connect_attempts (state, provider, session_subject, code_challenge, created_at, expires_at, redirect_uri)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (state) DO NOTHING",
        )
        .bind(state)
        .bind(provider)
        .bind(subject)
        .bind(challenge)
        .bind(now)
        .bind(now + ATTEMPT_LIFETIME_SECS)
        .bind(redirect_uri)
        .execute(&self.pool)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    /// Marks the attempt used and returns its PKCE challenge and return address. One statement, so
    /// of two concurrent grants with the same `state` exactly one gets the row.
    pub async fn consume_attempt(
        &self,
        provider: &str,
        state: &str,
        subject: &str,
        now: i64,
    ) -> Result<Result<ConsumedAttempt, AttemptRefusal>, sqlx::Error> {
        let consumed = sqlx::query(
            "UPDATE connect_attempts SET consumed_at = $1
             WHERE state = $2 AND provider = $3 AND session_subject = $4 AND consumed_at IS NULL AND expires_at > $1
             RETURNING code_challenge, redirect_uri",
        )
        .bind(now)
        .bind(state)
        .bind(provider)
        .bind(subject)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(row) = consumed {
            return Ok(Ok(ConsumedAttempt { code_challenge: row.try_get("code_challenge")?, redirect_uri: row.try_get("redirect_uri")? }));
        }
        let found = sqlx::query("SELECT session_subject, consumed_at, expires_at FROM connect_attempts WHERE state = $1 AND provider = $2")
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

    /// Stores a connection, or renews the row of the same provider account (re-authentication), and
    /// records it in the audit trail, in one transaction. Answers whether the account was known.
    pub async fn upsert_connection(&self, new: NewConnection<'_>, detail: &str) -> Result<(ConnectionView, bool), sqlx::Error> {
        // Write first: a transaction that reads before writing can't upgrade its lock when another
        // writer got in between (SQLite WAL), which would fail concurrent grants.
        let mut tx = self.pool.begin().await?;
        let new_id = format!("conn_{}", uuid::Uuid::new_v4().simple());
        let row = sqlx::query(&format!(
            "INSERT INTO connections (id, provider, account_id, account_name, livemode, scope, status, access_token, refresh_token,
                publishable_key, connected_by_subject, connected_by_name, connected_at, updated_at, last_checked_at,
                access_expires_at, token_version)
             VALUES ($1, $2, $3, $4, $5, $6, 'connected', $7, $8, $9, $10, $11, $12, $12, $12, $13, 1)
             ON CONFLICT (provider, account_id) DO UPDATE SET
                account_name = excluded.account_name, livemode = excluded.livemode, scope = excluded.scope,
                status = 'connected', access_token = excluded.access_token, refresh_token = excluded.refresh_token,
                publishable_key = excluded.publishable_key, connected_by_subject = excluded.connected_by_subject,
                connected_by_name = excluded.connected_by_name, connected_at = excluded.connected_at,
                updated_at = excluded.updated_at, last_checked_at = excluded.last_checked_at,
                access_expires_at = excluded.access_expires_at, token_version = connections.token_version + 1,
                renewing_until = NULL
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
        .fetch_one(&mut *tx)
        .await?;
        let view = view_from_row(&row)?;
        bump_revision(&mut tx).await?;
        // The row keeps its id on conflict, so another id means the account was already known.
        let existed = view.id != new_id;
        let action = if existed { AuditAction::Reauthenticate } else { AuditAction::Connect };
        insert_event(
            &mut tx,
            &NewEvent {
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
        tx.commit().await?;
        Ok((view, existed))
    }

    /// Changes with every write to `connections` (see [`bump_revision`]).
    pub async fn connections_revision(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT value FROM revisions WHERE name = 'connections'").fetch_one(&self.pool).await
    }

    pub async fn list_connections(&self) -> Result<Vec<ConnectionView>, sqlx::Error> {
        let rows = sqlx::query(&format!("SELECT {VIEW_COLUMNS} FROM connections ORDER BY connected_at DESC, id"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(view_from_row).collect()
    }

    pub async fn connection(&self, id: &str) -> Result<Option<ConnectionRecord>, sqlx::Error> {
        let row = sqlx::query(&format!("SELECT {RECORD_COLUMNS} FROM connections WHERE id = $1")).bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(record_from_row).transpose()
    }

    pub async fn connection_by_account(&self, provider: &str, account_id: &str) -> Result<Option<ConnectionRecord>, sqlx::Error> {
        let row = sqlx::query(&format!("SELECT {RECORD_COLUMNS} FROM connections WHERE provider = $1 AND account_id = $2"))
            .bind(provider)
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(record_from_row).transpose()
    }

    /// Connections whose tokens a health check should try: connected, or flagged but still holding tokens.
    pub async fn connections_to_check(&self) -> Result<Vec<ConnectionRecord>, sqlx::Error> {
        let rows = sqlx::query(&format!(
            "SELECT {RECORD_COLUMNS} FROM connections
             WHERE status IN ('connected', 'reauthentication_required') AND access_token IS NOT NULL ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(record_from_row).collect()
    }

    /// Changes a connection's status (dropping its tokens when asked) and records why, together.
    pub async fn set_status(&self, id: &str, status: ConnectionStatus, forget_tokens: bool, event: NewEvent<'_>) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let sql = if forget_tokens {
            "UPDATE connections SET status = $1, access_token = NULL, refresh_token = NULL, access_expires_at = NULL,
                token_version = token_version + 1, renewing_until = NULL, updated_at = $2 WHERE id = $3"
        } else {
            "UPDATE connections SET status = $1, updated_at = $2 WHERE id = $3"
        };
        sqlx::query(sql).bind(status.as_str()).bind(event.at).bind(id).execute(&mut *tx).await?;
        bump_revision(&mut tx).await?;
        insert_event(&mut tx, &event).await?;
        tx.commit().await
    }

    /// A health check reached the provider: note when, and the status it found. Only while the row
    /// still holds tokens: a disconnect that got in between stays a disconnect.
    pub async fn record_check(&self, id: &str, status: ConnectionStatus, event: NewEvent<'_>) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE connections SET status = $1, last_checked_at = $2, updated_at = $2
             WHERE id = $3 AND access_token IS NOT NULL",
        )
        .bind(status.as_str())
        .bind(event.at)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        bump_revision(&mut tx).await?;
        insert_event(&mut tx, &event).await?;
        tx.commit().await
    }

    /// Claims the renewal of a connection's tokens until `until`, if nobody changed them since
    /// `version` was read and no other renewal holds the lease. One statement: of several instances
    /// asking at once, exactly one gets it.
    pub async fn claim_renewal(&self, id: &str, version: i64, now: i64, until: i64) -> Result<bool, sqlx::Error> {
        let claimed = sqlx::query(
            "UPDATE connections SET renewing_until = $1
             WHERE id = $2 AND token_version = $3 AND access_token IS NOT NULL AND (renewing_until IS NULL OR renewing_until < $4)",
        )
        .bind(until)
        .bind(id)
        .bind(version)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(claimed.rows_affected() == 1)
    }

    /// Stores renewed tokens, the new refresh token with the new access token in one write, and
    /// releases the lease. Answers false when the version moved (the row was reconnected or
    /// disconnected meanwhile): then nothing is written.
    pub async fn store_renewal(&self, id: &str, version: i64, tokens: RenewedTokens, event: NewEvent<'_>) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let stored = sqlx::query(
            "UPDATE connections SET access_token = $1, refresh_token = COALESCE($2, refresh_token), access_expires_at = $3,
                token_version = token_version + 1, renewing_until = NULL, status = 'connected', updated_at = $4
             WHERE id = $5 AND token_version = $6 AND access_token IS NOT NULL",
        )
        .bind(tokens.access_token)
        .bind(tokens.refresh_token)
        .bind(tokens.access_expires_at)
        .bind(event.at)
        .bind(id)
        .bind(version)
        .execute(&mut *tx)
        .await?;
        if stored.rows_affected() != 1 {
            return Ok(false);
        }
        bump_revision(&mut tx).await?;
        insert_event(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Gives the lease back without changing the tokens (the provider could not be reached).
    pub async fn release_renewal(&self, id: &str, version: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE connections SET renewing_until = NULL WHERE id = $1 AND token_version = $2").bind(id).bind(version).execute(&self.pool).await?;
        Ok(())
    }

    /// The provider refused the refresh token: the connection needs a new consent. Conditional on
    /// the version, like every token write, and releases the lease.
    pub async fn renewal_refused(&self, id: &str, version: i64, event: NewEvent<'_>) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE connections SET status = 'reauthentication_required', renewing_until = NULL, token_version = token_version + 1,
                updated_at = $1 WHERE id = $2 AND token_version = $3",
        )
        .bind(event.at)
        .bind(id)
        .bind(version)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Ok(false);
        }
        bump_revision(&mut tx).await?;
        insert_event(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn record_event(&self, event: NewEvent<'_>) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        insert_event(&mut tx, &event).await?;
        tx.commit().await
    }

    /// The audit trail of one account, newest first.
    pub async fn history(&self, provider: &str, account_id: &str) -> Result<Vec<AuditEvent>, sqlx::Error> {
        let rows = sqlx::query(
            &format!("SELECT {EVENT_COLUMNS} FROM connection_events WHERE provider = $1 AND account_id = $2 ORDER BY at DESC, id DESC"),
        )
        .bind(provider)
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// The most recent events across all accounts, failed attempts included, newest first.
    pub async fn recent_events(&self, limit: i64) -> Result<Vec<AuditEvent>, sqlx::Error> {
        let rows = sqlx::query(
            &format!("SELECT {EVENT_COLUMNS} FROM connection_events ORDER BY at DESC, id DESC LIMIT $1"),
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// Counts one `action` by `subject`, unless `limit` were already counted in the last `window_secs`:
    /// then answers how many seconds until one falls out of the window.
    pub async fn count_rate_event(&self, subject: &str, action: &str, now: i64, limit: u32, window_secs: i64) -> Result<Option<u64>, sqlx::Error> {
        let since = now - window_secs;
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM rate_events WHERE subject = $1 AND action = $2 AND at <= $3")
            .bind(subject)
            .bind(action)
            .bind(since)
            .execute(&mut *tx)
            .await?;
        let (count, oldest): (i64, Option<i64>) =
            sqlx::query_as("SELECT COUNT(*), MIN(at) FROM rate_events WHERE subject = $1 AND action = $2 AND at > $3")
                .bind(subject)
                .bind(action)
                .bind(since)
                .fetch_one(&mut *tx)
                .await?;
        if count >= i64::from(limit) {
            let retry_after = oldest.map_or(window_secs, |oldest| oldest + window_secs - now).max(1);
            return Ok(Some(retry_after as u64));
        }
        sqlx::query("INSERT INTO rate_events (subject, action, at) VALUES ($1, $2, $3)")
            .bind(subject)
            .bind(action)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(None)
    }

    pub async fn insert_install(&self, install: &PendingInstall, subject: &str, tokens: RenewedTokens, publishable_key: Option<&str>, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM pending_installs WHERE expires_at < $1").bind(now).execute(&self.pool).await?;
        sqlx::query(
            "INSERT INTO pending_installs (id, provider, session_subject, account_id, account_name, livemode, scope, access_token,
                refresh_token, publishable_key, created_at, expires_at, access_expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(&install.id)
        .bind(&install.provider)
        .bind(subject)
        .bind(&install.account_id)
        .bind(&install.account_name)
        .bind(install.livemode.map(i64::from))
        .bind(&install.scope)
        .bind(tokens.access_token)
        .bind(tokens.refresh_token)
        .bind(publishable_key)
        .bind(now)
        .bind(install.expires_at.timestamp())
        .bind(tokens.access_expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Removes and returns a pending install of this session that has not expired: single use.
    pub async fn take_install(&self, provider: &str, id: &str, subject: &str, now: i64) -> Result<Option<TakenInstall>, sqlx::Error> {
        let row = sqlx::query(
            "DELETE FROM pending_installs WHERE id = $1 AND provider = $2 AND session_subject = $3 AND expires_at > $4
             RETURNING account_id, account_name, CAST(livemode AS INTEGER) AS livemode, scope, access_token, refresh_token, publishable_key,
                access_expires_at",
        )
        .bind(id)
        .bind(provider)
        .bind(subject)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(TakenInstall {
                account_id: row.try_get("account_id")?,
                account_name: row.try_get("account_name")?,
                livemode: row.try_get::<Option<i64>, _>("livemode")?.map(|m| m != 0),
                scope: row.try_get("scope")?,
                access_token: row.try_get("access_token")?,
                refresh_token: row.try_get("refresh_token")?,
                publishable_key: row.try_get("publishable_key")?,
                access_expires_at: row.try_get("access_expires_at")?,
            })
        })
        .transpose()
    }
}

pub struct TakenInstall {
    pub account_id: String,
    pub account_name: String,
    pub livemode: Option<bool>,
    pub scope: String,
    pub access_token: Vec<u8>,
    pub refresh_token: Option<Vec<u8>>,
    pub publishable_key: Option<String>,
    pub access_expires_at: Option<i64>,
}

/// Every transaction that writes `connections` calls this, so the revision moves with the data.
async fn bump_revision(tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE revisions SET value = value + 1 WHERE name = 'connections'").execute(&mut **tx).await?;
    Ok(())
}

async fn insert_event(tx: &mut sqlx::Transaction<'_, sqlx::Any>, event: &NewEvent<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO connection_events (provider, account_id, action, success, actor_subject, actor_name, detail, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(event.provider)
    .bind(event.account_id)
    .bind(event.action.as_str())
    .bind(i64::from(event.success))
    .bind(event.actor_subject)
    .bind(event.actor_name)
    .bind(event.detail)
    .bind(event.at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn timestamp(value: i64, column: &str) -> Result<DateTime<Utc>, sqlx::Error> {
    DateTime::<Utc>::from_timestamp(value, 0).ok_or_else(|| sqlx::Error::Decode(format!("{column} {value} is out of range").into()))
}

fn view_from_row(row: &AnyRow) -> Result<ConnectionView, sqlx::Error> {
    let status: String = row.try_get("status")?;
    Ok(ConnectionView {
        id: row.try_get("id")?,
        provider: row.try_get("provider")?,
        account_id: row.try_get("account_id")?,
        account_name: row.try_get("account_name")?,
        livemode: row.try_get::<Option<i64>, _>("livemode")?.map(|m| m != 0),
        scope: row.try_get("scope")?,
        status: ConnectionStatus::parse(&status)
            .ok_or_else(|| sqlx::Error::Decode(format!("unknown connection status {status:?} in the database").into()))?,
        connected_by: row.try_get("connected_by_name")?,
        connected_at: timestamp(row.try_get("connected_at")?, "connected_at")?,
        last_checked_at: row.try_get::<Option<i64>, _>("last_checked_at")?.map(|at| timestamp(at, "last_checked_at")).transpose()?,
    })
}

fn record_from_row(row: &AnyRow) -> Result<ConnectionRecord, sqlx::Error> {
    Ok(ConnectionRecord {
        view: view_from_row(row)?,
        access_token: row.try_get("access_token")?,
        refresh_token: row.try_get("refresh_token")?,
        access_expires_at: row.try_get("access_expires_at")?,
        token_version: row.try_get("token_version")?,
        renewing_until: row.try_get("renewing_until")?,
    })
}

fn event_from_row(row: &AnyRow) -> Result<AuditEvent, sqlx::Error> {
    let action: String = row.try_get("action")?;
    Ok(AuditEvent {
        at: timestamp(row.try_get("at")?, "at")?,
        action: AuditAction::parse(&action).ok_or_else(|| sqlx::Error::Decode(format!("unknown audit action {action:?}").into()))?,
        success: row.try_get::<i64, _>("success")? != 0,
        actor: row.try_get("actor_name")?,
        provider: row.try_get("provider")?,
        account_id: row.try_get("account_id")?,
        detail: row.try_get("detail")?,
    })
}
