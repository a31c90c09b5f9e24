//! A Stripe App configured with a client per mode (`STRIPE_LIVE_*`, `STRIPE_TEST_*`,
//! `STRIPE_SANDBOX_*`): each mode starts at its own install link, and its codes are exchanged and its
//! grants refreshed only with its own secret key, as Stripe requires ("Authorization code provided
//! does not belong to you" otherwise). The stand-in keeps the modes apart the same way.

use std::collections::HashMap;

use connections_server::crypto::TokenKind;
use connections_testkit::Attempt;
use connections_wire::{ConnectionStatus, Mode};
use provider_standin::{StripeMode, DEMO_EMAIL};
use serde_json::{json, Value};

use crate::support::{admin, spawn_app_with, TestApp};

const ACCOUNT: &str = "acct_1DemoAcmeBooks00";
const LIVE_KEY: &str = "sk_live_ModesLiveKey1";
const TEST_KEY: &str = "sk_test_ModesTestKey1";
const SANDBOX_KEY: &str = "sk_test_ModesSandboxKey1";

async fn spawn_with_modes(extra: &[&str]) -> TestApp {
    let live = format!("--stripe-live-secret-key={LIVE_KEY}");
    let test = format!("--stripe-test-secret-key={TEST_KEY}");
    let mut args = vec!["--stripe-oauth=apps", live.as_str(), test.as_str()];
    args.extend_from_slice(extra);
    spawn_app_with(&args).await
}

/// Starts an attempt at Stripe in `mode` (`None`: none sent); answers the attempt and the response.
async fn start_in(app: &TestApp, mode: Option<&str>) -> (Attempt, reqwest::Response) {
    let attempt = Attempt::new();
    let mut body = attempt.body();
    if let Some(mode) = mode {
        body["mode"] = json!(mode);
    }
    let response = app.post("/api/providers/stripe/attempts", Some(&admin()), &body).send().await.unwrap();
    (attempt, response)
}

/// The whole flow in `mode` for `email`: answers the grant's status and body.
async fn connect_in(app: &TestApp, mode: &str, email: &str) -> (u16, Value) {
    let (attempt, response) = start_in(app, Some(mode)).await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    let url = url::Url::parse(body["authorize_url"].as_str().unwrap()).unwrap();
    assert_eq!(url.path(), format!("/apps/oauth/v2/{mode}/authorize"), "{mode} mode's own install link");
    let params = app.authorize_at(&url, email).await;
    let response = app.send_grant_for("stripe", &admin(), &params["code"], &attempt.state, &attempt.verifier).await;
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn stripe_info(app: &TestApp) -> Value {
    let body: Value = app.get("/api/providers", Some(&admin())).send().await.unwrap().json().await.unwrap();
    body["providers"].as_array().unwrap().iter().find(|p| p["id"] == "stripe").unwrap().clone()
}

#[tokio::test]
async fn the_admin_chooses_the_mode_and_its_code_is_exchanged_with_its_key() {
    let app = spawn_with_modes(&[]).await;
    assert_eq!(stripe_info(&app).await["modes"], json!(["live", "test"]), "the modes to choose from, live first");

    let (_, unchosen) = start_in(&app, None).await;
    assert_eq!(unchosen.status(), 400);
    let problem: Value = unchosen.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().contains("mode is required: Stripe is configured for live, test"), "{problem}");
    let (_, unknown) = start_in(&app, Some("sandbox")).await;
    assert_eq!(unknown.status(), 400);
    let problem: Value = unknown.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().contains("sandbox mode is not configured for Stripe"), "{problem}");
    let (_, garbled) = start_in(&app, Some("production")).await;
    assert_eq!(garbled.status(), 400, "not a mode at all");

    let (status, connection) = connect_in(&app, "test", DEMO_EMAIL).await;
    assert_eq!(status, 201, "{connection}");
    assert_eq!((connection["mode"].as_str(), connection["livemode"].as_bool()), (Some("test"), Some(false)));
    assert_eq!(app.record("stripe", ACCOUNT).await.view.mode, Some(Mode::Test));

    let (status, connection) = connect_in(&app, "live", "finance@globex.test").await;
    assert_eq!(status, 201, "{connection}");
    assert_eq!((connection["mode"].as_str(), connection["livemode"].as_bool()), (Some("live"), Some(true)));
    let listed: Value = app.get("/api/connections", Some(&admin())).send().await.unwrap().json().await.unwrap();
    let mut modes: Vec<&str> = listed["connections"].as_array().unwrap().iter().map(|c| c["mode"].as_str().unwrap()).collect();
    modes.sort();
    assert_eq!(modes, ["live", "test"]);
}

