//! Installs begun at the provider, waiting for an administrator's confirmation.

use sqlx::any::AnyRow;
use sqlx::Row;

use connections_wire::Mode;

use super::{stored_mode, Db, RenewedTokens};

/// How long a provider-started install waits for an administrator's confirmation.
pub(crate) const INSTALL_LIFETIME_SECS: i64 = 10 * 60;

/// An install to keep until an administrator answers it (its tokens come separately, encrypted).
pub(crate) struct NewInstall<'a> {
    pub id: &'a str,
    pub provider: &'a str,
    pub account_id: &'a str,
    pub account_name: &'a str,
    pub livemode: Option<bool>,
    pub mode: Option<Mode>,
    pub scope: &'a str,
    /// Unix seconds.
    pub expires_at: i64,
}

pub(crate) struct TakenInstall {
    pub provider: String,
    pub workspace: String,
    pub account_id: String,
    pub account_name: String,
    pub livemode: Option<bool>,
    pub mode: Option<Mode>,
    pub scope: String,
    pub access_token: Vec<u8>,
    pub refresh_token: Option<Vec<u8>>,
    pub publishable_key: Option<String>,
    pub access_expires_at: Option<i64>,
}

impl Db {
    /// Removes installs nobody answered in time and hands them back, so their authorizations can be
    /// withdrawn at the provider.
    pub(crate) async fn take_expired_installs(&self, now: i64) -> Result<Vec<TakenInstall>, sqlx::Error> {
        let rows = sqlx::query(
            "DELETE FROM pending_installs WHERE expires_at < $1
             RETURNING provider, workspace, account_id, account_name, CAST(livemode AS INTEGER) AS livemode, mode, scope, access_token,
                refresh_token, publishable_key, access_expires_at",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(install_from_row).collect()
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn insert_install(
        &self,
        workspace: &str,
        install: &NewInstall<'_>,
        subject: &str,
        tokens: RenewedTokens,
        publishable_key: Option<&str>,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO pending_installs (id, provider, session_subject, account_id, account_name, livemode, scope, access_token,
                refresh_token, publishable_key, created_at, expires_at, access_expires_at, workspace, mode)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(install.id)
        .bind(install.provider)
        .bind(subject)
        .bind(install.account_id)
        .bind(install.account_name)
        .bind(install.livemode.map(i64::from))
        .bind(install.scope)
        .bind(tokens.access_token)
        .bind(tokens.refresh_token)
        .bind(publishable_key)
        .bind(now)
        .bind(install.expires_at)
        .bind(tokens.access_expires_at)
        .bind(workspace)
        .bind(install.mode.map(Mode::as_str))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Removes and returns a pending install of this session that has not expired: single use.
    pub(crate) async fn take_install(&self, workspace: &str, provider: &str, id: &str, subject: &str, now: i64) -> Result<Option<TakenInstall>, sqlx::Error> {
        let row = sqlx::query(
            "DELETE FROM pending_installs WHERE id = $1 AND provider = $2 AND session_subject = $3 AND expires_at > $4 AND workspace = $5
             RETURNING provider, workspace, account_id, account_name, CAST(livemode AS INTEGER) AS livemode, mode, scope, access_token,
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
}

fn install_from_row(row: &AnyRow) -> Result<TakenInstall, sqlx::Error> {
    Ok(TakenInstall {
        provider: row.try_get("provider")?,
        workspace: row.try_get("workspace")?,
        account_id: row.try_get("account_id")?,
        account_name: row.try_get("account_name")?,
        livemode: row.try_get::<Option<i64>, _>("livemode")?.map(|m| m != 0),
        mode: stored_mode(row)?,
        scope: row.try_get("scope")?,
        access_token: row.try_get("access_token")?,
        refresh_token: row.try_get("refresh_token")?,
        publishable_key: row.try_get("publishable_key")?,
        access_expires_at: row.try_get("access_expires_at")?,
    })
}
