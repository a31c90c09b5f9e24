//! `connections-server reseal`: every stored token moved to the newest encryption key (the first of
//! `CONNECTIONS_ENCRYPTION_KEY`), so that an older key can be retired. Safe while servers run: each
//! token is rewritten only if its row still holds what was read, and nothing else changes.

use crate::crypto::TokenCipher;
use crate::storage::Db;

/// What a reseal did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Resealed {
    /// Tokens now sealed with the newest key that were not before.
    pub moved: usize,
    /// Tokens that already were.
    pub current: usize,
    /// Tokens that changed while being resealed (a renewal stored new ones, sealed with the newest key).
    pub changed_meanwhile: usize,
    /// Tokens no configured key decrypts, by table and id: they stay as they are.
    pub undecryptable: Vec<String>,
}

impl Resealed {
    /// Whether every token is now sealed with the newest key (older keys can be retired).
    pub fn complete(&self) -> bool {
        self.undecryptable.is_empty()
    }
}

pub async fn reseal(db: &Db, cipher: &TokenCipher) -> Result<Resealed, sqlx::Error> {
    let mut done = Resealed::default();
    for token in db.stored_tokens().await? {
        if cipher.sealed_with_newest(&token.sealed) {
            done.current += 1;
            continue;
        }
        let plain = match cipher.open(&token.provider, &token.account_id, token.kind, &token.sealed) {
            Ok(plain) => plain,
            Err(error) => {
                tracing::warn!(table = token.table, id = %token.id, %error, "reseal: a stored token cannot be decrypted; left as it is");
                done.undecryptable.push(format!("{} {}", token.table, token.id));
                continue;
            }
        };
        let resealed = cipher.seal(&token.provider, &token.account_id, token.kind, &plain);
        if db.replace_sealed_token(&token, &resealed).await? {
            done.moved += 1;
        } else {
            done.changed_meanwhile += 1;
        }
    }
    Ok(done)
}