#[tokio::test]
async fn a_code_exchanged_with_another_mode_s_key_is_refused_and_nothing_is_stored() {
    let sandbox = format!("--stripe-sandbox-secret-key={SANDBOX_KEY}");
    let app = spawn_with_modes(&[&sandbox]).await;
    // Stripe's test and sandbox keys swapped in our configuration (both are sk_test_…).
    app.standin.set_app_mode_key(StripeMode::Test, SANDBOX_KEY);
    app.standin.set_app_mode_key(StripeMode::Sandbox, TEST_KEY);
    let (status, problem) = connect_in(&app, "test", DEMO_EMAIL).await;
    assert_eq!((status, problem["code"].as_str()), (502, Some("provider_rejected")), "Stripe refused the connection: {problem}");
    assert!(app.connections().await.is_empty(), "nothing stored");
}

#[tokio::test]
async fn a_marketplace_install_in_test_mode_is_exchanged_with_the_test_key() {
    let app = spawn_with_modes(&[]).await;
    let redirect = app.standin.marketplace_install_in(DEMO_EMAIL, StripeMode::Test, None).expect("a marketplace install");
    let params: HashMap<String, String> = url::Url::parse(&redirect).unwrap().query_pairs().into_owned().collect();
    assert!(!params.contains_key("state"), "no state: nothing of ours says the mode");
    let pending = app.post("/api/providers/stripe/installs", Some(&admin()), &json!({ "code": params["code"] })).send().await.unwrap();
    assert_eq!(pending.status(), 201);
    let pending: Value = pending.json().await.unwrap();
    assert_eq!(pending["mode"], "test", "{pending}");
    assert_eq!(app.standin.apps_token_requests(), 2, "live mode's key first, told the code is not its own without using it up; then test mode's");
    let confirmed =
        app.post(&format!("/api/providers/stripe/installs/{}/confirm", pending["id"].as_str().unwrap()), Some(&admin()), &json!({})).send().await.unwrap();
    assert_eq!(confirmed.status(), 201);
    assert_eq!(app.record("stripe", ACCOUNT).await.view.mode, Some(Mode::Test));
}

#[tokio::test]
async fn a_marketplace_install_no_mode_s_key_takes_is_refused() {
    let app = spawn_with_modes(&[]).await;
    // A sandbox install, which this server has no key for.
    app.standin.set_app_mode_key(StripeMode::Sandbox, SANDBOX_KEY);
    let redirect = app.standin.marketplace_install_in(DEMO_EMAIL, StripeMode::Sandbox, None).expect("a marketplace install");
    let params: HashMap<String, String> = url::Url::parse(&redirect).unwrap().query_pairs().into_owned().collect();
    let refused = app.post("/api/providers/stripe/installs", Some(&admin()), &json!({ "code": params["code"] })).send().await.unwrap();
    assert_eq!(refused.status(), 502, "Stripe refused the connection");
    assert_eq!(app.standin.apps_token_requests(), 2, "each configured mode's key once");
    assert!(app.connections().await.is_empty());
}

