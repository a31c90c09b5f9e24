//! Tokens that must not die (design.md): a renewal finishes storing what the provider answered
//! whatever happens to its caller (a hang-up, the background round stopped, a shutdown); two
//! instances whose clocks disagree never send one refresh token twice; one workspace's disconnect
//! does not end another's access to a shared Stripe Connect account; idle connections are renewed
//! before they age out. Over real HTTP with the stand-in, on SQLite and on PostgreSQL.

use std::time::Duration;

use crate::support;

use connections_server::crypto::TokenKind;
use connections_server::services::maintenance;
use provider_standin::TokenFault;
use serde_json::{json, Value};
use support::{admin, spawn_app, spawn_app_stopped_by, spawn_app_with, spawn_second_instance, TestApp};

const APPS: &str = "--stripe-oauth=apps";
const ACME: &str = "acct_1DemoAcmeBooks00";
use crate::service_api::{service_keys_arg, SERVICE_KEY};

fn access_token_url(app: &TestApp, id: &str) -> String {
    format!("{}/service/v1/connections/{id}/access-token", app.url)
}

async fn access_token(app: &TestApp, id: &str) -> reqwest::Response {
    app.http.post(access_token_url(app, id)).bearer_auth(SERVICE_KEY).send().await.unwrap()
}

/// A Stripe App connected in the test workspace; answers its id.
async fn connected_app(app: &TestApp) -> String {
    let (status, connection) = app.connect_to("stripe", &admin(), provider_standin::DEMO_EMAIL).await;
    assert_eq!(status, 201, "{connection}");
    connection["id"].as_str().unwrap().to_owned()
}

/// The stored access token expires now, and Stripe (the stand-in) agrees it has.
async fn expire_stored_token(app: &TestApp) {
    app.sql(&format!("UPDATE connections SET access_expires_at = {}", chrono::Utc::now().timestamp() - 10)).await;
    app.standin.advance_clock(3601);
}

/// Whether the refresh token stored for the connection is the one Stripe takes now (asked straight
/// at the stand-in; a Stripe App's refresh token rolls, so this spends it).
async fn stored_refresh_token_works(app: &TestApp, id: &str) -> bool {
    let record = app.state.db.connection(id).await.unwrap().unwrap();
    let stored = record.refresh_token.expect("a refresh token is stored");
    let refresh_token = app.state.cipher.open("stripe", ACME, TokenKind::Refresh, &stored).unwrap();
    let answer = app
        .http
        .post(format!("{}/v1/oauth/token", app.standin_url))
        .basic_auth(app.standin.config().apps[0].secret_key.clone(), None::<&str>)
        .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh_token.expose().as_str())])
        .send()
        .await
        .unwrap();
    answer.status() == 200
}

#[tokio::test]
async fn a_caller_that_hangs_up_mid_renewal_leaves_the_new_tokens_stored_and_the_next_call_gets_a_working_token() {
    let keys = service_keys_arg();
    let app = spawn_app_with(&[APPS, &keys]).await;
    let id = connected_app(&app).await;
    expire_stored_token(&app).await;
    let before = app.standin.apps_token_requests();

    // Stripe rolls the refresh token at once and answers after 3 s; the sync job gives up after 1 s.
    app.standin.set_token_fault(Some(TokenFault::AnswerLate(Duration::from_secs(3))));
    let impatient = reqwest::Client::builder().timeout(Duration::from_secs(1)).build().unwrap();
    let hung_up = impatient.post(access_token_url(&app, &id)).bearer_auth(SERVICE_KEY).send().await;
    assert!(hung_up.is_err(), "the caller went away before the answer");
    app.standin.set_token_fault(None);

    // The next call waits for the renewal under way instead of sending the spent refresh token.
    let next = access_token(&app, &id).await;
    assert_eq!(next.status(), 200);
    let body: Value = next.json().await.unwrap();
    assert_eq!(body["renewed"], true, "{body}");
    assert!(app.standin.token_is_active(body["access_token"].as_str().unwrap()), "a working token");
    assert_eq!(app.standin.apps_token_requests() - before, 1, "the refresh token was sent once");

    // What was stored is the rolled pair: the renewal after it works too.
    expire_stored_token(&app).await;
    let again: Value = access_token(&app, &id).await.json().await.unwrap();
    assert_eq!(again["renewed"], true, "{again}");
    assert!(app.standin.token_is_active(again["access_token"].as_str().unwrap()));
    assert_eq!(app.record("stripe", ACME).await.view.status.as_str(), "connected");
}

