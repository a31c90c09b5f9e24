//! The stand-in's memory: issued codes and tokens. Stripe keeps these on its side; so does this.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use rand::distributions::Alphanumeric;
use rand::Rng;

#[derive(Clone, Debug)]
pub struct RegisteredClient {
    pub client_id: String,
    pub secret_key: String,
    /// Shown on the consent page.
    pub name: String,
    /// A `redirect_uri` must equal one of these exactly.
    pub redirect_uris: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Account {
    pub id: String,
    pub email: String,
    pub password: String,
    pub business_name: String,
    pub livemode: bool,
}

#[derive(Debug)]
pub struct IssuedCode {
    pub client_id: String,
    pub account_id: String,
    pub scope: String,
    pub livemode: bool,
    pub code_challenge: Option<String>,
    pub issued_at: i64,
    pub used: bool,
    /// Access tokens issued from this code, revoked if the code is presented again.
    pub access_tokens: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct IssuedToken {
    pub client_id: String,
    pub account_id: String,
    pub scope: String,
    pub livemode: bool,
    pub refresh_token: String,
    /// The whole grant (access and refresh) no longer works.
    pub revoked: bool,
    /// Only this access token no longer works; its refresh token still does.
    pub access_expired: bool,
}

#[derive(Default)]
pub struct Store {
    pub codes: HashMap<String, IssuedCode>,
    pub tokens: HashMap<String, IssuedToken>,
    pub token_requests: u64,
    pub clock_offset_secs: i64,
    pub token_fault: Option<crate::TokenFault>,
    /// Where to send webhooks, and the secret to sign them with.
    pub webhook: Option<(String, String)>,
}

impl Store {
    pub fn now(&self) -> i64 {
        let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
        secs + self.clock_offset_secs
    }

    pub fn active_token(&self, access_token: &str) -> Option<&IssuedToken> {
        self.tokens.get(access_token).filter(|token| !token.revoked && !token.access_expired)
    }

    /// Issues an access token (and refresh token, unless one is being reused) for an account.
    pub fn issue_token(&mut self, from: &IssuedToken) -> String {
        let prefix = if from.livemode { "sk_live_" } else { "sk_test_" };
        let access_token = random_id(prefix, 32);
        self.tokens.insert(access_token.clone(), IssuedToken { access_expired: false, ..from.clone() });
        access_token
    }

    pub fn revoke(&mut self, predicate: impl Fn(&str, &IssuedToken) -> bool) -> usize {
        let mut revoked = 0;
        for (access_token, token) in self.tokens.iter_mut() {
            if !token.revoked && predicate(access_token, token) {
                token.revoked = true;
                revoked += 1;
            }
        }
        revoked
    }
}

pub fn random_id(prefix: &str, len: usize) -> String {
    let body: String = rand::thread_rng().sample_iter(&Alphanumeric).take(len).map(char::from).collect();
    format!("{prefix}{body}")
}
