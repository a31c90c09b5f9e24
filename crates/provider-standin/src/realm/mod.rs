//! Generic, strict OAuth 2.0 providers ("realms"), each under `/oauth2/{realm}/`: the authorization
//! code grant with PKCE required (RFC 6749 §4.1, RFC 7636), rotating refresh tokens with reuse
//! detection (RFC 9700 §4.14.2), revocation (RFC 7009) and one protected resource, `GET api/me`.

mod api;
mod authorize;
mod token;

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

pub(crate) use api::{data, me};
pub(crate) use authorize::{authorize_decision, authorize_page};
pub(crate) use token::{revoke, token};

use crate::{Standin, DEMO_PASSWORD};

/// How the realm's client authenticates at the token and revocation endpoints (RFC 6749 §2.3.1).
/// The other method is refused: a client must use the one it was registered with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// `Authorization: Basic` with the form-urlencoded `client_id:client_secret` (`client_secret_basic`).
    Basic,
    /// `client_id` and `client_secret` form fields (`client_secret_post`).
    Body,
}

/// One made-up provider with its one registered client and the accounts that can sign in.
#[derive(Clone, Debug)]
pub struct Realm {
    /// The path segment: `/oauth2/{id}/…`.
    pub id: String,
    /// Shown on its sign-in page.
    pub name: String,
    pub client_id: String,
    pub client_secret: String,
    pub client_auth: ClientAuth,
    /// A `redirect_uri` must equal one of these exactly.
    pub redirect_uris: Vec<String>,
    /// The scopes it knows; asking for any other fails with `invalid_scope`.
    pub scopes: Vec<String>,
    /// The `expires_in` of its access tokens, enforced by the stand-in's clock.
    pub access_token_lifetime_secs: i64,
    pub accounts: Vec<RealmAccount>,
}

#[derive(Clone, Debug)]
pub struct RealmAccount {
    /// A plain identifier such as `nw-1001`: these are not Stripe accounts.
    pub id: String,
    pub email: String,
    pub password: String,
    pub company: String,
}

/// The default `expires_in`.
pub const REALM_ACCESS_TOKEN_LIFETIME_SECS: i64 = 3600;

fn account(id: &str, email: &str, company: &str) -> RealmAccount {
    RealmAccount { id: id.into(), email: email.into(), password: DEMO_PASSWORD.into(), company: company.into() }
}

impl Realm {
    /// A made-up CRM, `crm` ("Northwind CRM"): HTTP Basic client authentication, two accounts.
    pub fn demo_crm(client_id: &str, client_secret: &str, redirect_uri: &str) -> Self {
        Realm {
            id: "crm".into(),
            name: "Northwind CRM".into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            client_auth: ClientAuth::Basic,
            redirect_uris: vec![redirect_uri.into()],
            scopes: ["contacts.read", "deals.read", "companies.read"].map(String::from).to_vec(),
            access_token_lifetime_secs: REALM_ACCESS_TOKEN_LIFETIME_SECS,
            accounts: vec![account("nw-1001", "sales@northwind.test", "Northwind Traders"), account("nw-1002", "ops@contoso.test", "Contoso Ltd")],
        }
    }

    /// A made-up ads platform, `ads` ("Adpulse"): client credentials in the form body, one account.
    pub fn demo_ads(client_id: &str, client_secret: &str, redirect_uri: &str) -> Self {
        Realm {
            id: "ads".into(),
            name: "Adpulse".into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            client_auth: ClientAuth::Body,
            redirect_uris: vec![redirect_uri.into()],
            scopes: ["campaigns.read", "reports.read"].map(String::from).to_vec(),
            access_token_lifetime_secs: REALM_ACCESS_TOKEN_LIFETIME_SECS,
            accounts: vec![account("ap-2001", "growth@acme.test", "Acme Books Ltd")],
        }
    }
}

fn find(standin: &Standin, id: &str) -> Option<Realm> {
    standin.config().realms.into_iter().find(|realm| realm.id == id)
}

fn no_such_realm() -> Response {
    (StatusCode::NOT_FOUND, "no such realm").into_response()
}

/// The parameters of a request, and the first one sent more than once, if any: RFC 6749 §3.1 and
/// §3.2 forbid repeating any.
fn single_valued(pairs: impl Iterator<Item = (String, String)>) -> (HashMap<String, String>, Option<String>) {
    let mut params = HashMap::new();
    let mut repeated = None;
    for (name, value) in pairs {
        match params.entry(name) {
            Entry::Occupied(entry) => {
                repeated.get_or_insert_with(|| entry.key().clone());
            }
            Entry::Vacant(entry) => {
                entry.insert(value);
            }
        }
    }
    (params, repeated)
}