#[tokio::test]
async fn a_shutdown_during_a_renewal_of_the_background_round_waits_for_it_and_stores_it() {
    let (app, stop) = spawn_app_stopped_by(&[APPS]).await;
    let id = connected_app(&app).await;
    let version = app.record("stripe", ACME).await.token_version;
    // Idle past the keep-alive: the round renews it, through an answer that comes after 3 s.
    app.sql(&format!("UPDATE connections SET refresh_used_at = {}", chrono::Utc::now().timestamp() - 8 * 86_400)).await;
    app.standin.set_token_fault(Some(TokenFault::AnswerLate(Duration::from_secs(3))));
    let before = app.standin.apps_token_requests();
    let round = tokio::spawn({
        let state = app.state.clone();
        async move { maintenance::keep_alive(&state, state.keepalive).await }
    });
    while app.standin.apps_token_requests() == before {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The refresh token has left. Shutdown stops the round (as `run` does) and the server.
    round.abort();
    let _ = round.await;
    app.standin.set_token_fault(None);
    stop.send(()).unwrap();
    let app = finished(app).await;

    let record = app.state.db.connection(&id).await.unwrap().unwrap();
    assert_eq!(record.token_version, version + 1, "the renewal was stored before the server ended");
    assert_eq!(record.view.status.as_str(), "connected");
    assert!(stored_refresh_token_works(&app, &id).await, "the stored refresh token is the rolled one");
}

/// Waits (at most 30 s) for the server to end after its shutdown began; answers the app for what is
/// left (its database and stand-in).
async fn finished(mut app: TestApp) -> TestApp {
    let server = std::mem::replace(&mut app.server, tokio::spawn(async { Ok(()) }));
    let ended = tokio::time::timeout(Duration::from_secs(30), server).await.expect("the server ends");
    ended.unwrap().unwrap();
    app
}

#[tokio::test]
async fn two_instances_with_clocks_forty_seconds_apart_never_renew_the_same_version_twice() {
    let keys = service_keys_arg();
    // A renewal's lease is the provider's timeout and 20 s: shorter than the clocks' disagreement.
    let first = spawn_app_with(&[APPS, &keys, "--stripe-timeout-secs=5"]).await;
    let second = spawn_second_instance(&first).await;
    second.state.clock.set_skew(40);
    let id = connected_app(&first).await;
    expire_stored_token(&first).await;
    let before = first.standin.apps_token_requests();

    first.standin.set_token_fault(Some(TokenFault::AnswerLate(Duration::from_secs(2))));
    let on_first = access_token(&first, &id);
    let on_second = async {
        while first.standin.apps_token_requests() == before {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        access_token(&second, &id).await
    };
    let (on_first, on_second) = tokio::join!(on_first, on_second);
    first.standin.set_token_fault(None);
    assert_eq!((on_first.status().as_u16(), on_second.status().as_u16()), (200, 200));
    let (a, b): (Value, Value) = (on_first.json().await.unwrap(), on_second.json().await.unwrap());
    assert_eq!(a["access_token"], b["access_token"], "the second instance waited for the first one's renewal");
    assert_eq!(first.standin.apps_token_requests() - before, 1, "one refresh for one token version");
    assert!(first.standin.token_is_active(a["access_token"].as_str().unwrap()));
    assert_eq!(first.record("stripe", ACME).await.view.status.as_str(), "connected");
    assert!(stored_refresh_token_works(&first, &id).await);
}

#[tokio::test]
async fn a_renewal_whose_lease_was_taken_over_writes_nothing() {
    let app = spawn_app_with(&[APPS]).await;
    let id = connected_app(&app).await;
    let record = app.record("stripe", ACME).await;
    let db = &app.state.db;
    assert!(db.claim_renewal(&id, record.token_version, "renewal_late", 0).await.unwrap());
    // A lease of 0 s is over at once on the database's clock (strictly: in the next second).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(db.claim_renewal(&id, record.token_version, "renewal_winner", 60).await.unwrap(), "the expired lease is taken over");
    let event = || connections_server::storage::AuditEntry {
        workspace: support::WORKSPACE,
        provider: "stripe",
        account_id: ACME,
        action: connections_wire::AuditAction::Renew,
        success: false,
        actor_subject: "test",
        actor_name: "test",
        detail: "late",
        at: 0,
    };
    let tokens = || connections_server::storage::RenewedTokens { access_token: vec![1], refresh_token: Some(vec![2]), access_expires_at: None };
    assert!(
        !db.store_renewal(&id, record.token_version, "renewal_late", tokens(), event(), Default::default()).await.unwrap(),
        "the late loser stores nothing"
    );
    assert!(!db.renewal_refused(&id, record.token_version, "renewal_late", event(), Default::default()).await.unwrap(), "nor marks the row");
    db.release_renewal(&id, record.token_version, "renewal_late").await.unwrap();
    assert!(!db.claim_renewal(&id, record.token_version, "renewal_third", 60).await.unwrap(), "nor gives the winner's lease away");
    let after = app.record("stripe", ACME).await;
    assert_eq!((after.token_version, after.view.status.as_str()), (record.token_version, "connected"));
    assert_eq!(after.access_token, record.access_token);
}

async fn post_as(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.post(path, Some(token), &json!({})).send().await.unwrap()
}

#[tokio::test]
async fn two_workspaces_on_one_connect_account_one_disconnects_and_the_others_check_stays_healthy() {
    let app = spawn_app().await;
    let acme = app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    let globex_admin = support::token_in("globex", "admin", "admin-g");
    let globex = app.connect(&globex_admin, provider_standin::DEMO_EMAIL).await;
    assert_ne!(acme["id"], globex["id"]);

    let response = post_as(&app, &admin(), &format!("/api/connections/{}/disconnect", acme["id"].as_str().unwrap())).await;
    assert_eq!(response.status(), 200);
    let disconnected: Value = response.json().await.unwrap();
    assert_eq!(disconnected["status"], "disconnected");
    assert_eq!(disconnected["revocation"], "kept_for_other_connections", "{disconnected}");
    let old_client: connections_wire::ConnectionView = serde_json::from_value(disconnected.clone()).unwrap();
    assert_eq!(old_client.status.as_str(), "disconnected", "a client that reads the row alone still does");
    assert!(app.stored_access_token(ACME).await.is_none(), "this workspace's tokens are deleted");
    let detail: Value = app.get(&format!("/api/connections/{}", acme["id"].as_str().unwrap()), Some(&admin())).send().await.unwrap().json().await.unwrap();
    let line = &detail["history"][0];
    assert_eq!((line["action"].as_str(), line["actor"].as_str()), (Some("disconnect"), Some("admin-1 name")));
    assert!(line["detail"].as_str().unwrap().contains("was not asked"), "{line}");

    // The other workspace's connection still works, checked at Stripe.
    let checked = post_as(&app, &globex_admin, &format!("/api/connections/{}/check", globex["id"].as_str().unwrap())).await;
    assert_eq!(checked.status(), 200);
    assert_eq!(checked.json::<Value>().await.unwrap()["status"], "connected");
    // Both grants still stand at Stripe: Connect has no call that ends one token alone.
    assert_eq!(app.standin.active_tokens(), 2);

    // The last one out withdraws the authorization at Stripe.
    let last: Value = post_as(&app, &globex_admin, &format!("/api/connections/{}/disconnect", globex["id"].as_str().unwrap())).await.json().await.unwrap();
    assert_eq!((last["status"].as_str(), last["revocation"].as_str()), (Some("disconnected"), Some("revoked")));
    assert_eq!(app.standin.active_tokens(), 0);
}

/// Both workspaces disconnect the shared account at the same moment: each may see the other still
/// holding it, but whichever ends last withdraws it, so Stripe is not left authorized for nobody.
#[tokio::test]
async fn two_disconnects_of_a_shared_account_at_once_leave_it_withdrawn_at_stripe() {
    for _ in 0..3 {
        let app = spawn_app().await;
        let acme = app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
        let globex_admin = support::token_in("globex", "admin", "admin-g");
        let globex = app.connect(&globex_admin, provider_standin::DEMO_EMAIL).await;
        let acme_path = format!("/api/connections/{}/disconnect", acme["id"].as_str().unwrap());
        let globex_path = format!("/api/connections/{}/disconnect", globex["id"].as_str().unwrap());
        let acme_admin = admin();
        let (a, g) = tokio::join!(post_as(&app, &acme_admin, &acme_path), post_as(&app, &globex_admin, &globex_path));
        assert_eq!((a.status(), g.status()), (reqwest::StatusCode::OK, reqwest::StatusCode::OK));
        assert_eq!(app.standin.active_tokens(), 0, "the account is still authorized at Stripe with no connection here");
    }
}

#[tokio::test]
async fn an_expired_install_of_an_account_another_workspace_uses_is_not_withdrawn_at_stripe() {
    let app = spawn_app().await;
    let globex_admin = support::token_in("globex", "admin", "admin-g");
    let globex = app.connect(&globex_admin, provider_standin::DEMO_EMAIL).await;
    crate::lifecycle::install_started_at_stripe(&app).await;
    assert_eq!(app.standin.active_tokens(), 2);
    app.sql("UPDATE pending_installs SET expires_at = 1").await;
    maintenance::housekeeping(&app.state).await;
    assert_eq!(app.count("pending_installs").await, 0, "the install is forgotten here");
    let checked = post_as(&app, &globex_admin, &format!("/api/connections/{}/check", globex["id"].as_str().unwrap())).await;
    assert_eq!(checked.json::<Value>().await.unwrap()["status"], "connected", "the other workspace keeps its access");
}

#[tokio::test]
async fn a_failed_grant_of_an_account_another_workspace_uses_is_not_undone_at_stripe() {
    let app = spawn_app().await;
    let globex_admin = support::token_in("globex", "admin", "admin-g");
    let globex = app.connect(&globex_admin, provider_standin::DEMO_EMAIL).await;
    app.fail_writes("connections", "INSERT").await;
    let attempt = app.start_attempt(&admin()).await;
    let code = app.consent_at_stripe(&attempt, provider_standin::DEMO_EMAIL).await;
    support::assert_problem(app.send_grant(&admin(), &code, &attempt.state, &attempt.verifier).await, 500, "internal").await;
    app.allow_writes("connections").await;
    assert!(app.stored_access_token(ACME).await.is_none(), "nothing stored in this workspace");
    let checked = post_as(&app, &globex_admin, &format!("/api/connections/{}/check", globex["id"].as_str().unwrap())).await;
    assert_eq!(checked.json::<Value>().await.unwrap()["status"], "connected", "the other workspace keeps its access");
}

#[tokio::test]
async fn stripes_event_after_our_own_deauthorize_is_not_blamed_on_the_account_owner() {
    let app = spawn_app().await;
    let connection = app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    // Our deauthorize of the account went out (a grant of it landed meanwhile, still holding
    // tokens here); Stripe announces the end it made.
    app.state.db.record_own_revocation("stripe", ACME, chrono::Utc::now().timestamp()).await.unwrap();
    let now = chrono::Utc::now().timestamp();
    let event = json!({ "id": "evt_ours", "type": "account.application.deauthorized", "account": ACME, "created": now });
    assert_eq!(crate::lifecycle::send_webhook(&app, &event, support::WEBHOOK_SECRET, now).await.status(), 200);
    let detail: Value =
        app.get(&format!("/api/connections/{}", connection["id"].as_str().unwrap()), Some(&admin())).send().await.unwrap().json().await.unwrap();
    assert_eq!(detail["connection"]["status"], "revoked");
    let line = &detail["history"][0];
    assert_eq!((line["action"].as_str(), line["actor"].as_str()), (Some("revoke"), Some("Connections")), "{line}");
    assert!(!line["detail"].as_str().unwrap().contains("account owner"), "{line}");
}

#[tokio::test]
async fn a_connection_idle_past_the_keepalive_is_renewed_by_the_background_round() {
    let app = spawn_app_with(&[APPS, "--keepalive-days=3", "--health-check-secs=0"]).await;
    let idle = connected_app(&app).await;
    let busy = app.connect_to("stripe", &admin(), "finance@globex.test").await.1["id"].as_str().unwrap().to_owned();
    let now = chrono::Utc::now().timestamp();
    app.sql(&format!("UPDATE connections SET refresh_used_at = {} WHERE id = '{idle}'", now - 4 * 86_400)).await;
    app.sql(&format!("UPDATE connections SET refresh_used_at = {} WHERE id = '{busy}'", now - 2 * 86_400)).await;
    let versions = |record: connections_server::storage::ConnectionRecord| record.token_version;
    let (idle_before, busy_before) =
        (versions(app.state.db.connection(&idle).await.unwrap().unwrap()), versions(app.state.db.connection(&busy).await.unwrap().unwrap()));
    let before = app.standin.apps_token_requests();

    assert!(maintenance::round_if_leased(&app.state, "round", Duration::from_secs(3600), false).await);
    assert_eq!(app.standin.apps_token_requests() - before, 1, "only the idle one was renewed");
    let renewed = app.state.db.connection(&idle).await.unwrap().unwrap();
    assert_eq!(renewed.token_version, idle_before + 1);
    assert_eq!(versions(app.state.db.connection(&busy).await.unwrap().unwrap()), busy_before);
    assert!(stored_refresh_token_works(&app, &idle).await, "the renewed refresh token is stored");
    // Its refresh token counts as used now: the next round leaves it.
    assert_eq!(maintenance::keep_alive(&app.state, app.state.keepalive).await, 0);
    assert_eq!(app.state.db.connection(&idle).await.unwrap().unwrap().token_version, idle_before + 1);
    let detail: Value = app.get(&format!("/api/connections/{idle}"), Some(&admin())).send().await.unwrap().json().await.unwrap();
    assert_eq!((detail["history"][0]["action"].as_str(), detail["history"][0]["success"].as_bool()), (Some("renew"), Some(true)));
}
