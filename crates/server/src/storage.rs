//! Storage through sqlx's `Any` driver: the same SQL (with `$N` placeholders, which both drivers bind
//! by number) on SQLite, the embedded default, and on PostgreSQL, for several instances behind a load
//! balancer. Runtime-checked queries, so the build needs no database. Booleans are stored as 0/1
//! integers: that is what both databases hand back through `Any`.

use std::sync::Once;
use std::time::Duration;

use chrono::{DateTime, Utc};
use connections_wire::{AuditAction, AuditEvent, ConnectionStatus, ConnectionView, PendingInstall, Timestamp};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};

use crate::outbox::EventType;

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

mod data_checks;
mod outbox;
mod renewals;
mod reseal;
mod revision;

pub use data_checks::ConnectionFilter;
pub use outbox::DueEvent;
pub use reseal::StoredToken;
pub use revision::SQLITE_POLL as REVISION_POLL;

#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// Whether changes to connections are announced in the webhook outbox (a receiver is configured).
    outbox: bool,
    /// The connections revision as this instance knows it (see `revision`).
    revision: std::sync::Arc<revision::Follower>,
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
    pub workspace: &'a str,
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
#[derive(Clone, Copy)]
pub struct NewEvent<'a> {
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

/// A connection as the server works with it: the row, and its tokens still encrypted.
pub struct ConnectionRecord {
    pub view: ConnectionView,
    pub workspace: String,
    pub access_token: Option<Vec<u8>>,
    pub refresh_token: Option<Vec<u8>>,
    pub access_expires_at: Option<i64>,
    /// Bumped by every token write: a renewal claims and stores against the version it read.
    pub token_version: i64,
    /// A renewal is under way (on some instance) until then.
    pub renewing_until: Option<i64>,
}

/// A renewed access token (and the rolled refresh token, if the provider sent one), encrypted.
#[derive(Clone)]
pub struct RenewedTokens {
    pub access_token: Vec<u8>,
    pub refresh_token: Option<Vec<u8>>,
    pub access_expires_at: Option<i64>,
}

// Booleans are read through a cast: SQLite reports a column declared BOOLEAN as such, which the Any
// driver refuses, while an expression's value is a plain integer on both databases.
const VIEW_COLUMNS: &str = "id, provider, account_id, account_name, CAST(livemode AS INTEGER) AS livemode, scope, status, \
     connected_by_name, connected_at, last_checked_at, last_data_at";
const RECORD_COLUMNS: &str = "id, provider, account_id, account_name, CAST(livemode AS INTEGER) AS livemode, scope, status, \
     connected_by_name, connected_at, last_checked_at, last_data_at, access_token, refresh_token, access_expires_at, token_version, renewing_until, workspace";
const EVENT_COLUMNS: &str = "at, action, CAST(success AS INTEGER) AS success, actor_name, provider, account_id, detail";

