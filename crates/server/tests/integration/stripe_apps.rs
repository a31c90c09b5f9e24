//! Stripe through Stripe Apps OAuth 2.0 (the default): one-hour access tokens without `expires_in`,
//! refresh tokens rolled on every refresh, installs and uninstalls as events, installs begun in the
//! App Marketplace, and no call to uninstall from here.

use crate::support;

use connections_server::crypto::TokenKind;
use connections_wire::ConnectionStatus;
use serde_json::{json, Value};
use support::{admin, spawn_app_with, TestApp};

const APPS: &str = "--stripe-oauth=apps";
const ACCOUNT: &str = "acct_1DemoAcmeBooks00";

async fn check(app: &TestApp, id: &str) -> reqwest::Response {
    app.post(&format!("/api/connections/{id}/check"), Some(&admin()), &json!({})).send().await.unwrap()
}

async fn connected(app: &TestApp) -> String {
    let (status, connection) = app.connect_to("stripe", &admin(), provider_standin::DEMO_EMAIL).await;
    assert_eq!(status, 201, "{connection}");
    connection["id"].as_str().unwrap().to_owned()
}

fn refresh_token(app: &TestApp, record: &connections_server::storage::ConnectionRecord) -> String {
    app.state.cipher.open("stripe", ACCOUNT, TokenKind::Refresh, record.refresh_token.as_deref().unwrap()).unwrap().expose().clone()
}

#[tokio::test]
async fn connecting_uses_the_install_link_and_stores_a_one_hour_token() {
    let app = spawn_app_with(&[APPS]).await;
    let (attempt, url) = app.start_attempt_for("stripe", &admin()).await;
    assert_eq!(url.path(), "/apps/oauth/v2/authorize");
    let mut names: Vec<String> = url.query_pairs().map(|(name, _)| name.into_owned()).collect();
    names.sort();
    assert_eq!(names, ["client_id", "redirect_uri", "state"], "exactly what Stripe's install link takes");
    let params = app.authorize_at(&url, provider_standin::DEMO_EMAIL).await;
    let response = app.send_grant_for("stripe", &admin(), &params["code"], &attempt.state, &attempt.verifier).await;
    assert_eq!(response.status(), 201);
    let connection: Value = response.json().await.unwrap();
    assert_eq!((connection["scope"].as_str(), connection["livemode"].as_bool()), (Some("stripe_apps"), Some(false)));
    let record = app.record("stripe", ACCOUNT).await;
    let expires_in = record.access_expires_at.unwrap() - chrono::Utc::now().timestamp();
    assert!((3500..=3600).contains(&expires_in), "Stripe Apps access tokens last an hour: {expires_in}");
}

#[tokio::test]
async fn after_expiry_renewal_rolls_the_refresh_token_and_a_second_renewal_uses_the_new_one() {
    let app = spawn_app_with(&[APPS]).await;
    let id = connected(&app).await;
    let mut previous = refresh_token(&app, &app.record("stripe", ACCOUNT).await);
    for renewal in 1..=2u64 {
        app.standin.advance_clock(3601);
        let checked = check(&app, &id).await;
        assert_eq!(checked.status(), 200);
        let body: Value = checked.json().await.unwrap();
        assert_eq!(body["status"], "connected", "renewal {renewal}");
        let now = refresh_token(&app, &app.record("stripe", ACCOUNT).await);
        assert_ne!(now, previous, "renewal {renewal} stored the rolled refresh token");
        previous = now;
        assert_eq!(app.standin.apps_token_requests(), 1 + renewal);
    }
}

#[tokio::test]
async fn concurrent_renewals_make_one_token_request_and_the_connection_still_works() {
    // Eleven checks in a minute: above the default per-session limit.
    let app = spawn_app_with(&[APPS, "--rate-limit-per-minute=100"]).await;
    let id = connected(&app).await;
    app.standin.advance_clock(3601);
    app.sql(&format!("UPDATE connections SET access_expires_at = {} WHERE id = '{id}'", chrono::Utc::now().timestamp())).await;
    let statuses = crate::providers::futures_statuses((0..10).map(|_| check(&app, &id))).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(app.standin.apps_token_requests(), 2, "the code, then one refresh for ten callers");
    app.standin.advance_clock(3601);
    let body: Value = check(&app, &id).await.json().await.unwrap();
    assert_eq!(body["status"], "connected", "the rolled refresh token kept working");
}

#[tokio::test]
async fn an_uninstall_event_marks_the_connection_revoked() {
    let app = spawn_app_with(&[APPS]).await;
    connected(&app).await;
    assert_eq!(app.standin.owner_uninstalls_app(ACCOUNT).await, Some(200));
    let record = app.record("stripe", ACCOUNT).await;
    assert_eq!(record.view.status, ConnectionStatus::Revoked);
    assert!(record.access_token.is_none() && record.refresh_token.is_none());
}

#[tokio::test]
async fn disconnecting_deletes_the_tokens_and_says_to_remove_the_app_in_stripe() {
    let app = spawn_app_with(&[APPS]).await;
    let id = connected(&app).await;
    let requests = app.standin.apps_token_requests();
    let response = app.post(&format!("/api/connections/{id}/disconnect"), Some(&admin()), &json!({})).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let detail: Value = app.get(&format!("/api/connections/{id}"), Some(&admin())).send().await.unwrap().json().await.unwrap();
    assert_eq!(detail["connection"]["status"], "disconnected");
    assert!(detail["history"][0]["detail"].as_str().unwrap().contains("Remove the app in Stripe"), "{detail}");
    assert!(app.record("stripe", ACCOUNT).await.access_token.is_none());
    assert_eq!(app.standin.apps_token_requests(), requests);
    let providers: Value = app.get("/api/providers", Some(&admin())).send().await.unwrap().json().await.unwrap();
    assert_eq!(providers["providers"][0]["uninstall_url"], "https://dashboard.stripe.com/settings/apps");
}

#[tokio::test]
async fn an_install_begun_in_the_marketplace_is_linked_once_confirmed() {
    let app = spawn_app_with(&[APPS]).await;
    let redirect = app.standin.marketplace_install(provider_standin::DEMO_EMAIL).expect("a marketplace install");
    let params: std::collections::HashMap<String, String> = url::Url::parse(&redirect).unwrap().query_pairs().into_owned().collect();
    assert!(!params.contains_key("state"));
    let pending = app.post("/api/providers/stripe/installs", Some(&admin()), &json!({ "code": params["code"] })).send().await.unwrap();
    assert_eq!(pending.status(), 201);
    let pending: Value = pending.json().await.unwrap();
    assert_eq!(pending["account_name"], "Acme Books Ltd");
    assert!(app.connections().await.is_empty());
    let confirmed =
        app.post(&format!("/api/providers/stripe/installs/{}/confirm", pending["id"].as_str().unwrap()), Some(&admin()), &json!({})).send().await.unwrap();
    assert_eq!(confirmed.status(), 201);
    let confirmed: Value = confirmed.json().await.unwrap();
    assert_eq!(confirmed["outcome"], "created");
    assert!(app.record("stripe", ACCOUNT).await.access_expires_at.is_some(), "the install's expiry is kept");
}
