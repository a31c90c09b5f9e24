//! API keys, as a provider issues them from its dashboard: Stripe's secret (`sk_live_…`, `sk_test_…`)
//! and restricted (`rk_live_…`, `rk_test_…`) keys per account and mode, and the keys of the made-up
//! key-based sources ([`crate::KeyedSource`]). A key can be refused one table (a permission missing),
//! a restricted Stripe key can be refused `GET /v1/account`, and any key can be rolled: the old one is
//! then unknown (401) and the new one keeps its permissions, as at Stripe.

use std::collections::HashSet;

use crate::store::{random_id, StripeMode};
use crate::Standin;

/// How many characters follow a Stripe key's prefix (`sk_test_`), as in the keys Stripe issues today.
pub const STRIPE_KEY_BODY_LEN: usize = 99;
/// How many characters follow a key-based source's prefix (`pl_`).
pub const KEYED_KEY_BODY_LEN: usize = 32;

/// Whose a key is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyOwner {
    /// A Stripe account's key in one mode; `restricted` for `rk_` keys.
    Stripe { account_id: String, mode: StripeMode, restricted: bool },
    /// An account of a key-based source, by the source's id.
    Keyed { source: String, account_id: String },
}

#[derive(Clone, Debug)]
pub struct ApiKey {
    pub owner: KeyOwner,
    /// Tables (Stripe lists such as `charges`, or a source's tables) this key may not read.
    pub refused_tables: HashSet<String>,
    /// A restricted key without the permission to read the account (`GET /v1/account`).
    pub account_refused: bool,
    /// The order keys were issued in, for the controls page.
    pub issued: u64,
}

impl ApiKey {
    pub fn livemode(&self) -> bool {
        matches!(self.owner, KeyOwner::Stripe { mode: StripeMode::Live, .. })
    }
}

/// A new Stripe key: sandboxes' keys are prefixed like test mode's.
fn stripe_key(mode: StripeMode, restricted: bool) -> String {
    let kind = if restricted { "rk" } else { "sk" };
    let mode = if mode == StripeMode::Live { "live" } else { "test" };
    random_id(&format!("{kind}_{mode}_"), STRIPE_KEY_BODY_LEN)
}

impl Standin {
    /// Issues a Stripe key for `account_id` in `mode`: restricted (`rk_…`) or secret (`sk_…`).
    /// `None` for an unknown account.
    pub fn issue_stripe_key(&self, account_id: &str, mode: StripeMode, restricted: bool) -> Option<String> {
        self.config().accounts.iter().find(|a| a.id == account_id)?;
        let key = stripe_key(mode, restricted);
        let owner = KeyOwner::Stripe { account_id: account_id.to_owned(), mode, restricted };
        self.insert_key(&key, owner);
        Some(key)
    }

    /// Issues a key of the key-based source `source` for its account `account_id` (the source's
    /// prefix and 32 alphanumerics). `None` for an unknown source or account.
    pub fn issue_keyed_key(&self, source: &str, account_id: &str) -> Option<String> {
        let source = self.config().keyed_sources.into_iter().find(|s| s.id == source)?;
        source.accounts.iter().find(|a| a.id == account_id)?;
        let key = random_id(&source.key_prefix, KEYED_KEY_BODY_LEN);
        self.insert_key(&key, KeyOwner::Keyed { source: source.id.clone(), account_id: account_id.to_owned() });
        Some(key)
    }

    fn insert_key(&self, key: &str, owner: KeyOwner) {
        let mut store = self.store.lock().expect("stand-in store poisoned");
        store.keys_issued += 1;
        let api_key = ApiKey { owner, refused_tables: HashSet::new(), account_refused: false, issued: store.keys_issued };
        store.api_keys.insert(key.to_owned(), api_key);
    }

    /// Refuses (or, with `false`, gives back) one table to a key: Stripe answers its list 403 with its
    /// permission error, a key-based source answers 403. `false` for an unknown key.
    pub fn refuse_key_table(&self, key: &str, table: &str, refused: bool) -> bool {
        let mut store = self.store.lock().expect("stand-in store poisoned");
        let Some(api_key) = store.api_keys.get_mut(key) else {
            return false;
        };
        if refused {
            api_key.refused_tables.insert(table.to_owned());
        } else {
            api_key.refused_tables.remove(table);
        }
        true
    }

    /// Refuses (or gives back) `GET /v1/account` to a restricted Stripe key, as restricted keys often
    /// cannot read the account. `false` for an unknown key or one that is not a restricted Stripe key.
    pub fn refuse_key_account(&self, key: &str, refused: bool) -> bool {
        let mut store = self.store.lock().expect("stand-in store poisoned");
        match store.api_keys.get_mut(key) {
            Some(api_key) if matches!(api_key.owner, KeyOwner::Stripe { restricted: true, .. }) => {
                api_key.account_refused = refused;
                true
            }
            _ => false,
        }
    }

    /// Rolls a key: the old one stops working at once (401) and the answered new one keeps its
    /// owner, mode and permissions. `None` for an unknown (or already rolled) key.
    pub fn roll_key(&self, key: &str) -> Option<String> {
        let sources = self.config().keyed_sources;
        let mut store = self.store.lock().expect("stand-in store poisoned");
        let api_key = store.api_keys.remove(key)?;
        let new_key = match &api_key.owner {
            KeyOwner::Stripe { mode, restricted, .. } => stripe_key(*mode, *restricted),
            KeyOwner::Keyed { source, .. } => {
                let prefix = sources.iter().find(|s| s.id == *source).map_or("", |s| s.key_prefix.as_str());
                random_id(prefix, KEYED_KEY_BODY_LEN)
            }
        };
        store.api_keys.insert(new_key.clone(), api_key);
        Some(new_key)
    }

    /// The key's owner and permissions, if the key is known (issued and not rolled).
    pub fn api_key(&self, key: &str) -> Option<ApiKey> {
        self.store.lock().expect("stand-in store poisoned").api_keys.get(key).cloned()
    }

    /// Every key that works now, with its owner, oldest first.
    pub fn api_keys(&self) -> Vec<(String, ApiKey)> {
        let store = self.store.lock().expect("stand-in store poisoned");
        let mut keys: Vec<_> = store.api_keys.iter().map(|(key, api_key)| (key.clone(), api_key.clone())).collect();
        keys.sort_by_key(|(_, api_key)| api_key.issued);
        keys
    }
}