/// How long processed webhook event ids are kept: longer than Stripe retries (three days).
pub const WEBHOOK_EVENT_RETENTION_SECS: i64 = 7 * 24 * 3600;

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
        let revision = std::sync::Arc::new(revision::Follower::start(&pool, backend, database_url).await?);
        Ok(Db { pool, backend, outbox: false, revision })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Announce every change to a connection in the webhook outbox, in its own transaction.
    pub fn with_outbox(mut self, enabled: bool) -> Self {
        self.outbox = enabled;
        self
    }

    /// The pool itself, for tests that need to reach under the API.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn insert_attempt(
        &self,
        workspace: &str,
        state: &str,
        provider: &str,
        subject: &str,
        challenge: &str,
        redirect_uri: &str,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        // Old attempts are useless after they expire; keep the table small.
        sqlx::query("DELETE FROM connect_attempts WHERE expires_at < $1").bind(now - 24 * 3600).execute(&self.pool).await?;
        let inserted = sqlx::query(
            "INSERT INTO connect_attempts (state, provider, session_subject, code_challenge, created_at, expires_at, redirect_uri, workspace)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (state) DO NOTHING",
        )
        .bind(state)
        .bind(provider)
        .bind(subject)
        .bind(challenge)
        .bind(now)
        .bind(now + ATTEMPT_LIFETIME_SECS)
        .bind(redirect_uri)
        .bind(workspace)
        .execute(&self.pool)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    /// Marks the attempt used and returns its PKCE challenge and return address. One statement, so
    /// of two concurrent grants with the same `state` exactly one gets the row.
    pub async fn consume_attempt(
        &self,
        workspace: &str,
        provider: &str,
        state: &str,
        subject: &str,
        now: i64,
    ) -> Result<Result<ConsumedAttempt, AttemptRefusal>, sqlx::Error> {
        let consumed = sqlx::query(
            "UPDATE connect_attempts SET consumed_at = $1
             WHERE state = $2 AND provider = $3 AND session_subject = $4 AND workspace = $5 AND consumed_at IS NULL AND expires_at > $1
             RETURNING code_challenge, redirect_uri",
        )
        .bind(now)
        .bind(state)
        .bind(provider)
        .bind(subject)
        .bind(workspace)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(row) = consumed {
            return Ok(Ok(ConsumedAttempt { code_challenge: row.try_get("code_challenge")?, redirect_uri: row.try_get("redirect_uri")? }));
        }
        let found = sqlx::query("SELECT session_subject, workspace, consumed_at, expires_at FROM connect_attempts WHERE state = $1 AND provider = $2")
            .bind(state)
            .bind(provider)
            .fetch_optional(&self.pool)
            .await?;
        Ok(Err(match found {
            None => AttemptRefusal::Unknown,
            Some(row) if row.try_get::<String, _>("session_subject")? != subject || row.try_get::<String, _>("workspace")? != workspace => {
                AttemptRefusal::Unknown
            }
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
                access_expires_at, token_version, workspace, refresh_used_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'connected', $7, $8, $9, $10, $11, $12, $12, $12, $13, 1, $14, $12)
             ON CONFLICT (workspace, provider, account_id) DO UPDATE SET
                account_name = excluded.account_name, livemode = excluded.livemode, scope = excluded.scope,
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
        .fetch_one(&mut *tx)
        .await?;
        let view = view_from_row(&row)?;
        let revision = self.bump_revision(&mut tx).await?;
        // The row keeps its id on conflict, so another id means the account was already known.
        let existed = view.id != new_id;
        let action = if existed { AuditAction::Reauthenticate } else { AuditAction::Connect };
        insert_event(
            &mut tx,
            &NewEvent {
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
        let announced = if existed { EventType::Reauthenticated } else { EventType::Created };
        self.announce(&mut tx, &view.id, announced, new.now).await?;
        tx.commit().await?;
        self.committed(revision);
        Ok((view, existed))
    }

    /// Changes with every write to `connections` (see [`Db::bump_revision`]). From memory while it
    /// follows the database: this instance's writes at once, other instances' within the bound of
    /// `revision`; from the database while it does not (PostgreSQL's listener reconnecting).
    pub async fn connections_revision(&self) -> Result<i64, sqlx::Error> {
        if let Some(known) = self.revision.memory.current() {
            return Ok(known);
        }
        let read = revision::read(&self.pool).await?;
        self.revision.memory.saw(read);
        Ok(read)
    }

    /// One workspace's connections, newest first.
    pub async fn list_connections(&self, workspace: &str) -> Result<Vec<ConnectionView>, sqlx::Error> {
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
    pub async fn connection_in(&self, workspace: &str, id: &str) -> Result<Option<ConnectionRecord>, sqlx::Error> {
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
    pub async fn connections_of_account(&self, provider: &str, account_id: &str) -> Result<Vec<ConnectionRecord>, sqlx::Error> {
        let rows = sqlx::query(&format!("SELECT {RECORD_COLUMNS} FROM connections WHERE provider = $1 AND account_id = $2 ORDER BY id"))
            .bind(provider)
            .bind(account_id)
            .fetch_all(&self.pool)
            .await?;
        // One row that cannot be read must not stop the provider's event for the others.
        Ok(decodable(&rows, record_from_row))
    }

    /// Connections whose tokens a health check should try: connected, or flagged but still holding tokens.
    pub async fn connections_to_check(&self) -> Result<Vec<ConnectionRecord>, sqlx::Error> {
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
    /// `delivery`, a provider's webhook event `(provider, event id)` this ends it for, is remembered
    /// in the same transaction: if the end fails, so does the remembering, and the provider's
    /// redelivery is applied.
    pub async fn end_connection(
        &self,
        id: &str,
        version: i64,
        status: ConnectionStatus,
        event: NewEvent<'_>,
        delivery: Option<(&str, &str)>,
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
        if let Some((provider, event_id)) = delivery {
            remember_delivery(&mut tx, provider, event_id, event.at).await?;
        }
        match status {
            ConnectionStatus::Revoked => self.announce(&mut tx, id, EventType::Revoked, event.at).await?,
            ConnectionStatus::Disconnected => self.announce(&mut tx, id, EventType::Disconnected, event.at).await?,
            ConnectionStatus::Connected | ConnectionStatus::ReauthenticationRequired => {}
        }
        tx.commit().await?;
        self.committed(revision);
        Ok(true)
    }

    /// A health check reached the provider: note when, and the status it found. Only if the tokens
    /// are still those of `version` (the version after any renewal the check made): a disconnect
    /// that got in between stays a disconnect. The audit line is written either way.
    pub async fn record_check(&self, id: &str, version: i64, status: ConnectionStatus, event: NewEvent<'_>) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        // A change of status first (written, not read, so the transaction never upgrades a read
        // lock): only a change is announced.
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
        if changed && status == ConnectionStatus::ReauthenticationRequired {
            self.announce(&mut tx, id, EventType::ReauthenticationRequired, event.at).await?;
        }
        insert_event(&mut tx, &event).await?;
        if changed && status == ConnectionStatus::Connected {
            self.recovered(&mut tx, id, &event).await?;
        }
        tx.commit().await?;
        if let Some(revision) = revision {
            self.committed(revision);
        }
        Ok(applied)
    }

    /// The database's clock, in unix seconds, as an SQL expression: leases are timed by it, never by
    /// an instance's own clock, so instances whose clocks disagree still agree on who holds one.
    fn db_now(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "CAST(strftime('%s', 'now') AS INTEGER)",
            Backend::Postgres => "CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp())) AS BIGINT)",
        }
    }

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
    /// is written. A connection that needed reauthentication and works again is announced as recovered.
    pub async fn store_renewal(&self, id: &str, version: i64, holder: &str, tokens: RenewedTokens, event: NewEvent<'_>) -> Result<bool, sqlx::Error> {
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
            self.recovered(&mut tx, id, &event).await?;
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
    pub async fn renewal_refused(&self, id: &str, version: i64, holder: &str, event: NewEvent<'_>) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let now = self.db_now();
        // A change of status first: only a change is announced.
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
            self.announce(&mut tx, id, EventType::ReauthenticationRequired, event.at).await?;
        }
        tx.commit().await?;
        self.committed(revision);
        Ok(true)
    }

    pub async fn record_event(&self, event: NewEvent<'_>) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        insert_event(&mut tx, &event).await?;
        tx.commit().await
    }

    /// The audit trail of one account in one workspace, newest first.
    pub async fn history(&self, workspace: &str, provider: &str, account_id: &str) -> Result<Vec<AuditEvent>, sqlx::Error> {
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
    pub async fn recent_events(&self, workspace: &str, limit: i64) -> Result<Vec<AuditEvent>, sqlx::Error> {
        let rows = sqlx::query(&format!("SELECT {EVENT_COLUMNS} FROM connection_events WHERE workspace = $1 ORDER BY at DESC, id DESC LIMIT $2"))
            .bind(workspace)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// Counts one `action` by `subject` of `workspace`, unless `limit` were already counted in the
    /// last `window_secs`: then answers how many seconds until one falls out of the window. Atomic:
    /// on PostgreSQL the count and the insert run under a transaction-scoped advisory lock of that
    /// subject and action, on SQLite the first write takes the database's one write lock, so a
    /// concurrent burst cannot all read "under the limit".
    pub async fn count_rate_event(
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

    /// Removes installs nobody answered in time and hands them back, so their authorizations can be
    /// withdrawn at the provider.
    pub async fn take_expired_installs(&self, now: i64) -> Result<Vec<TakenInstall>, sqlx::Error> {
        let rows = sqlx::query(
            "DELETE FROM pending_installs WHERE expires_at < $1
             RETURNING provider, workspace, account_id, account_name, CAST(livemode AS INTEGER) AS livemode, scope, access_token,
                refresh_token, publishable_key, access_expires_at",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(install_from_row).collect()
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn insert_install(
        &self,
        workspace: &str,
        install: &PendingInstall,
        subject: &str,
        tokens: RenewedTokens,
        publishable_key: Option<&str>,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO pending_installs (id, provider, session_subject, account_id, account_name, livemode, scope, access_token,
                refresh_token, publishable_key, created_at, expires_at, access_expires_at, workspace)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
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
        .bind(workspace)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Removes and returns a pending install of this session that has not expired: single use.
    pub async fn take_install(&self, workspace: &str, provider: &str, id: &str, subject: &str, now: i64) -> Result<Option<TakenInstall>, sqlx::Error> {
        let row = sqlx::query(
            "DELETE FROM pending_installs WHERE id = $1 AND provider = $2 AND session_subject = $3 AND expires_at > $4 AND workspace = $5
             RETURNING provider, workspace, account_id, account_name, CAST(livemode AS INTEGER) AS livemode, scope, access_token,
                refresh_token, publishable_key, access_expires_at",
        )
        .bind(id)
        .bind(provider)
        .bind(subject)
        .bind(now)
        .bind(workspace)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(install_from_row).transpose()
    }

    /// Whether a provider's webhook event was applied before (a retry or a replay). Ids older than
    /// their retention are forgotten first.
    pub async fn delivery_applied(&self, provider: &str, event_id: &str, now: i64) -> Result<bool, sqlx::Error> {
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
    pub async fn remember_delivery(&self, provider: &str, event_id: &str, now: i64) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        remember_delivery(&mut tx, provider, event_id, now).await?;
        tx.commit().await
    }

    /// Takes the lease `name` for `holder` until `until`, if nobody else holds it now. One statement
    /// per database, so of several instances asking at once exactly one gets it.
    pub async fn acquire_lease(&self, name: &str, holder: &str, now: i64, until: i64) -> Result<bool, sqlx::Error> {
        let taken = sqlx::query(
            "INSERT INTO leases (name, holder, until) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
             WHERE leases.until <= $4 OR leases.holder = excluded.holder",
        )
        .bind(name)
        .bind(holder)
        .bind(until)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(taken.rows_affected() == 1)
    }

    /// Deletes audit events older than `before` (unix seconds); answers how many.
    pub async fn prune_events(&self, before: i64) -> Result<u64, sqlx::Error> {
        Ok(sqlx::query("DELETE FROM connection_events WHERE at < $1").bind(before).execute(&self.pool).await?.rows_affected())
    }

    /// Deletes counted requests older than `before`: each counts only within its minute, and a
    /// session that never comes back would otherwise keep its rows for ever.
    pub async fn prune_rate_events(&self, before: i64) -> Result<u64, sqlx::Error> {
        Ok(sqlx::query("DELETE FROM rate_events WHERE at < $1").bind(before).execute(&self.pool).await?.rows_affected())
    }
}

// ---- Operating (`observability`): readiness and the connections gauge. Kept apart from the
// methods above so that work on either does not meet.
impl Db {
    /// The migrations this build embeds that the database has not applied (successfully): empty when
    /// it is current. A database migrated further by a newer instance is current for this one.
    pub async fn missing_migrations(&self) -> Result<Vec<(i64, String)>, sqlx::Error> {
        let migrator = match self.backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
        };
        let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE CAST(success AS INTEGER) = 1").fetch_all(&self.pool).await?;
        Ok(migrator
            .iter()
            .filter(|migration| !migration.migration_type.is_down_migration() && !applied.contains(&migration.version))
            .map(|migration| (migration.version, migration.description.to_string()))
            .collect())
    }

    /// How many connections each provider has in each status: `(provider, status, count)`.
    pub async fn connection_counts(&self) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
        sqlx::query_as("SELECT provider, status, COUNT(*) FROM connections GROUP BY provider, status").fetch_all(&self.pool).await
    }
}

fn install_from_row(row: &AnyRow) -> Result<TakenInstall, sqlx::Error> {
    Ok(TakenInstall {
        provider: row.try_get("provider")?,
        workspace: row.try_get("workspace")?,
        account_id: row.try_get("account_id")?,
        account_name: row.try_get("account_name")?,
        livemode: row.try_get::<Option<i64>, _>("livemode")?.map(|m| m != 0),
        scope: row.try_get("scope")?,
        access_token: row.try_get("access_token")?,
        refresh_token: row.try_get("refresh_token")?,
        publishable_key: row.try_get("publishable_key")?,
        access_expires_at: row.try_get("access_expires_at")?,
    })
}

pub struct TakenInstall {
    pub provider: String,
    pub workspace: String,
    pub account_id: String,
    pub account_name: String,
    pub livemode: Option<bool>,
    pub scope: String,
    pub access_token: Vec<u8>,
    pub refresh_token: Option<Vec<u8>>,
    pub publishable_key: Option<String>,
    pub access_expires_at: Option<i64>,
}

impl Db {
    /// Every transaction that writes `connections` calls this, so the revision moves with the data,
    /// and hands the answer to [`Db::committed`] after its commit. On PostgreSQL the other instances
    /// are told in the same transaction (a `NOTIFY` is delivered on commit, or never).
    async fn bump_revision(&self, tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<i64, sqlx::Error> {
        let revision: i64 =
            sqlx::query_scalar("UPDATE revisions SET value = value + 1 WHERE name = 'connections' RETURNING value").fetch_one(&mut **tx).await?;
        if self.backend == Backend::Postgres {
            // NOTIFY takes no parameters; the payload is a number.
            (&mut **tx).execute(format!("NOTIFY {}, '{revision}'", revision::CHANNEL).as_str()).await?;
        }
        Ok(revision)
    }

    /// A bumped revision, committed: this instance's next list answers it.
    fn committed(&self, revision: i64) {
        self.revision.memory.saw(revision);
    }
}

async fn insert_event(tx: &mut sqlx::Transaction<'_, sqlx::Any>, event: &NewEvent<'_>) -> Result<(), sqlx::Error> {
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

async fn remember_delivery(tx: &mut sqlx::Transaction<'_, sqlx::Any>, provider: &str, event_id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO webhook_events (provider, event_id, received_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
        .bind(provider)
        .bind(event_id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

fn timestamp(value: i64, column: &str) -> Result<Timestamp, sqlx::Error> {
    DateTime::<Utc>::from_timestamp(value, 0).map(Timestamp::from).ok_or_else(|| sqlx::Error::Decode(format!("{column} {value} is out of range").into()))
}

/// A time that is only shown (when last checked, the last data point): one no calendar here holds
/// (written before provider times were checked at the edge) is logged and read as unknown, so the
/// connection still shows and can be disconnected.
fn shown_timestamp(row: &AnyRow, column: &str) -> Result<Option<Timestamp>, sqlx::Error> {
    let Some(value) = row.try_get::<Option<i64>, _>(column)? else { return Ok(None) };
    if (0..=crate::providers::LAST_SECOND_OF_9999).contains(&value) {
        return timestamp(value, column).map(Some);
    }
    let id = row.try_get::<String, _>("id").unwrap_or_default();
    tracing::warn!(connection = %id, column, value, "a stored time is outside the years 1970 to 9999; read as unknown");
    Ok(None)
}

/// Every row `decode` can read; one it cannot is logged (with its id) and skipped, so that one bad
/// row never fails a read of the whole table (a workspace's list, the health round, the service
/// API's listing).
pub(crate) fn decodable<T>(rows: &[AnyRow], decode: impl Fn(&AnyRow) -> Result<T, sqlx::Error>) -> Vec<T> {
    rows.iter()
        .filter_map(|row| match decode(row) {
            Ok(value) => Some(value),
            Err(error) => {
                let id = row.try_get::<String, _>("id").unwrap_or_default();
                tracing::error!(connection = %id, %error, "a stored connection could not be read; skipped");
                None
            }
        })
        .collect()
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
        status: ConnectionStatus::parse(&status).ok_or_else(|| sqlx::Error::Decode(format!("unknown connection status {status:?} in the database").into()))?,
        connected_by: row.try_get("connected_by_name")?,
        connected_at: timestamp(row.try_get("connected_at")?, "connected_at")?,
        last_checked_at: shown_timestamp(row, "last_checked_at")?,
        last_data_at: shown_timestamp(row, "last_data_at")?,
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
        workspace: row.try_get("workspace")?,
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
