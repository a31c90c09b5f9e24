//! Every day after connecting: re-authentication, disconnect, revocation by webhook, health checks,
//! provider-started installs, and the audit trail of all of it.

use crate::support;

use provider_standin::TokenFault;
use serde_json::{json, Value};
use support::{admin, assert_problem, spawn_app, TestApp, WEBHOOK_SECRET};

const ACME: &str = "acct_1DemoAcmeBooks00";

async fn detail(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/api/connections/{id}"), Some(&admin())).send().await.unwrap().json().await.unwrap()
}

fn actions(detail: &Value) -> Vec<(String, bool)> {
    detail["history"].as_array().unwrap().iter().map(|e| (e["action"].as_str().unwrap().to_owned(), e["success"].as_bool().unwrap())).collect()
}

async fn post(app: &TestApp, path: &str) -> reqwest::Response {
    app.post(path, Some(&admin()), &json!({})).send().await.unwrap()
}

pub async fn send_webhook(app: &TestApp, payload: &Value, secret: &str, timestamp: i64) -> reqwest::Response {
    let body = serde_json::to_vec(payload).unwrap();
    let signature = format!("t={timestamp},v1={}", connections_server::stripe_signature::sign(secret, timestamp, &body));
    app.http
        .post(format!("{}/api/webhooks/stripe", app.url))
        .header("content-type", "application/json; charset=utf-8")
        .header("stripe-signature", signature)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn reauthenticating_updates_the_same_row_and_keeps_its_history() {
    let app = spawn_app().await;
    let first = app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    app.standin.revoke_access(ACME);
    let checked: Value = post(&app, &format!("/api/connections/{}/check", first["id"].as_str().unwrap())).await.json().await.unwrap();
    assert_eq!(checked["status"], "reauthentication_required");

    let again = app.connect(&support::token("admin", "admin-2"), provider_standin::DEMO_EMAIL).await;
    assert_eq!(again["id"], first["id"], "the same row");
    assert_eq!(again["status"], "connected");
    assert_eq!(again["connected_by"], "admin-2 name");
    assert_eq!(app.connections().await.len(), 1, "no duplicate");
    let history = actions(&detail(&app, first["id"].as_str().unwrap()).await);
    // The check's refused renewal is in the trail too, before the check's own line.
    assert_eq!(history, [("reauthenticate".into(), true), ("health_check".into(), false), ("renew".into(), false), ("connect".into(), true)]);
}

#[tokio::test]
async fn disconnecting_deauthorizes_at_stripe_and_forgets_the_tokens() {
    let app = spawn_app().await;
    let connection = app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    let id = connection["id"].as_str().unwrap();
    let response = post(&app, &format!("/api/connections/{id}/disconnect")).await;
    assert_eq!(response.status(), 200);
    let disconnected: Value = response.json().await.unwrap();
    assert_eq!(disconnected["status"], "disconnected");
    assert_eq!(app.standin.active_tokens(), 0, "Stripe access revoked");
    assert!(app.stored_access_token(ACME).await.is_none(), "tokens deleted");
    // Again: nothing to do, still fine.
    assert_eq!(post(&app, &format!("/api/connections/{id}/disconnect")).await.status(), 200);
    assert_eq!(actions(&detail(&app, id).await)[0], ("disconnect".into(), true));
}

#[tokio::test]
async fn stripe_saying_already_disconnected_counts_as_success() {
    let app = spawn_app().await;
    let connection = app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    app.standin.revoke_access(ACME); // gone at Stripe, no webhook
    let id = connection["id"].as_str().unwrap();
    let disconnected: Value = post(&app, &format!("/api/connections/{id}/disconnect")).await.json().await.unwrap();
    assert_eq!(disconnected["status"], "disconnected");
    let history = detail(&app, id).await;
    assert!(history["history"][0]["detail"].as_str().unwrap().contains("already disconnected"), "{history}");
}

#[tokio::test]
async fn when_stripe_cannot_be_reached_a_disconnect_changes_nothing() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("--stripe-deauthorize-url=http://{}/oauth/deauthorize", closed.local_addr().unwrap());
    drop(closed);
    let app = support::spawn_app_with(&[&dead]).await;
    let connection = app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    let id = connection["id"].as_str().unwrap();
    assert_problem(post(&app, &format!("/api/connections/{id}/disconnect")).await, 502, "provider_unavailable").await;
    let after = detail(&app, id).await;
    assert_eq!(after["connection"]["status"], "connected");
    assert!(app.stored_access_token(ACME).await.is_some());
    assert_eq!(actions(&after)[0], ("disconnect".into(), false), "the failed attempt is in the audit trail");
}

