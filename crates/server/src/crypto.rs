//! Tokens at rest: AES-256-GCM with a key the database never holds.
//!
//! Layout: `version (1) || key id (8) || nonce (12) || ciphertext+tag`. The key id lets old rows keep
//! decrypting after a new key is put first (rotation). The associated data binds a ciphertext to its
//! row, so a token copied into another row does not decrypt.

use aes_gcm::aead::{Aead, KeyInit, OsRng, Payload};
use aes_gcm::{AeadCore, Aes256Gcm, Nonce};
use sha2::{Digest, Sha256};

use crate::secret::Secret;

const VERSION: u8 = 1;
const KEY_ID_LEN: usize = 8;
const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("stored ciphertext is malformed")]
    Malformed,
    #[error("no configured key matches the stored ciphertext")]
    UnknownKey,
    #[error("stored ciphertext failed authentication")]
    Tampered,
}

struct Key {
    id: [u8; KEY_ID_LEN],
    cipher: Aes256Gcm,
}

/// Which of a connection's two tokens a ciphertext holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

/// The associated data of a stored token: its provider, account and kind. A ciphertext moved to
/// another row, account or kind does not decrypt.
pub(crate) fn token_aad(provider: &str, account_id: &str, kind: TokenKind) -> String {
    let kind = match kind {
        TokenKind::Access => "access",
        TokenKind::Refresh => "refresh",
    };
    format!("{provider}:{account_id}:{kind}")
}

pub struct TokenCipher {
    /// The first key encrypts; every key decrypts.
    keys: Vec<Key>,
}

impl TokenCipher {
    /// Encrypts a provider account's token, bound to that account and kind.
    pub fn seal(&self, provider: &str, account_id: &str, kind: TokenKind, token: &Secret<String>) -> Vec<u8> {
        self.encrypt(token.expose(), &token_aad(provider, account_id, kind))
    }

    /// Decrypts what [`TokenCipher::seal`] stored for that account and kind.
    pub fn open(&self, provider: &str, account_id: &str, kind: TokenKind, stored: &[u8]) -> Result<Secret<String>, CryptoError> {
        self.decrypt(stored, &token_aad(provider, account_id, kind))
    }

    pub fn new(keys: &[Secret<[u8; 32]>]) -> Self {
        assert!(!keys.is_empty(), "at least one encryption key is required");
        let keys = keys
            .iter()
            .map(|key| {
                let digest = Sha256::digest(key.expose());
                let mut id = [0u8; KEY_ID_LEN];
                id.copy_from_slice(&digest[..KEY_ID_LEN]);
                Key { id, cipher: Aes256Gcm::new_from_slice(key.expose()).expect("32-byte key") }
            })
            .collect();
        TokenCipher { keys }
    }

    pub fn encrypt(&self, plaintext: &str, associated_data: &str) -> Vec<u8> {
        let key = &self.keys[0];
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let sealed = key
            .cipher
            .encrypt(&nonce, Payload { msg: plaintext.as_bytes(), aad: associated_data.as_bytes() })
            .expect("AES-GCM encryption of a short token cannot fail");
        let mut out = Vec::with_capacity(1 + KEY_ID_LEN + NONCE_LEN + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&key.id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Whether `stored` was sealed with the newest key (the first configured): a reseal leaves it.
    pub(crate) fn sealed_with_newest(&self, stored: &[u8]) -> bool {
        stored.len() > KEY_ID_LEN && stored[0] == VERSION && stored[1..=KEY_ID_LEN] == self.keys[0].id
    }

    pub fn decrypt(&self, stored: &[u8], associated_data: &str) -> Result<Secret<String>, CryptoError> {
        if stored.len() < 1 + KEY_ID_LEN + NONCE_LEN + 16 || stored[0] != VERSION {
            return Err(CryptoError::Malformed);
        }
        let (key_id, rest) = stored[1..].split_at(KEY_ID_LEN);
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let key = self.keys.iter().find(|key| key.id == key_id).ok_or(CryptoError::UnknownKey)?;
        let plain =
            key.cipher.decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad: associated_data.as_bytes() }).map_err(|_| CryptoError::Tampered)?;
        String::from_utf8(plain).map(Secret::new).map_err(|_| CryptoError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher(keys: &[[u8; 32]]) -> TokenCipher {
        TokenCipher::new(&keys.iter().copied().map(Secret::new).collect::<Vec<_>>())
    }

    #[test]
    fn knows_what_the_newest_key_sealed() {
        let old = cipher(&[[1; 32]]);
        let rotated = cipher(&[[2; 32], [1; 32]]);
        let sealed_old = old.encrypt("t", "a");
        assert!(old.sealed_with_newest(&sealed_old));
        assert!(!rotated.sealed_with_newest(&sealed_old));
        assert!(rotated.sealed_with_newest(&rotated.encrypt("t", "a")));
        assert!(!rotated.sealed_with_newest(b"x"));
    }

    #[test]
    fn round_trips_and_hides_the_plaintext() {
        let c = cipher(&[[1; 32]]);
        let stored = c.encrypt("sk_test_abcdef", "stripe:acct_1:access");
        assert!(!stored.windows(14).any(|w| w == b"sk_test_abcdef"));
        assert_eq!(c.decrypt(&stored, "stripe:acct_1:access").unwrap().expose(), "sk_test_abcdef");
        // A fresh nonce each time: the same token never encrypts the same way twice.
        assert_ne!(stored, c.encrypt("sk_test_abcdef", "stripe:acct_1:access"));
    }

    #[test]
    fn refuses_tampering_moved_rows_and_unknown_keys() {
        let c = cipher(&[[1; 32]]);
        let mut stored = c.encrypt("sk_test_abcdef", "stripe:acct_1:access");
        assert_eq!(c.decrypt(&stored, "stripe:acct_2:access").unwrap_err(), CryptoError::Tampered);
        let last = stored.len() - 1;
        stored[last] ^= 1;
        assert_eq!(c.decrypt(&stored, "stripe:acct_1:access").unwrap_err(), CryptoError::Tampered);
        assert_eq!(cipher(&[[2; 32]]).decrypt(&stored, "a").unwrap_err(), CryptoError::UnknownKey);
        assert_eq!(c.decrypt(&[1, 2, 3], "a").unwrap_err(), CryptoError::Malformed);
    }

    #[test]
    fn rotation_keeps_old_rows_readable_and_encrypts_with_the_new_key() {
        let old = cipher(&[[1; 32]]);
        let stored_before = old.encrypt("rt_old", "aad");
        let rotated = cipher(&[[2; 32], [1; 32]]);
        assert_eq!(rotated.decrypt(&stored_before, "aad").unwrap().expose(), "rt_old");
        let stored_after = rotated.encrypt("rt_new", "aad");
        assert_eq!(old.decrypt(&stored_after, "aad").unwrap_err(), CryptoError::UnknownKey);
    }
}
