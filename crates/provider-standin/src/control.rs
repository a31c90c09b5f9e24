//! The stand-in's own controls, for trying the lifecycle by hand in the demo: what an account owner or
//! time would do at a provider (expire access, revoke it silently, disconnect or uninstall the app with
//! a webhook, install the app from the Stripe App Marketplace).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::pages::escape;
use crate::Standin;

fn action_form(id: &str, action: &str, label: &str) -> String {
    format!("<form method=\"post\" action=\"/standin/accounts/{id}/{action}\"><button>{label}</button></form>")
}

fn table(rows: &str) -> String {
    format!("<table><thead><tr><th>Account</th><th>ID</th><th>Actions</th></tr></thead><tbody>{rows}</tbody></table>")
}

fn document(body: &str) -> Html<String> {
    Html(format!("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Stripe stand-in controls</title></head><body>{body}</body></html>"))
}

pub(crate) async fn page(State(standin): State<Standin>) -> Html<String> {
    let config = standin.config();
    let stripe_rows: String = config
        .accounts
        .iter()
        .map(|account| {
            let id = escape(&account.id);
            format!(
                "<tr><td>{}</td><td><code>{id}</code></td><td>{}{}{}{}{}{}{}{}{}</td></tr>",
                escape(&account.business_name),
                action_form(&id, "refuse-charges", "Refuse the Charges list (permission missing)"),
                action_form(&id, "allow-charges", "Allow the Charges list again"),
                action_form(&id, "expire-access", "Expire access token"),
                action_form(&id, "revoke-access", "Revoke access silently"),
                action_form(&id, "disconnect-app", "Disconnect the app (sends webhook)"),
                action_form(&id, "uninstall-app", "Uninstall the Stripe App (sends webhook)"),
                action_form(&id, "marketplace-install", "Install the app from the Marketplace"),
                action_form(&id, "marketplace-install-test", "Install the app from the Marketplace in test mode"),
                action_form(&id, "uninstall-app-test", "Uninstall the app in test mode (sends webhook)"),
            )
        })
        .collect();
    let realms: String = config
        .realms
        .iter()
        .map(|realm| {
            let rows: String = realm
                .accounts
                .iter()
                .map(|account| {
                    let id = escape(&account.id);
                    format!(
                        "<tr><td>{}</td><td><code>{id}</code></td><td>{}{}</td></tr>",
                        escape(&account.company),
                        action_form(&id, "expire-access", "Expire access token"),
                        action_form(&id, "revoke-access", "Revoke access"),
                    )
                })
                .collect();
            format!("<h2>{}</h2>{}", escape(&realm.name), table(&rows))
        })
        .collect();
    let keys = crate::key_controls::section(&standin);
    document(&format!("<h1>Stripe stand-in controls</h1><p>What an account owner, or time, would do at Stripe.</p>{}{realms}{keys}", table(&stripe_rows)))
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
        "uninstall-app" => {
            standin.owner_uninstalls_app(&id).await;
        }
        "refuse-charges" => standin.refuse_list(&id, "charges", true),
        "allow-charges" => standin.refuse_list(&id, "charges", false),
        "marketplace-install" => return marketplace_install(&standin, &id, None),
        "uninstall-app-test" => {
            standin.owner_uninstalls_app_in(&id, crate::StripeMode::Test).await;
        }
        action if action.starts_with("marketplace-install-") => match crate::StripeMode::parse(&action["marketplace-install-".len()..]) {
            Some(mode) => return marketplace_install(&standin, &id, Some(mode)),
            None => return (StatusCode::NOT_FOUND, "unknown action").into_response(),
        },
        _ => return (StatusCode::NOT_FOUND, "unknown action").into_response(),
    }
    Redirect::to("/standin").into_response()
}

/// The Marketplace would send the browser on at once; the link is shown instead, to follow by hand.
fn marketplace_install(standin: &Standin, account_id: &str, mode: Option<crate::StripeMode>) -> Response {
    let email = standin.config().accounts.into_iter().find(|a| a.id == account_id).map(|a| a.email);
    let install = |email: String| match mode {
        Some(mode) => standin.marketplace_install_in(&email, mode, None),
        None => standin.marketplace_install(&email),
    };
    let Some(url) = email.and_then(install) else {
        return (StatusCode::NOT_FOUND, "no such account, or no Stripe App registered").into_response();
    };
    let url = escape(&url);
    document(&format!(
        "<h1>Installed from the Marketplace</h1><p>Stripe now sends the browser to the app's redirect URI, without <code>state</code>:</p>\
         <p><a id=\"continue\" href=\"{url}\">{url}</a></p><p><a href=\"/standin\">Back to the controls</a></p>"
    ))
    .into_response()
}
