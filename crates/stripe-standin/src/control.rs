//! The stand-in's own controls, for trying the lifecycle by hand in the demo: what an account owner or
//! time would do at Stripe (expire access, revoke it silently, disconnect the app with a webhook).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::pages::escape;
use crate::Standin;

/// `Stripe-Signature`'s v1: hex HMAC-SHA256 over `"{t}.{payload}"`.
pub(crate) fn sign(secret: &str, timestamp: i64, payload: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(payload);
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) async fn page(State(standin): State<Standin>) -> Html<String> {
    let rows: String = standin
        .config()
        .accounts
        .iter()
        .map(|account| {
            let id = escape(&account.id);
            let form = |action: &str, label: &str| {
                format!("<form method=\"post\" action=\"/standin/accounts/{id}/{action}\"><button>{label}</button></form>")
            };
            format!(
                "<tr><td>{}</td><td><code>{id}</code></td><td>{}{}{}</td></tr>",
                escape(&account.business_name),
                form("expire-access", "Expire access token"),
                form("revoke-access", "Revoke access silently"),
                form("disconnect-app", "Disconnect the app (sends webhook)"),
            )
        })
        .collect();
    Html(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Stripe stand-in controls</title></head><body>\
         <h1>Stripe stand-in controls</h1><p>What an account owner, or time, would do at Stripe.</p>\
         <table><thead><tr><th>Account</th><th>ID</th><th>Actions</th></tr></thead><tbody>{rows}</tbody></table></body></html>"
    ))
}

pub(crate) async fn act(State(standin): State<Standin>, Path((id, action)): Path<(String, String)>) -> Response {
    match action.as_str() {
        "expire-access" => {
            standin.expire_access_tokens(&id);
        }
        "revoke-access" => {
            standin.revoke_access(&id);
        }
        "disconnect-app" => {
            standin.owner_disconnects_app(&id).await;
        }
        _ => return (StatusCode::NOT_FOUND, "unknown action").into_response(),
    }
    Redirect::to("/standin").into_response()
}