#[tokio::test]
async fn a_signed_deauthorization_webhook_marks_the_row_revoked() {
    let app = spawn_app().await;
    let connection = app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    let status = app.standin.owner_disconnects_app(ACME).await;
    assert_eq!(status, Some(200), "the stand-in delivered a signed webhook");
    let after = detail(&app, connection["id"].as_str().unwrap()).await;
    assert_eq!(after["connection"]["status"], "revoked");
    assert_eq!(after["history"][0]["actor"], "Stripe");
    assert!(app.stored_access_token(ACME).await.is_none());
}

#[tokio::test]
async fn webhooks_with_a_bad_or_stale_signature_change_nothing() {
    let app = spawn_app().await;
    let connection = app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    let event = json!({ "id": "evt_1", "type": "account.application.deauthorized", "account": ACME });
    let now = chrono::Utc::now().timestamp();
    assert_problem(send_webhook(&app, &event, "whsec_wrong_secret", now).await, 400, "invalid_signature").await;
    assert_problem(send_webhook(&app, &event, WEBHOOK_SECRET, now - 301).await, 400, "invalid_signature").await;
    let unsigned = app.http.post(format!("{}/api/webhooks/stripe", app.url)).json(&event).send().await.unwrap();
    assert_problem(unsigned, 400, "invalid_signature").await;
    assert_eq!(detail(&app, connection["id"].as_str().unwrap()).await["connection"]["status"], "connected");

    let other = json!({ "id": "evt_2", "type": "customer.created", "account": ACME });
    let ignored: Value = send_webhook(&app, &other, WEBHOOK_SECRET, now).await.json().await.unwrap();
    assert_eq!(ignored["handled"], false);
    assert_eq!(send_webhook(&app, &event, WEBHOOK_SECRET, now).await.status(), 200);
    assert_eq!(detail(&app, connection["id"].as_str().unwrap()).await["connection"]["status"], "revoked");
}

/// The provider's event id is remembered with its effect: a revocation whose write failed answers an
/// error, and the provider's redelivery of the same event is applied, once.
#[tokio::test]
async fn a_revocation_whose_effect_failed_is_applied_on_redelivery() {
    let app = spawn_app().await;
    let connection = app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    let id = connection["id"].as_str().unwrap();
    let event = json!({ "id": "evt_redelivered", "type": "account.application.deauthorized", "account": ACME });
    let now = chrono::Utc::now().timestamp();

    app.fail_writes("connections", "UPDATE").await;
    let failed = send_webhook(&app, &event, WEBHOOK_SECRET, now).await;
    assert_eq!(failed.status(), 500, "an error, so the provider delivers the event again");
    app.allow_writes("connections").await;
    assert_eq!(detail(&app, id).await["connection"]["status"], "connected");
    assert_eq!(app.count("webhook_events").await, 0, "the event is not remembered without its effect");

    let redelivered: Value = send_webhook(&app, &event, WEBHOOK_SECRET, now + 60).await.json().await.unwrap();
    assert_eq!(redelivered["handled"], true, "{redelivered}");
    let after = detail(&app, id).await;
    assert_eq!(after["connection"]["status"], "revoked");
    assert!(app.stored_access_token(ACME).await.is_none());
    // Once applied, a further delivery is a repeat, and ignored.
    let repeat: Value = send_webhook(&app, &event, WEBHOOK_SECRET, now + 120).await.json().await.unwrap();
    assert_eq!(repeat["handled"], false);
    let revocations = after["history"].as_array().unwrap().iter().filter(|e| e["action"] == "revoke").count();
    assert_eq!(revocations, 1);
    assert_eq!(app.count("webhook_events").await, 1);
}

