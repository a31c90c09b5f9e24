//! The controls for API keys: issue a key (a Stripe key per account, mode and kind, or a key-based
//! source's key), refuse it one table or (restricted Stripe keys) the account, roll it. On the
//! controls page as forms, and as JSON for tests:
//! - `POST /standin/api/stripe-keys` `{"account": "acct_…", "mode": "live"|"test"|"sandbox",
//!   "kind": "restricted"|"secret"}` → `{"key", "account", "mode", "livemode", "kind"}`;
//! - `POST /standin/api/keyed/{source}/keys` `{"account": "pl-3001"}` → `{"key", "source", "account"}`;
//! - `POST /standin/api/keys/{key}/refuse-table` `{"table": "charges", "refused": true}` (default true);
//! - `POST /standin/api/keys/{key}/refuse-account` `{"refused": true}` (restricted Stripe keys only);
//! - `POST /standin/api/keys/{key}/roll` → `{"key": new, "rolled": old}`.
//!
//! Errors: `404 {"error": "…"}` for an unknown account, source or key; `400` for a bad mode or kind.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use serde::Deserialize;
use serde_json::json;

use crate::keys::KeyOwner;
use crate::pages::escape;
use crate::store::StripeMode;
use crate::Standin;

fn refusal(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

#[derive(Deserialize)]
pub(crate) struct StripeKeyRequest {
    account: String,
    mode: String,
    kind: String,
}

fn issue_stripe(standin: &Standin, request: &StripeKeyRequest) -> Result<(String, StripeMode, bool), (StatusCode, &'static str)> {
    let mode = StripeMode::parse(&request.mode).ok_or((StatusCode::BAD_REQUEST, "mode: live, test or sandbox"))?;
    let restricted = match request.kind.as_str() {
        "restricted" => true,
        "secret" => false,
        _ => return Err((StatusCode::BAD_REQUEST, "kind: restricted or secret")),
    };
    let key = standin.issue_stripe_key(&request.account, mode, restricted).ok_or((StatusCode::NOT_FOUND, "no such account"))?;
    Ok((key, mode, restricted))
}

/// `POST /standin/api/stripe-keys`.
pub(crate) async fn api_issue_stripe(State(standin): State<Standin>, Json(request): Json<StripeKeyRequest>) -> Response {
    match issue_stripe(&standin, &request) {
        Ok((key, mode, restricted)) => Json(json!({
            "key": key,
            "account": request.account,
            "mode": mode.as_str(),
            "livemode": mode.livemode(),
            "kind": if restricted { "restricted" } else { "secret" },
        }))
        .into_response(),
        Err((status, message)) => refusal(status, message),
    }
}

/// `POST /standin/stripe-keys`: the page's form.
pub(crate) async fn form_issue_stripe(State(standin): State<Standin>, Form(request): Form<StripeKeyRequest>) -> Response {
    match issue_stripe(&standin, &request) {
        Ok(_) => Redirect::to("/standin#keys").into_response(),
        Err((status, message)) => refusal(status, message),
    }
}

#[derive(Deserialize)]
pub(crate) struct KeyedKeyRequest {
    account: String,
}

/// `POST /standin/api/keyed/{source}/keys`.
pub(crate) async fn api_issue_keyed(State(standin): State<Standin>, Path(source): Path<String>, Json(request): Json<KeyedKeyRequest>) -> Response {
    match standin.issue_keyed_key(&source, &request.account) {
        Some(key) => Json(json!({ "key": key, "source": source, "account": request.account })).into_response(),
        None => refusal(StatusCode::NOT_FOUND, "no such source or account"),
    }
}

/// `POST /standin/keyed/{source}/keys`: the page's form.
pub(crate) async fn form_issue_keyed(State(standin): State<Standin>, Path(source): Path<String>, Form(request): Form<KeyedKeyRequest>) -> Response {
    match standin.issue_keyed_key(&source, &request.account) {
        Some(_) => Redirect::to("/standin#keys").into_response(),
        None => refusal(StatusCode::NOT_FOUND, "no such source or account"),
    }
}

/// Does `action` to `key` with the request's fields (`table`, `refused`); answers what the JSON
/// route answers.
fn act(standin: &Standin, key: &str, action: &str, fields: &HashMap<String, serde_json::Value>) -> Response {
    let refused = fields.get("refused").map(|v| v.as_bool().unwrap_or(v.as_str() != Some("false"))).unwrap_or(true);
    match action {
        "refuse-table" | "allow-table" => {
            let Some(table) = fields.get("table").and_then(|t| t.as_str()) else {
                return refusal(StatusCode::BAD_REQUEST, "table: the table to refuse");
            };
            let refused = refused && action == "refuse-table";
            match standin.refuse_key_table(key, table, refused) {
                true => Json(json!({ "key": key, "table": table, "refused": refused })).into_response(),
                false => refusal(StatusCode::NOT_FOUND, "no such key"),
            }
        }
        "refuse-account" | "allow-account" => {
            let refused = refused && action == "refuse-account";
            match (standin.api_key(key), standin.refuse_key_account(key, refused)) {
                (_, true) => Json(json!({ "key": key, "account_refused": refused })).into_response(),
                (Some(_), false) => refusal(StatusCode::BAD_REQUEST, "only a restricted Stripe key can be refused the account"),
                (None, false) => refusal(StatusCode::NOT_FOUND, "no such key"),
            }
        }
        "roll" => match standin.roll_key(key) {
            Some(new_key) => Json(json!({ "key": new_key, "rolled": key })).into_response(),
            None => refusal(StatusCode::NOT_FOUND, "no such key"),
        },
        _ => refusal(StatusCode::NOT_FOUND, "unknown action"),
    }
}

/// `POST /standin/api/keys/{key}/{action}`, with a JSON body (or none).
pub(crate) async fn api_act(State(standin): State<Standin>, Path((key, action)): Path<(String, String)>, body: axum::body::Bytes) -> Response {
    let fields: HashMap<String, serde_json::Value> = if body.is_empty() {
        HashMap::new()
    } else {
        match serde_json::from_slice(&body) {
            Ok(fields) => fields,
            Err(_) => return refusal(StatusCode::BAD_REQUEST, "the body must be a JSON object"),
        }
    };
    act(&standin, &key, &action, &fields)
}

/// `POST /standin/keys/{key}/{action}`: the page's forms.
pub(crate) async fn form_act(State(standin): State<Standin>, Path((key, action)): Path<(String, String)>, body: axum::body::Bytes) -> Response {
    let fields = crate::oauth::parse_form(&body).into_iter().map(|(name, value)| (name, serde_json::Value::String(value))).collect();
    let response = act(&standin, &key, &action, &fields);
    if response.status().is_success() {
        Redirect::to("/standin#keys").into_response()
    } else {
        response
    }
}

fn button(action: &str, label: &str, fields: &str) -> String {
    format!("<form method=\"post\" action=\"{action}\">{fields}<button>{label}</button></form>")
}

/// The page's keys section: forms to issue keys, and every working key with its controls.
pub(crate) fn section(standin: &Standin) -> String {
    let config = standin.config();
    let mut issue = String::new();
    for account in &config.accounts {
        let id = escape(&account.id);
        for (kind, mode) in [("restricted", "test"), ("restricted", "live"), ("secret", "test"), ("secret", "live")] {
            let fields = format!(
                "<input type=\"hidden\" name=\"account\" value=\"{id}\"><input type=\"hidden\" name=\"mode\" value=\"{mode}\"><input type=\"hidden\" name=\"kind\" value=\"{kind}\">"
            );
            let label = format!("Issue a {kind} {mode}-mode key for {}", escape(&account.business_name));
            issue.push_str(&button("/standin/stripe-keys", &label, &fields));
        }
    }
    for source in &config.keyed_sources {
        for account in &source.accounts {
            let fields = format!("<input type=\"hidden\" name=\"account\" value=\"{}\">", escape(&account.id));
            let label = format!("Issue a {} key for {}", escape(&source.name), escape(&account.company));
            issue.push_str(&button(&format!("/standin/keyed/{}/keys", escape(&source.id)), &label, &fields));
        }
    }
    let rows: String = standin
        .api_keys()
        .into_iter()
        .map(|(key, api_key)| {
            let (owner, tables, restricted): (String, Vec<String>, bool) = match &api_key.owner {
                KeyOwner::Stripe { account_id, mode, restricted } => {
                    (format!("Stripe {account_id} ({} mode)", mode.as_str()), crate::api::LISTS.map(String::from).to_vec(), *restricted)
                }
                KeyOwner::Keyed { source, account_id } => {
                    let tables = config.keyed_sources.iter().find(|s| s.id == *source).map(|s| s.tables.clone()).unwrap_or_default();
                    (format!("{source} {account_id}"), tables, false)
                }
            };
            let base = format!("/standin/keys/{}", escape(&key));
            let options: String = tables.iter().map(|t| format!("<option>{}</option>", escape(t))).collect();
            let select = format!("<select name=\"table\">{options}</select>");
            let mut actions = button(&format!("{base}/refuse-table"), "Refuse the table (permission missing)", &select);
            actions.push_str(&button(&format!("{base}/allow-table"), "Allow the table again", &select));
            if restricted {
                actions.push_str(&button(&format!("{base}/refuse-account"), "Refuse reading the account", ""));
                actions.push_str(&button(&format!("{base}/allow-account"), "Allow reading the account", ""));
            }
            actions.push_str(&button(&format!("{base}/roll"), "Roll the key", ""));
            let mut refused: Vec<String> = api_key.refused_tables.iter().cloned().collect();
            refused.sort();
            if api_key.account_refused {
                refused.insert(0, "account".into());
            }
            format!("<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{actions}</td></tr>", escape(&owner), escape(&key), escape(&refused.join(", ")))
        })
        .collect();
    format!(
        "<h2 id=\"keys\">API keys</h2>{issue}<table><thead><tr><th>Owner</th><th>Key</th><th>Refused</th><th>Actions</th></tr></thead><tbody>{rows}</tbody></table>"
    )
}