#[tokio::test]
async fn renewals_use_the_key_of_the_connection_s_mode() {
    let app = spawn_with_modes(&[]).await;
    let (_, connection) = connect_in(&app, "test", DEMO_EMAIL).await;
    let id = connection["id"].as_str().unwrap();
    let refresh_of = |record: &connections_server::storage::ConnectionRecord| {
        app.state.cipher.open("stripe", ACCOUNT, TokenKind::Refresh, record.refresh_token.as_deref().unwrap()).unwrap().expose().clone()
    };
    let before = refresh_of(&app.record("stripe", ACCOUNT).await);
    app.standin.advance_clock(3601);
    // The stand-in refreshes a test-mode grant only with test mode's key.
    let checked: Value = app.post(&format!("/api/connections/{id}/check"), Some(&admin()), &json!({})).send().await.unwrap().json().await.unwrap();
    assert_eq!(checked["status"], "connected", "{checked}");
    assert_ne!(refresh_of(&app.record("stripe", ACCOUNT).await), before, "renewed, with the rolled refresh token stored");
}

#[tokio::test]
async fn each_mode_s_events_are_verified_with_that_mode_s_webhook_secret() {
    let app = spawn_with_modes(&["--stripe-live-webhook-secret=whsec_LiveModeSecret1", "--stripe-test-webhook-secret=whsec_TestModeSecret1"]).await;
    connect_in(&app, "test", DEMO_EMAIL).await;
    // Test mode's endpoint signs with test mode's secret; the server knows it for that mode.
    assert_eq!(app.standin.owner_uninstalls_app_in(ACCOUNT, StripeMode::Test).await, Some(200));
    assert_eq!(app.record("stripe", ACCOUNT).await.view.status, ConnectionStatus::Revoked);
    // Signed with a secret of no mode: refused.
    app.standin.set_apps_mode_webhook(StripeMode::Live, &format!("{}/api/webhooks/stripe", app.url), "whsec_NobodysSecret1");
    assert_eq!(app.standin.owner_uninstalls_app_in(ACCOUNT, StripeMode::Live).await, Some(400));
}

#[tokio::test]
async fn the_demo_s_providers_file_has_stripe_in_live_and_test_mode() {
    let file = format!("--providers={}/../../examples/providers.toml", env!("CARGO_MANIFEST_DIR"));
    let app = spawn_app_with(&[&file]).await;
    assert_eq!(stripe_info(&app).await["modes"], json!(["live", "test"]));
    let (status, connection) = connect_in(&app, "test", DEMO_EMAIL).await;
    assert_eq!((status, connection["mode"].as_str()), (201, Some("test")), "{connection}");
    // The stand-in's test-mode endpoint signs with the file's test-mode secret.
    assert_eq!(app.standin.owner_uninstalls_app_in(ACCOUNT, StripeMode::Test).await, Some(200));
    assert_eq!(app.record("stripe", ACCOUNT).await.view.status, ConnectionStatus::Revoked);
}

#[tokio::test]
async fn an_account_connected_again_in_another_mode_is_that_mode_s_and_the_other_mode_s_uninstall_leaves_it() {
    let app = spawn_with_modes(&["--stripe-live-webhook-secret=whsec_LiveModeSecret1", "--stripe-test-webhook-secret=whsec_TestModeSecret1"]).await;
    connect_in(&app, "test", DEMO_EMAIL).await;
    // Going live: the same account's connection, now in live mode (one connection per account).
    let (status, connection) = connect_in(&app, "live", DEMO_EMAIL).await;
    assert_eq!((status, connection["outcome"].as_str(), connection["mode"].as_str()), (200, Some("renewed"), Some("live")), "{connection}");
    assert_eq!(app.connections().await.len(), 1);
    // The owner removes the test-mode install: the live connection is not its business.
    assert_eq!(app.standin.owner_uninstalls_app_in(ACCOUNT, StripeMode::Test).await, Some(200));
    assert_eq!(app.record("stripe", ACCOUNT).await.view.status, ConnectionStatus::Connected);
    assert_eq!(app.standin.owner_uninstalls_app_in(ACCOUNT, StripeMode::Live).await, Some(200));
    assert_eq!(app.record("stripe", ACCOUNT).await.view.status, ConnectionStatus::Revoked);
}