/// An event that ends several workspaces' connections of one account: when a later one fails, the
/// redelivery ends it, and the ones already ended stay so.
#[tokio::test]
async fn a_revocation_of_a_shared_account_that_failed_halfway_is_finished_on_redelivery() {
    let app = spawn_app().await;
    let first = app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    let globex = support::token_in("globex", "admin", "admin-globex");
    let second = app.connect(&globex, provider_standin::DEMO_EMAIL).await;
    let (first_id, second_id) = (first["id"].as_str().unwrap(), second["id"].as_str().unwrap());
    let pool = app.state.db.pool().clone();
    let status_of = |id: &str| {
        let (pool, id) = (pool.clone(), id.to_owned());
        async move { sqlx::query_scalar::<_, String>("SELECT status FROM connections WHERE id = $1").bind(id).fetch_one(&pool).await.unwrap() }
    };
    let event = json!({ "id": "evt_shared", "type": "account.application.deauthorized", "account": ACME });
    let now = chrono::Utc::now().timestamp();
    // Only the second connection's write fails (ids are ended in id order).
    let (_, last) = if first_id < second_id { (first_id, second_id) } else { (second_id, first_id) };
    if support::is_postgres() {
        app.sql("CREATE OR REPLACE FUNCTION refuse_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$").await;
        app.sql(&format!(
            "CREATE TRIGGER refuse_connections BEFORE UPDATE ON connections FOR EACH ROW WHEN (OLD.id = '{last}') EXECUTE FUNCTION refuse_write()"
        ))
        .await;
    } else {
        app.sql(&format!("CREATE TRIGGER refuse_connections BEFORE UPDATE ON connections WHEN OLD.id = '{last}' BEGIN SELECT RAISE(ABORT, 'disk full'); END"))
            .await;
    }
    assert_eq!(send_webhook(&app, &event, WEBHOOK_SECRET, now).await.status(), 500);
    app.allow_writes("connections").await;
    let other = if last == first_id { second_id } else { first_id };
    assert_eq!((status_of(other).await, status_of(last).await), ("revoked".to_owned(), "connected".to_owned()));

    let redelivered: Value = send_webhook(&app, &event, WEBHOOK_SECRET, now + 60).await.json().await.unwrap();
    assert_eq!(redelivered["handled"], true, "{redelivered}");
    assert_eq!((status_of(first_id).await, status_of(second_id).await), ("revoked".to_owned(), "revoked".to_owned()));
    let repeat: Value = send_webhook(&app, &event, WEBHOOK_SECRET, now + 120).await.json().await.unwrap();
    assert_eq!(repeat["handled"], false);
}

#[tokio::test]
async fn a_health_check_renews_an_expired_token_with_the_refresh_token() {
    let app = spawn_app().await;
    let connection = app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    let id = connection["id"].as_str().unwrap();
    let healthy: Value = post(&app, &format!("/api/connections/{id}/check")).await.json().await.unwrap();
    assert_eq!(healthy["status"], "connected");
    assert!(healthy["last_checked_at"].is_string());

    app.standin.expire_access_tokens(ACME);
    let renewed: Value = post(&app, &format!("/api/connections/{id}/check")).await.json().await.unwrap();
    assert_eq!(renewed["status"], "connected");
    let history = detail(&app, id).await;
    assert_eq!(history["history"][0]["detail"], "Access renewed with the refresh token");
    let stored = app.stored_access_token(ACME).await.unwrap();
    let token = app.state.cipher.decrypt(&stored, &format!("stripe:{ACME}:access")).unwrap();
    assert!(app.standin.token_is_active(token.expose()), "the renewed token is stored");
}

#[tokio::test]
async fn a_health_check_flags_revoked_access_and_survives_stripe_being_down() {
    let app = spawn_app().await;
    let connection = app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    let id = connection["id"].as_str().unwrap();
    app.standin.revoke_access(ACME);
    app.standin.set_token_fault(Some(TokenFault::ServerError));
    // Account fetch says 401, the refresh fails with 500: Stripe is down, so nothing changes.
    assert_problem(post(&app, &format!("/api/connections/{id}/check")).await, 502, "provider_unavailable").await;
    assert_eq!(detail(&app, id).await["connection"]["status"], "connected");
    app.standin.set_token_fault(None);
    let flagged: Value = post(&app, &format!("/api/connections/{id}/check")).await.json().await.unwrap();
    assert_eq!(flagged["status"], "reauthentication_required");
}

