//! Connect attempts: `state`, the PKCE challenge and the return address, bound to a session until
//! the grant consumes them once.

use connections_wire::Mode;
use sqlx::Row;

use super::{stored_mode, Db};

/// How long a connect attempt may take, from "Connect with Stripe" to the grant.
pub const ATTEMPT_LIFETIME_SECS: i64 = 10 * 60;

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
    /// The mode whose client the attempt was started with (a client per mode).
    pub mode: Option<Mode>,
}

impl Db {
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn insert_attempt(
        &self,
        workspace: &str,
        state: &str,
        provider: &str,
        subject: &str,
        challenge: &str,
        redirect_uri: &str,
        mode: Option<Mode>,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        // Old attempts are useless after they expire; keep the table small.
        sqlx::query("DELETE FROM connect_attempts WHERE expires_at < $1").bind(now - 24 * 3600).execute(&self.pool).await?;
        let inserted = sqlx::query(
            "INSERT INTO connect_attempts (state, provider, session_subject, code_challenge, created_at, expires_at, redirect_uri, workspace, mode)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (state) DO NOTHING",
        )
        .bind(state)
        .bind(provider)
        .bind(subject)
        .bind(challenge)
        .bind(now)
        .bind(now + ATTEMPT_LIFETIME_SECS)
        .bind(redirect_uri)
        .bind(workspace)
        .bind(mode.map(Mode::as_str))
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
             RETURNING code_challenge, redirect_uri, mode",
        )
        .bind(now)
        .bind(state)
        .bind(provider)
        .bind(subject)
        .bind(workspace)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(row) = consumed {
            return Ok(Ok(ConsumedAttempt {
                code_challenge: row.try_get("code_challenge")?,
                redirect_uri: row.try_get("redirect_uri")?,
                mode: stored_mode(&row)?,
            }));
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
}
