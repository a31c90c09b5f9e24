//! Storage through sqlx's `Any` driver: the same SQL (with `$N` placeholders, which both drivers bind
//! by number) on SQLite, the embedded default, and on PostgreSQL, for several instances behind a load
//! balancer. Runtime-checked queries, so the build needs no database. Booleans are stored as 0/1
//! integers: that is what both databases hand back through `Any`.

use std::sync::Once;
use std::time::Duration;

use chrono::{DateTime, Utc};
use connections_wire::Timestamp;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};

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

mod attempts;
mod audit;
mod connect_links;
mod connections;
mod data_checks;
mod installs;
mod leases;
mod outbox;
mod provider_events;
mod rate_limits;
mod renewals;
mod reseal;
mod revision;

pub use attempts::{AttemptRefusal, ConsumedAttempt, ATTEMPT_LIFETIME_SECS};
pub use audit::{AuditEntry, AuditRecord};
pub(crate) use connect_links::{LinkState, NewLink, StoredLink};
pub use connections::{Connection, ConnectionRecord, NewConnection, OnUpsert};
pub(crate) use data_checks::{ConnectionFilter, StoredDataCheck, StoredTable};
pub(crate) use installs::{NewInstall, INSTALL_LIFETIME_SECS};
pub(crate) use outbox::{DueOutboxRow, OutboxRow, RenderNotification};

use audit::insert_event;
use connections::{record_from_row, view_from_row, RECORD_COLUMNS, VIEW_COLUMNS};

#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// How outgoing webhooks the services hand in are written to the outbox; `None`: they are not
    /// (no receiver is configured).
    outbox: Option<RenderNotification>,
    /// The connections revision as this instance knows it (see `revision`).
    revision: std::sync::Arc<revision::Follower>,
}

/// What a change writes besides itself if, and only if, it happens, as the service making the change
/// chose: a further audit line, and the outgoing webhook announcing it.
#[derive(Clone, Copy, Default)]
pub struct IfChanged<'a> {
    pub audit: Option<AuditEntry<'a>>,
    pub announce: Option<crate::outbox::Notification>,
}

/// A renewed access token (and the rolled refresh token, if the provider sent one), encrypted.
#[derive(Clone)]
pub struct RenewedTokens {
    pub access_token: Vec<u8>,
    pub refresh_token: Option<Vec<u8>>,
    pub access_expires_at: Option<i64>,
}

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
        Ok(Db { pool, backend, outbox: None, revision })
    }

    /// Write the outgoing webhooks the services hand in to the outbox, each in the transaction of its
    /// change, with bodies made by `render`.
    pub(crate) fn with_outbox(mut self, render: Option<RenderNotification>) -> Self {
        self.outbox = render;
        self
    }

    /// The pool itself, for tests that need to reach under the API.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

// ---- Operating (`observability`): readiness.
impl Db {
    /// The migrations this build embeds that the database has not applied (successfully): empty when
    /// it is current. A database migrated further by a newer instance is current for this one.
    pub(crate) async fn missing_migrations(&self) -> Result<Vec<(i64, String)>, sqlx::Error> {
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
}

/// 9999-12-31T23:59:59Z, the last second a calendar here holds.
const LAST_SECOND_OF_9999: i64 = 253_402_300_799;

fn timestamp(value: i64, column: &str) -> Result<Timestamp, sqlx::Error> {
    DateTime::<Utc>::from_timestamp(value, 0).map(Timestamp::from).ok_or_else(|| sqlx::Error::Decode(format!("{column} {value} is out of range").into()))
}

/// A time that is only shown (when last checked, the last data point): one no calendar here holds
/// (written before provider times were checked at the edge) is logged and read as unknown, so the
/// connection still shows and can be disconnected.
fn shown_timestamp(row: &AnyRow, column: &str) -> Result<Option<Timestamp>, sqlx::Error> {
    let Some(value) = row.try_get::<Option<i64>, _>(column)? else { return Ok(None) };
    if (0..=LAST_SECOND_OF_9999).contains(&value) {
        return timestamp(value, column).map(Some);
    }
    let id = row.try_get::<String, _>("id").unwrap_or_default();
    tracing::warn!(connection = %id, column, value, "a stored time is outside the years 1970 to 9999; read as unknown");
    Ok(None)
}

/// A stored mode column: `NULL`, or one of `live`, `test`, `sandbox`. Anything else is logged and
/// read as no mode (the row is kept, and renewed by its `livemode`), never refused: a row taken by
/// `DELETE … RETURNING` must not be lost to a bad value.
pub(crate) fn stored_mode(row: &sqlx::any::AnyRow) -> Result<Option<connections_wire::Mode>, sqlx::Error> {
    let stored = row.try_get::<Option<String>, _>("mode")?;
    let mode = stored.as_deref().and_then(connections_wire::Mode::parse);
    if let (Some(stored), None) = (&stored, mode) {
        tracing::error!(mode = %stored, "unknown mode in the database; read as none");
    }
    Ok(mode)
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