#[tokio::test]
async fn the_background_health_check_runs_on_its_interval() {
    let app = support::spawn_app_with(&["--health-check-secs=1"]).await;
    let connection = app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    app.standin.revoke_access(ACME);
    let id = connection["id"].as_str().unwrap().to_owned();
    let started = std::time::Instant::now();
    loop {
        if detail(&app, &id).await["connection"]["status"] == "reauthentication_required" {
            break;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "no background check within 10 s");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(detail(&app, &id).await["history"][0]["actor"], "Health check");
}

#[tokio::test]
async fn several_accounts_and_modes_side_by_side_with_their_scope() {
    let app = spawn_app().await;
    app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    app.connect(&admin(), "finance@globex.test").await;
    let listed = app.connections().await;
    assert_eq!(listed.len(), 2);
    let modes: Vec<(String, bool, String)> = listed
        .iter()
        .map(|c| (c["account_name"].as_str().unwrap().to_owned(), c["livemode"].as_bool().unwrap(), c["scope"].as_str().unwrap().to_owned()))
        .collect();
    assert!(modes.contains(&("Acme Books Ltd".into(), false, "read_only".into())));
    assert!(modes.contains(&("Globex Corporation".into(), true, "read_only".into())));
}

#[tokio::test]
async fn failed_attempts_are_in_the_audit_trail() {
    let app = spawn_app().await;
    let attempt = app.start_attempt(&admin()).await;
    let code = app.consent_at_stripe(&attempt, provider_standin::DEMO_EMAIL).await;
    app.send_grant(&admin(), &code, &attempt.state, &"w".repeat(43)).await;
    let audit: Value = app.get("/api/audit", Some(&admin())).send().await.unwrap().json().await.unwrap();
    let event = &audit["events"][0];
    assert_eq!(event["action"], "connect");
    assert_eq!(event["success"], false);
    assert_eq!(event["actor"], "admin-1 name");
    assert!(event["detail"].as_str().unwrap().contains("PKCE"), "{event}");
}

/// A user who began at Stripe: a code arrives with no `state` of ours.
pub async fn install_started_at_stripe(app: &TestApp) -> Value {
    let params = app.consent(None, provider_standin::DEMO_EMAIL).await;
    assert!(!params.contains_key("state"));
    let response = app.post("/api/providers/stripe/installs", Some(&admin()), &json!({ "code": params["code"] })).send().await.unwrap();
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

#[tokio::test]
async fn an_install_started_at_stripe_is_linked_only_once_confirmed() {
    let app = spawn_app().await;
    let install = install_started_at_stripe(&app).await;
    assert_eq!(install["account_name"], "Acme Books Ltd", "the account is named before anything is linked");
    assert!(app.connections().await.is_empty());
    let id = install["id"].as_str().unwrap();
    let other_admin = support::token("admin", "admin-2");
    let stolen = app.post(&format!("/api/providers/stripe/installs/{id}/confirm"), Some(&other_admin), &json!({})).send().await.unwrap();
    assert_problem(stolen, 400, "unknown_attempt").await;
    let confirmed = post(&app, &format!("/api/providers/stripe/installs/{id}/confirm")).await;
    assert_eq!(confirmed.status(), 201);
    assert_eq!(app.connections().await.len(), 1);
    assert_problem(post(&app, &format!("/api/providers/stripe/installs/{id}/confirm")).await, 400, "unknown_attempt").await;
}

#[tokio::test]
async fn a_declined_install_is_undone_at_stripe() {
    let app = spawn_app().await;
    let install = install_started_at_stripe(&app).await;
    assert_eq!(app.standin.active_tokens(), 1);
    let declined = post(&app, &format!("/api/providers/stripe/installs/{}/decline", install["id"].as_str().unwrap())).await;
    assert_eq!(declined.status(), 204);
    assert_eq!(app.standin.active_tokens(), 0);
    assert!(app.connections().await.is_empty());
    let audit: Value = app.get("/api/audit", Some(&admin())).send().await.unwrap().json().await.unwrap();
    assert_eq!(audit["events"][0]["action"], "install");
    assert_eq!(audit["events"][0]["success"], false);
}

#[tokio::test]
async fn lifecycle_routes_are_for_administrators_only() {
    let app = spawn_app().await;
    let connection = app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    let id = connection["id"].as_str().unwrap();
    let viewer = support::token("viewer", "v");
    for path in [format!("/api/connections/{id}"), "/api/audit".to_owned()] {
        assert_problem(app.get(&path, Some(&viewer)).send().await.unwrap(), 403, "admin_required").await;
    }
    for path in [format!("/api/connections/{id}/check"), format!("/api/connections/{id}/disconnect")] {
        assert_problem(app.post(&path, Some(&viewer), &json!({})).send().await.unwrap(), 403, "admin_required").await;
        assert_problem(app.post(&path, None, &json!({})).send().await.unwrap(), 401, "unauthenticated").await;
    }
    assert_problem(app.get("/api/connections/conn_missing", Some(&admin())).send().await.unwrap(), 404, "not_found").await;
    assert_eq!(detail(&app, id).await["connection"]["status"], "connected");
}
