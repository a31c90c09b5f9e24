//! The stand-in's memory: issued codes, grants and tokens. Providers keep these on their side; so does
//! this.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use rand::distributions::Alphanumeric;
use rand::Rng;

#[derive(Clone, Debug)]
pub struct RegisteredClient {
    pub client_id: String,
    /// The secret key; for a Stripe App, its live mode's (and the mode-less install link's).
    pub secret_key: String,
    /// A Stripe App's secret keys for the other modes (test, sandbox); see [`RegisteredClient::key_for`].
    pub mode_secret_keys: Vec<(StripeMode, String)>,
    /// Shown on the consent page.
    pub name: String,
    /// A `redirect_uri` must equal one of these exactly.
    pub redirect_uris: Vec<String>,
}

/// A Stripe mode. A Stripe App has a secret key, an install link and a webhook secret per mode; a code
/// issued by one mode's install link is exchanged only with that mode's secret key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StripeMode {
    Live,
    Test,
    /// A sandbox: its own keys (prefixed like test mode's), `livemode: false`.
    Sandbox,
}

impl StripeMode {
    pub fn parse(mode: &str) -> Option<Self> {
        match mode {
            "live" => Some(StripeMode::Live),
            "test" => Some(StripeMode::Test),
            "sandbox" => Some(StripeMode::Sandbox),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StripeMode::Live => "live",
            StripeMode::Test => "test",
            StripeMode::Sandbox => "sandbox",
        }
    }

    pub fn livemode(self) -> bool {
        self == StripeMode::Live
    }
}

impl RegisteredClient {
    /// The secret key of `mode`: live mode's is `secret_key`, the others' are in `mode_secret_keys`.
    pub fn key_for(&self, mode: StripeMode) -> Option<&str> {
        match mode {
            StripeMode::Live => Some(&self.secret_key),
            _ => self.mode_secret_keys.iter().find(|(m, _)| *m == mode).map(|(_, key)| key.as_str()),
        }
    }

    /// Which mode `key` is this client's secret key for, if any.
    pub fn mode_of_key(&self, key: &str) -> Option<StripeMode> {
        [StripeMode::Live, StripeMode::Test, StripeMode::Sandbox].into_iter().find(|&mode| self.key_for(mode) == Some(key))
    }
}

#[derive(Clone, Debug)]
pub struct Account {
    pub id: String,
    pub email: String,
    pub password: String,
    pub business_name: String,
    pub livemode: bool,
}

/// Which provider's rules a code, grant or token follows. A token of one dialect (or realm) is
/// unknown to the others.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dialect {
    Connect,
    Apps,
    /// A generic OAuth 2.0 realm, by its id.
    Realm(String),
}

impl Dialect {
    pub fn is_stripe(&self) -> bool {
        matches!(self, Dialect::Connect | Dialect::Apps)
    }

    /// Stripe's access tokens double as secret API keys; a realm's are opaque.
    fn new_access_token(&self, livemode: bool) -> String {
        match (self, livemode) {
            (Dialect::Realm(_), _) => random_id("", 43),
            (_, true) => random_id("sk_live_", 32),
            (_, false) => random_id("sk_test_", 32),
        }
    }

    fn new_refresh_token(&self) -> String {
        match self {
            Dialect::Realm(_) => random_id("", 43),
            _ => random_id("rt_", 32),
        }
    }
}

/// How long what a grant issues lasts; `None` is until revoked.
#[derive(Clone, Copy, Debug)]
pub struct Lifetimes {
    pub access: Option<i64>,
    pub refresh: Option<i64>,
}

#[derive(Clone, Debug)]
pub struct IssuedCode {
    pub dialect: Dialect,
    pub client_id: String,
    pub account_id: String,
    pub scope: String,
    pub livemode: bool,
    /// The one the authorization request named, for providers that check it at the token endpoint.
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    /// The Stripe App install link's mode (`None`: the mode-less link, and every other dialect).
    pub mode: Option<StripeMode>,
    pub issued_at: i64,
    pub used: bool,
    /// The grant this code was exchanged for, revoked if the code is presented again.
    pub grant_id: Option<String>,
}

/// One consent: everything issued from one code, and revoked together.
#[derive(Clone, Debug)]
pub struct Grant {
    pub dialect: Dialect,
    pub client_id: String,
    pub account_id: String,
    pub scope: String,
    pub livemode: bool,
    /// The mode of the Stripe App install this grant came from, whose secret key alone refreshes it.
    pub mode: Option<StripeMode>,
    /// The refresh token that works now. Connect keeps one for the grant's life; Stripe Apps and the
    /// realms replace it on every refresh.
    pub refresh_token: String,
    pub refresh_expires_at: Option<i64>,
    pub revoked: bool,
}

