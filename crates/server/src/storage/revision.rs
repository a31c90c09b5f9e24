//! The connections revision, answered from memory: the table's poll then touches no database.
//!
//! The memory only ever holds a committed value and only moves forward. It learns of this
//! instance's writes right after they commit, and of other instances' writes by following the
//! database: on PostgreSQL a `LISTEN`ing connection gets the `NOTIFY` each write sends with its
//! revision (delivered on commit); while that connection is down, every read asks the database, as
//! before, and after reconnecting the revision is read once more (notifications sent meanwhile are
//! lost); and it is read every [`POSTGRES_REREAD`] all the same, in case the listening connection
//! died unnoticed. On SQLite (one process is the deployment; tests run two on one file) the revision
//! is read every [`SQLITE_POLL`].

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::{AnyPool, Executor};

use super::Backend;

/// The channel every revision bump is announced on (PostgreSQL), with the new revision as payload.
pub(crate) const CHANNEL: &str = "connections_revision";
/// How often SQLite's revision is read for other processes' writes: the bound on how late they show.
pub(crate) const SQLITE_POLL: Duration = Duration::from_millis(250);
/// How long to wait before listening again after the listener's connection failed.
const RECONNECT_DELAY: Duration = Duration::from_secs(1);
/// On PostgreSQL, how often the revision is read all the same: a listening connection that died
/// without a word (a half-open TCP connection) is not noticed, so this bounds how late a change shows.
pub(crate) const POSTGRES_REREAD: Duration = Duration::from_secs(10);

pub(super) async fn read(pool: &AnyPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT value FROM revisions WHERE name = 'connections'").fetch_one(pool).await
}

#[derive(Default)]
pub(super) struct Memory {
    value: AtomicI64,
    /// Whether `value` follows the database (always on SQLite; on PostgreSQL while listening).
    following: AtomicBool,
}

impl Memory {
    /// A committed revision: kept if it is newer than the one known.
    pub(super) fn saw(&self, revision: i64) {
        self.value.fetch_max(revision, Ordering::AcqRel);
    }

    /// The revision when it is followed; `None`: ask the database.
    pub(super) fn current(&self) -> Option<i64> {
        self.following.load(Ordering::Acquire).then(|| self.value.load(Ordering::Acquire))
    }
}

/// The memory and the task keeping it up with the database, stopped with the last `Db` clone.
pub(super) struct Follower {
    pub(super) memory: Arc<Memory>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Follower {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Follower {
    /// Starts following at the database's current revision.
    pub(super) async fn start(pool: &AnyPool, backend: Backend, database_url: &str) -> Result<Self, sqlx::Error> {
        let memory = Arc::new(Memory::default());
        memory.saw(read(pool).await?);
        let tasks = match backend {
            Backend::Sqlite => {
                memory.following.store(true, Ordering::Release);
                vec![tokio::spawn(poll_sqlite(pool.clone(), memory.clone()))]
            }
            Backend::Postgres => vec![
                tokio::spawn(listen_postgres(database_url.to_owned(), pool.clone(), memory.clone())),
                tokio::spawn(reread_postgres(pool.clone(), memory.clone())),
            ],
        };
        Ok(Follower { memory, tasks })
    }
}

/// A single-row read, never the write lock.
async fn poll_sqlite(pool: AnyPool, memory: Arc<Memory>) {
    let mut every = tokio::time::interval(SQLITE_POLL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !pool.is_closed() {
        every.tick().await;
        match read(&pool).await {
            Ok(revision) => memory.saw(revision),
            // Reads fall back to the database meanwhile, which answers the error to the caller.
            Err(error) => {
                memory.following.store(false, Ordering::Release);
                tracing::debug!(%error, "reading the connections revision failed");
                continue;
            }
        }
        memory.following.store(true, Ordering::Release);
    }
}

/// The safety net under the listener; errors are the listener's to report.
async fn reread_postgres(pool: AnyPool, memory: Arc<Memory>) {
    let mut every = tokio::time::interval(POSTGRES_REREAD);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !pool.is_closed() {
        every.tick().await;
        if let Ok(revision) = read(&pool).await {
            memory.saw(revision);
        }
    }
}

async fn listen_postgres(database_url: String, pool: AnyPool, memory: Arc<Memory>) {
    while !pool.is_closed() {
        let ended = listen_until_lost(&database_url, &pool, &memory).await;
        memory.following.store(false, Ordering::Release);
        if let Err(error) = ended {
            tracing::warn!(%error, "listening for connection changes failed; reading the revision from the database until it is back");
        }
        tokio::time::sleep(RECONNECT_DELAY).await;
    }
}

/// Follows the notifications until the connection is lost (`Ok`) or fails (`Err`).
async fn listen_until_lost(database_url: &str, pool: &AnyPool, memory: &Memory) -> Result<(), sqlx::Error> {
    let mut listener = sqlx::postgres::PgListener::connect(database_url).await?;
    listener.listen(CHANNEL).await?;
    // Listening first: whatever committed before is in this read, whatever after is notified.
    memory.saw(read(pool).await?);
    memory.following.store(true, Ordering::Release);
    while let Some(notification) = listener.try_recv().await? {
        match notification.payload().parse() {
            Ok(revision) => memory.saw(revision),
            Err(_) => memory.saw(read(pool).await?),
        }
    }
    Ok(())
}

impl super::Db {
    /// Changes with every write to `connections` (see [`Db::bump_revision`]). From memory while it
    /// follows the database: this instance's writes at once, other instances' within the bound of
    /// `revision`; from the database while it does not (PostgreSQL's listener reconnecting).
    pub(crate) async fn connections_revision(&self) -> Result<i64, sqlx::Error> {
        if let Some(known) = self.revision.memory.current() {
            return Ok(known);
        }
        let read = read(&self.pool).await?;
        self.revision.memory.saw(read);
        Ok(read)
    }

    /// Every transaction that writes `connections` calls this, so the revision moves with the data,
    /// and hands the answer to [`Db::committed`] after its commit. On PostgreSQL the other instances
    /// are told in the same transaction (a `NOTIFY` is delivered on commit, or never).
    pub(super) async fn bump_revision(&self, tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<i64, sqlx::Error> {
        let revision: i64 =
            sqlx::query_scalar("UPDATE revisions SET value = value + 1 WHERE name = 'connections' RETURNING value").fetch_one(&mut **tx).await?;
        if self.backend == Backend::Postgres {
            // NOTIFY takes no parameters; the payload is a number.
            (&mut **tx).execute(format!("NOTIFY {}, '{revision}'", CHANNEL).as_str()).await?;
        }
        Ok(revision)
    }

    /// A bumped revision, committed: this instance's next list answers it.
    pub(super) fn committed(&self, revision: i64) {
        self.revision.memory.saw(revision);
    }
}