#[tokio::test]
async fn a_live_connection_is_not_replaced_by_another_mode_s_grant_or_install() {
    let app = spawn_with_modes(&[]).await;
    let (status, _) = connect_in(&app, "live", DEMO_EMAIL).await;
    assert_eq!(status, 201);
    let (status, problem) = connect_in(&app, "test", DEMO_EMAIL).await;
    assert_eq!(status, 409, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("connected in live mode here; connecting it in test mode would replace"), "{problem}");
    let record = app.record("stripe", ACCOUNT).await;
    assert_eq!((record.view.mode, record.view.status), (Some(Mode::Live), ConnectionStatus::Connected), "nothing changed");
    // Nor by a test-mode install from the Marketplace: refused before it waits for confirmation.
    let redirect = app.standin.marketplace_install_in(DEMO_EMAIL, StripeMode::Test, None).unwrap();
    let params: HashMap<String, String> = url::Url::parse(&redirect).unwrap().query_pairs().into_owned().collect();
    let install = app.post("/api/providers/stripe/installs", Some(&admin()), &json!({ "code": params["code"] })).send().await.unwrap();
    assert_eq!(install.status(), 409);
    assert_eq!(app.count("pending_installs").await, 0);
}

#[tokio::test]
async fn a_reconnect_link_reconnects_in_the_connection_s_own_mode() {
    let app = spawn_with_modes(&[]).await;
    let (_, connection) = connect_in(&app, "test", DEMO_EMAIL).await;
    let body = json!({ "provider": "stripe", "connection_id": connection["id"], "expires_in_secs": 3600 });
    let created: Value = app.post("/api/connect-links", Some(&admin()), &body).send().await.unwrap().json().await.unwrap();
    let token = created["url"].as_str().unwrap().rsplit_once("/connect/").unwrap().1.to_owned();
    let page: Value = app.post("/api/link", None, &json!({ "token": token })).send().await.unwrap().json().await.unwrap();
    assert_eq!(page["provider"]["modes"], json!(["test"]), "only the connection's mode is offered: {page}");
    let attempt = Attempt::new();
    let mut start = attempt.body();
    start["token"] = json!(token);
    start["mode"] = json!("live");
    let refused = app.post("/api/link/attempts", None, &start).send().await.unwrap();
    assert_eq!(refused.status(), 400);
    let problem: Value = refused.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().contains("test mode connection; the attempt must be in test mode"), "{problem}");
    start.as_object_mut().unwrap().remove("mode");
    let started: Value = app.post("/api/link/attempts", None, &start).send().await.unwrap().json().await.unwrap();
    assert!(started["authorize_url"].as_str().unwrap().contains("/apps/oauth/v2/test/authorize"), "{started}");
}

#[tokio::test]
async fn a_connection_whose_mode_is_no_longer_configured_says_so_and_is_kept() {
    let app = spawn_with_modes(&[]).await;
    let (_, connection) = connect_in(&app, "test", DEMO_EMAIL).await;
    let id = connection["id"].as_str().unwrap();
    app.sql(&format!("UPDATE connections SET mode = 'sandbox' WHERE id = '{id}'")).await;
    app.standin.advance_clock(3601);
    app.sql(&format!("UPDATE connections SET access_expires_at = {} WHERE id = '{id}'", chrono::Utc::now().timestamp())).await;
    let requests = app.standin.apps_token_requests();
    let checked = app.post(&format!("/api/connections/{id}/check"), Some(&admin()), &json!({})).send().await.unwrap();
    assert_eq!(checked.status(), 503);
    let problem: Value = checked.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().contains("sandbox mode is not configured for Stripe"), "{problem}");
    assert_eq!(app.standin.apps_token_requests(), requests, "nothing was asked of Stripe");
    assert_eq!(app.record("stripe", ACCOUNT).await.view.status, ConnectionStatus::Connected, "the connection is kept as it was");
}