#[derive(Clone, Debug)]
pub struct IssuedToken {
    pub grant_id: String,
    pub expires_at: Option<i64>,
    /// Expired by hand (the controls), whatever the clock says; the grant's refresh token still works.
    pub access_expired: bool,
}

/// Why a refresh token was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum RefreshRefused {
    /// Unknown, revoked, expired, of another client, or (without reuse detection) rolled away.
    Invalid,
    /// Already rotated away under a realm: the whole grant has just been revoked (RFC 9700 §4.14.2).
    Reused,
}

#[derive(Default)]
pub struct Store {
    pub codes: HashMap<String, IssuedCode>,
    pub grants: HashMap<String, Grant>,
    /// Access tokens.
    pub tokens: HashMap<String, IssuedToken>,
    /// Every refresh token ever issued, current or rolled away, to its grant: reuse is recognised.
    pub refresh_tokens: HashMap<String, String>,
    /// Requests to Stripe's token endpoints (Connect and Apps).
    pub token_requests: u64,
    pub apps_token_requests: u64,
    pub realm_token_requests: HashMap<String, u64>,
    pub clock_offset_secs: i64,
    pub token_fault: Option<crate::TokenFault>,
    /// Where to send Connect's webhooks, and the secret to sign them with.
    pub webhook: Option<(String, String)>,
    /// The same for the Stripe App's events.
    pub apps_webhook: Option<(String, String)>,
    /// Per mode, where a Stripe App's events from installs in that mode go and their signing secret
    /// (each mode has its own webhook endpoint at Stripe); a mode without one uses `apps_webhook`.
    pub apps_mode_webhooks: HashMap<StripeMode, (String, String)>,
    /// `(account, list)` pairs answered 403: a permission the account's access lacks.
    pub refused_lists: std::collections::HashSet<(String, String)>,
    /// How long the list endpoints take to answer (a slow provider).
    pub list_delay: Option<std::time::Duration>,
    /// When set, the newest object of every list claims this `created` (unix seconds), whatever it
    /// is: a provider sending a time no calendar holds.
    pub list_created: Option<i64>,
    /// When set, every list answer carries this many bytes more (a `padding` field): a provider
    /// answering far more than asked.
    pub list_padding: Option<usize>,
    /// API keys that work now (issued, not rolled), by key.
    pub api_keys: HashMap<String, crate::keys::ApiKey>,
    pub keys_issued: u64,
}

impl Store {
    pub fn now(&self) -> i64 {
        let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
        secs + self.clock_offset_secs
    }

    fn is_active(&self, token: &IssuedToken) -> bool {
        !token.access_expired && token.expires_at.is_none_or(|at| self.now() < at) && self.grants.get(&token.grant_id).is_some_and(|grant| !grant.revoked)
    }

    /// The grant behind `access_token`, if the token is usable now.
    pub fn active_grant(&self, access_token: &str) -> Option<&Grant> {
        let token = self.tokens.get(access_token).filter(|token| self.is_active(token))?;
        self.grants.get(&token.grant_id)
    }

    pub fn active_tokens(&self) -> usize {
        self.tokens.values().filter(|token| self.is_active(token)).count()
    }

    /// Marks `code` used and answers what it was issued for, or why it cannot be exchanged
    /// (`invalid_grant`'s description). A code presented twice revokes the grant it was exchanged for.
    pub fn redeem_code(&mut self, dialect: &Dialect, client_id: &str, code: &str, lifetime_secs: i64) -> Result<IssuedCode, String> {
        let now = self.now();
        let issued =
            self.codes.get_mut(code).filter(|issued| issued.dialect == *dialect).ok_or_else(|| format!("Authorization code does not exist: {code}"))?;
        if issued.client_id != client_id {
            return Err(format!("Authorization code does not belong to you: {code}"));
        }
        if issued.used {
            if let Some(grant_id) = issued.grant_id.clone() {
                self.revoke(|id, _| id == grant_id);
            }
            return Err(format!("Authorization code has already been used: {code}"));
        }
        issued.used = true;
        if now - issued.issued_at > lifetime_secs {
            return Err(format!("Authorization code expired: {code}"));
        }
        Ok(issued.clone())
    }

