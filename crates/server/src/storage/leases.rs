//! Named leases (`leases`): which instance runs a background round, timed by the database's clock.

use super::{Backend, Db};

impl Db {
    /// Takes the lease `name` for `holder` until `until`, if nobody else holds it now. One statement
    /// per database, so of several instances asking at once exactly one gets it.
    pub(crate) async fn acquire_lease(&self, name: &str, holder: &str, now: i64, until: i64) -> Result<bool, sqlx::Error> {
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

    /// The database's clock, in unix seconds, as an SQL expression: leases are timed by it, never by
    /// an instance's own clock, so instances whose clocks disagree still agree on who holds one.
    pub(super) fn db_now(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "CAST(strftime('%s', 'now') AS INTEGER)",
            Backend::Postgres => "CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp())) AS BIGINT)",
        }
    }
}
