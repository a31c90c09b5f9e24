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
    /// Tokens that changed while the last pass resealed them (a renewal stored new ones).
    pub changed_meanwhile: usize,
    /// Tokens no configured key decrypts, by table and id: they stay as they are.
    pub undecryptable: Vec<String>,
}

impl Resealed {
    /// Whether every token is now sealed with the newest key (older keys can be retired): none that
    /// no key decrypts, and the last pass found none written meanwhile (a server still configured
    /// with an older key first may have written them with it).
    pub fn complete(&self) -> bool {
        self.undecryptable.is_empty() && self.changed_meanwhile == 0
    }
}

/// How many passes a reseal makes at most while tokens keep changing under it.
const PASSES: usize = 5;

/// Passes over every stored token until one finds none changed meanwhile (at most [`PASSES`]): a
/// token written during a pass is looked at again by the next, whatever key wrote it.
pub async fn reseal(db: &Db, cipher: &TokenCipher) -> Result<Resealed, sqlx::Error> {
    let mut done = Resealed::default();
    for _ in 0..PASSES {
        let pass = reseal_once(db, cipher).await?;
        done = Resealed { moved: done.moved + pass.moved, ..pass };
        if done.changed_meanwhile == 0 {
            break;
        }
    }
    Ok(done)
}

async fn reseal_once(db: &Db, cipher: &TokenCipher) -> Result<Resealed, sqlx::Error> {
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
