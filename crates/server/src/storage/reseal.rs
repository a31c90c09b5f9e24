//! Every stored token, for moving them to the newest encryption key (`connections-server reseal`),
//! and the conditional write that does it.

use sqlx::Row;

use super::Db;
use crate::crypto::TokenKind;

/// The tables that hold encrypted tokens, each keyed by `id`, with `provider` and `account_id`
/// (what a token's associated data binds it to).
const TABLES: [&str; 2] = ["connections", "pending_installs"];

/// One stored token, still encrypted.
pub(crate) struct StoredToken {
    pub table: &'static str,
    pub id: String,
    pub provider: String,
    pub account_id: String,
    pub kind: TokenKind,
    pub sealed: Vec<u8>,
}

fn column(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::Access => "access_token",
        TokenKind::Refresh => "refresh_token",
    }
}

impl Db {
    /// Every stored token of every table and workspace.
    pub(crate) async fn stored_tokens(&self) -> Result<Vec<StoredToken>, sqlx::Error> {
        let mut tokens = Vec::new();
        for table in TABLES {
            let rows =
                sqlx::query(&format!("SELECT id, provider, account_id, access_token, refresh_token FROM {table} ORDER BY id")).fetch_all(&self.pool).await?;
            for row in rows {
                for kind in [TokenKind::Access, TokenKind::Refresh] {
                    if let Some(sealed) = row.try_get::<Option<Vec<u8>>, _>(column(kind))? {
                        tokens.push(StoredToken {
                            table,
                            id: row.try_get("id")?,
                            provider: row.try_get("provider")?,
                            account_id: row.try_get("account_id")?,
                            kind,
                            sealed,
                        });
                    }
                }
            }
        }
        Ok(tokens)
    }

    /// Writes `resealed` in place of `token` only if the row still holds exactly what was read: a
    /// renewal that stored new tokens meanwhile is left alone (it was sealed with the newest key).
    /// The token version is not changed: the token is the same one. Answers whether it was written.
    pub(crate) async fn replace_sealed_token(&self, token: &StoredToken, resealed: &[u8]) -> Result<bool, sqlx::Error> {
        let column = column(token.kind);
        let written = sqlx::query(&format!("UPDATE {} SET {column} = $1 WHERE id = $2 AND {column} = $3", token.table))
            .bind(resealed)
            .bind(&token.id)
            .bind(&token.sealed)
            .execute(&self.pool)
            .await?;
        Ok(written.rows_affected() == 1)
    }
}
