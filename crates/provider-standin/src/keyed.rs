//! Made-up key-based sources (the `api-key` dialect), each under `/keyed/{source}/`:
//! - `GET /keyed/{source}/api/me` answers `{"id", "company"}` for the key's account;
//! - `GET /keyed/{source}/api/{table}` (one of the source's tables, e.g. `deals`, `contacts`) answers
//!   a JSON array of `{"id", "name", "created_at"}` (RFC 3339), newest first.
//!
//! The key is read only where the source takes it ([`KeyPlacement`]): a key sent elsewhere is as good
//! as none. Refusals: no key or an unknown (rolled) one `401`, a table refused to the key `403`, an
//! unknown table `404`; every error is `{"error": {"code", "message"}}`.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::json;

use crate::keys::KeyOwner;
use crate::Standin;

/// Where a key-based source reads the key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyPlacement {
    /// `Authorization: Bearer <key>`.
    Bearer,
    /// `Authorization: Basic base64(<key>:)`: the key as user name, the password empty.
    Basic,
    /// The key as the value of this header, e.g. `X-Api-Key`.
    Header(String),
}

impl KeyPlacement {
    fn describe(&self) -> String {
        match self {
            KeyPlacement::Bearer => "as a bearer token (Authorization: Bearer)".into(),
            KeyPlacement::Basic => "as the HTTP Basic user name with an empty password".into(),
            KeyPlacement::Header(name) => format!("in the {name} header"),
        }
    }

    /// The key sent where this placement says, if any.
    fn key(&self, headers: &HeaderMap) -> Option<String> {
        let authorization = || headers.get(header::AUTHORIZATION)?.to_str().ok();
        let key = match self {
            KeyPlacement::Bearer => authorization()?.strip_prefix("Bearer ")?.trim().to_owned(),
            KeyPlacement::Basic => {
                let decoded = STANDARD.decode(authorization()?.strip_prefix("Basic ")?.trim()).ok()?;
                let (user, password) = String::from_utf8(decoded).ok()?.split_once(':').map(|(u, p)| (u.to_owned(), p.to_owned()))?;
                if !password.is_empty() {
                    return None;
                }
                user
            }
            KeyPlacement::Header(name) => headers.get(name.as_str())?.to_str().ok()?.trim().to_owned(),
        };
        Some(key).filter(|key| !key.is_empty())
    }
}

/// One made-up key-based source, mounted at `/keyed/{id}/`.
#[derive(Clone, Debug)]
pub struct KeyedSource {
    /// The path segment.
    pub id: String,
    pub name: String,
    /// What its keys start with, e.g. `pl_`.
    pub key_prefix: String,
    pub placement: KeyPlacement,
    /// The tables it serves at `api/{table}`.
    pub tables: Vec<String>,
    pub accounts: Vec<KeyedAccount>,
}

#[derive(Clone, Debug)]
pub struct KeyedAccount {
    pub id: String,
    pub company: String,
}

impl KeyedSource {
    /// "Pipeline CRM" at `/keyed/pipeline/`: keys `pl_` + 32 alphanumerics read where `placement`
    /// says, tables `deals` and `contacts`, two accounts (`pl-3001` Initech, `pl-3002` Umbrella Corp).
    pub fn demo_pipeline(placement: KeyPlacement) -> Self {
        KeyedSource {
            id: "pipeline".into(),
            name: "Pipeline CRM".into(),
            key_prefix: "pl_".into(),
            placement,
            tables: vec!["deals".into(), "contacts".into()],
            accounts: vec![
                KeyedAccount { id: "pl-3001".into(), company: "Initech".into() },
                KeyedAccount { id: "pl-3002".into(), company: "Umbrella Corp".into() },
            ],
        }
    }
}

fn error(status: StatusCode, code: &str, message: String) -> Response {
    (status, Json(json!({ "error": { "code": code, "message": message } }))).into_response()
}

/// The source and the key's account, or the refusal.
fn authenticate(standin: &Standin, source: &str, headers: &HeaderMap) -> Result<(KeyedSource, KeyedAccount, crate::keys::ApiKey), Box<Response>> {
    let Some(source) = standin.config().keyed_sources.into_iter().find(|s| s.id == source) else {
        return Err(Box::new(error(StatusCode::NOT_FOUND, "not_found", format!("No such source: {source}"))));
    };
    let Some(key) = source.placement.key(headers) else {
        return Err(Box::new(error(StatusCode::UNAUTHORIZED, "unauthorized", format!("No API key: send it {}.", source.placement.describe()))));
    };
    let found = standin.api_key(&key).and_then(|api_key| match &api_key.owner {
        KeyOwner::Keyed { source: owner, account_id } if *owner == source.id => {
            source.accounts.iter().find(|a| a.id == *account_id).cloned().map(|account| (account, api_key.clone()))
        }
        _ => None,
    });
    match found {
        Some((account, api_key)) => Ok((source, account, api_key)),
        None => Err(Box::new(error(StatusCode::UNAUTHORIZED, "unauthorized", "Invalid API key.".into()))),
    }
}

/// `GET /keyed/{source}/api/me`.
pub(crate) async fn me(State(standin): State<Standin>, Path(source): Path<String>, headers: HeaderMap) -> Response {
    match authenticate(&standin, &source, &headers) {
        Ok((_, account, _)) => Json(json!({ "id": account.id, "company": account.company })).into_response(),
        Err(refused) => *refused,
    }
}

/// `GET /keyed/{source}/api/{table}`.
pub(crate) async fn table(State(standin): State<Standin>, Path((source, table)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let (source, account, api_key) = match authenticate(&standin, &source, &headers) {
        Ok(found) => found,
        Err(refused) => return *refused,
    };
    if !source.tables.contains(&table) {
        return error(StatusCode::NOT_FOUND, "not_found", format!("No such endpoint: /api/{table}"));
    }
    if api_key.refused_tables.contains(&table) {
        return error(StatusCode::FORBIDDEN, "forbidden", format!("This API key does not have access to {table}."));
    }
    let now = standin.store.lock().expect("stand-in store poisoned").now();
    let created = |age_secs: i64| chrono::DateTime::<chrono::Utc>::from_timestamp(now - age_secs, 0).unwrap_or_default().to_rfc3339();
    let rows: Vec<_> = (0..2)
        .map(|i| json!({ "id": format!("{}-{table}-{i}", account.id), "name": format!("{} {table} {i}", account.company), "created_at": created(90 + i * 86_400) }))
        .collect();
    Json(rows).into_response()
}