    /// Opens the grant a redeemed code stands for; answers its first access token and the grant.
    pub fn open_grant(&mut self, code: &str, lifetimes: Lifetimes) -> (String, Grant) {
        let issued = &self.codes[code];
        let grant_id = random_id("grant_", 24);
        let grant = Grant {
            dialect: issued.dialect.clone(),
            client_id: issued.client_id.clone(),
            account_id: issued.account_id.clone(),
            scope: issued.scope.clone(),
            livemode: issued.livemode,
            mode: issued.mode,
            refresh_token: issued.dialect.new_refresh_token(),
            refresh_expires_at: lifetimes.refresh.map(|secs| self.now() + secs),
            revoked: false,
        };
        self.refresh_tokens.insert(grant.refresh_token.clone(), grant_id.clone());
        self.grants.insert(grant_id.clone(), grant.clone());
        if let Some(issued) = self.codes.get_mut(code) {
            issued.grant_id = Some(grant_id.clone());
        }
        (self.issue_access_token(&grant_id, lifetimes.access), grant)
    }

    fn issue_access_token(&mut self, grant_id: &str, lifetime: Option<i64>) -> String {
        let grant = &self.grants[grant_id];
        let access_token = grant.dialect.new_access_token(grant.livemode);
        let expires_at = lifetime.map(|secs| self.now() + secs);
        self.tokens.insert(access_token.clone(), IssuedToken { grant_id: grant_id.to_owned(), expires_at, access_expired: false });
        access_token
    }

    /// A new access token for the grant of `refresh_token`; except under Connect, the refresh token
    /// rolls too (the answered grant holds the new one). Access tokens issued before keep working
    /// until they expire.
    pub fn refresh(&mut self, dialect: &Dialect, client_id: &str, refresh_token: &str, lifetimes: Lifetimes) -> Result<(String, Grant), RefreshRefused> {
        let now = self.now();
        let grant_id = self.refresh_tokens.get(refresh_token).cloned().ok_or(RefreshRefused::Invalid)?;
        let grant = self.grants.get_mut(&grant_id).filter(|g| g.dialect == *dialect && g.client_id == client_id && !g.revoked);
        let grant = grant.ok_or(RefreshRefused::Invalid)?;
        if grant.refresh_token != refresh_token {
            if matches!(dialect, Dialect::Realm(_)) {
                // Either the client or a thief holds a copy of a rotated token: neither can be trusted.
                self.revoke(|id, _| id == grant_id);
                return Err(RefreshRefused::Reused);
            }
            return Err(RefreshRefused::Invalid);
        }
        if grant.refresh_expires_at.is_some_and(|at| now >= at) {
            return Err(RefreshRefused::Invalid);
        }
        if *dialect != Dialect::Connect {
            grant.refresh_token = dialect.new_refresh_token();
            grant.refresh_expires_at = lifetimes.refresh.map(|secs| now + secs);
            self.refresh_tokens.insert(grant.refresh_token.clone(), grant_id.clone());
        }
        let grant = grant.clone();
        Ok((self.issue_access_token(&grant_id, lifetimes.access), grant))
    }

    /// Revokes every grant `predicate` picks (by grant id and grant), with all its tokens; answers
    /// how many access tokens that took away.
    pub fn revoke(&mut self, predicate: impl Fn(&str, &Grant) -> bool) -> usize {
        let mut revoked = Vec::new();
        for (id, grant) in self.grants.iter_mut() {
            if !grant.revoked && predicate(id, grant) {
                grant.revoked = true;
                revoked.push(id.clone());
            }
        }
        self.tokens.values().filter(|token| revoked.contains(&token.grant_id)).count()
    }

    /// Expires the usable access tokens of `account_id` now; answers how many.
    pub fn expire_access_tokens(&mut self, account_id: &str) -> usize {
        let expiring: Vec<String> = self
            .tokens
            .iter()
            .filter(|(_, token)| self.is_active(token) && self.grants[&token.grant_id].account_id == account_id)
            .map(|(access_token, _)| access_token.clone())
            .collect();
        for access_token in &expiring {
            if let Some(token) = self.tokens.get_mut(access_token) {
                token.access_expired = true;
            }
        }
        expiring.len()
    }
}

pub fn random_id(prefix: &str, len: usize) -> String {
    let body: String = rand::thread_rng().sample_iter(&Alphanumeric).take(len).map(char::from).collect();
    format!("{prefix}{body}")
}
