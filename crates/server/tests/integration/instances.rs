//! Several server instances on one database, as behind a load balancer: nothing a second instance
//! needs lives in the first one's memory. Run with `TEST_DATABASE_URL=postgres://…` (scripts/test.sh
//! does) for PostgreSQL; on SQLite both instances share the file.

use crate::support;

use serde_json::{json, Value};
use support::{admin, assert_problem, spawn_app_with, spawn_second_instance};

#[tokio::test]
async fn a_flow_started_on_one_instance_finishes_on_another() {
    let first = spawn_app_with(&[]).await;
    let second = spawn_second_instance(&first).await;
    assert_ne!(first.url, second.url);

    let attempt = first.start_attempt(&admin()).await;
    let code = first.consent_at_stripe(&attempt, provider_standin::DEMO_EMAIL).await;
    let response = second.send_grant(&admin(), &code, &attempt.state, &attempt.verifier).await;
    assert_eq!(response.status(), 201);
    let mut connection: Value = response.json().await.unwrap();
    assert_eq!(connection.as_object_mut().unwrap().remove("outcome"), Some(json!("created")));

    // Each instance sees it, and can act on it.
    assert_eq!(first.connections().await, vec![connection.clone()]);
    let id = connection["id"].as_str().unwrap();
    let checked = first.post(&format!("/api/connections/{id}/check"), Some(&admin()), &json!({})).send().await.unwrap();
    assert_eq!(checked.status(), 200);
    // The same grant replayed at the other instance is refused: single use holds across instances.
    let replay = first.send_grant(&admin(), &code, &attempt.state, &attempt.verifier).await;
    assert_problem(replay, 400, "unknown_attempt").await;
    assert_eq!(first.standin.token_requests(), 1);
}

#[tokio::test]
async fn rate_limits_hold_across_instances() {
    let first = spawn_app_with(&["--rate-limit-per-minute=2"]).await;
    let second = spawn_second_instance(&first).await;
    first.start_attempt(&admin()).await;
    second.start_attempt(&admin()).await;
    let body = json!({ "state": "d".repeat(43), "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256" });
    let third = first.post("/api/providers/stripe/attempts", Some(&admin()), &body).send().await.unwrap();
    assert_problem(third, 429, "rate_limited").await;
}

#[tokio::test]
async fn a_list_cached_on_one_instance_reflects_writes_made_through_another() {
    let first = spawn_app_with(&[]).await;
    let second = spawn_second_instance(&first).await;
    let connection = first.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    let id = connection["id"].as_str().unwrap();
    assert_eq!(first.connections().await[0]["status"], "connected", "now cached on the first instance");
    assert_eq!(first.connections().await[0]["last_checked_at"], connection["last_checked_at"]);

    // A health check through the second instance, after Stripe revoked access silently.
    first.standin.revoke_access("acct_1DemoAcmeBooks00");
    let checked = second.post(&format!("/api/connections/{id}/check"), Some(&admin()), &json!({})).send().await.unwrap();
    assert_eq!(checked.status(), 200);
    let status_is = |status: &'static str| move |list: &[Value]| list[0]["status"] == status;
    assert_eq!(first.connections_once("the check", status_is("reauthentication_required")).await[0]["status"], "reauthentication_required");

    // A disconnect through the second instance.
    second.post(&format!("/api/connections/{id}/disconnect"), Some(&admin()), &json!({})).send().await.unwrap();
    assert_eq!(first.connections_once("the disconnect", status_is("disconnected")).await[0]["status"], "disconnected");

    // A new connection through the second instance.
    second.connect(&admin(), "finance@globex.test").await;
    assert_eq!(first.connections_once("the new connection", |list| list.len() == 2).await.len(), 2);
}

#[tokio::test]
async fn a_connection_made_through_one_instance_shows_in_the_others_cached_list_within_the_bound() {
    let first = spawn_app_with(&[]).await;
    let second = spawn_second_instance(&first).await;
    let empty = first.get("/api/connections", Some(&admin())).send().await.unwrap();
    let etag = empty.headers()["etag"].to_str().unwrap().to_owned();
    assert!(first.connections().await.is_empty(), "an empty list, now cached on the first instance");

    second.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    let list = first.connections_once("a connection made through the second instance", |list| list.len() == 1).await;
    assert_eq!(list[0]["account_id"], "acct_1DemoAcmeBooks00");
    // The table's poll with the old tag gets the new list, not a 304.
    let polled = first.get("/api/connections", Some(&admin())).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(polled.status(), 200);
    assert_ne!(polled.headers()["etag"].to_str().unwrap(), etag);
}

#[tokio::test]
async fn a_write_shows_at_once_in_the_list_of_the_instance_that_made_it() {
    let first = spawn_app_with(&[]).await;
    let _second = spawn_second_instance(&first).await;
    let connection = first.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    let id = connection["id"].as_str().unwrap();
    assert_eq!(first.connections().await[0]["status"], "connected");
    // No waiting between a write and the next list: this instance knows its own writes.
    first.standin.revoke_access("acct_1DemoAcmeBooks00");
    first.post(&format!("/api/connections/{id}/check"), Some(&admin()), &json!({})).send().await.unwrap();
    assert_eq!(first.connections().await[0]["status"], "reauthentication_required");
    first.post(&format!("/api/connections/{id}/disconnect"), Some(&admin()), &json!({})).send().await.unwrap();
    assert_eq!(first.connections().await[0]["status"], "disconnected");
    first.connect(&admin(), "finance@globex.test").await;
    assert_eq!(first.connections().await.len(), 2);
}

/// PostgreSQL only (SQLite has no listener): with the listening connection gone, the revision is
/// read from the database, and again once listening resumes, so a change nobody was told of shows.
#[tokio::test]
async fn a_change_missed_while_the_listener_is_down_still_shows() {
    if !support::is_postgres() {
        return;
    }
    let app = spawn_app_with(&[]).await;
    let first = app.get("/api/connections", Some(&admin())).send().await.unwrap();
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    // End the listening connection, as a network fault or a database restart would.
    let deadline = std::time::Instant::now() + support::ANOTHER_INSTANCE_DEADLINE;
    loop {
        let ended: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND query LIKE 'LISTEN%') AS ended",
        )
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
        if ended == 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no listening connection to end");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // A change without its notification.
    app.sql("UPDATE revisions SET value = value + 1 WHERE name = 'connections'").await;
    loop {
        let polled = app.get("/api/connections", Some(&admin())).header("if-none-match", &etag).send().await.unwrap();
        if polled.status() == 200 {
            assert_ne!(polled.headers()["etag"].to_str().unwrap(), etag);
            break;
        }
        assert_eq!(polled.status(), 304);
        assert!(std::time::Instant::now() < deadline + support::ANOTHER_INSTANCE_DEADLINE, "the change never showed");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Listening again: a change through another instance shows as before.
    let second = spawn_second_instance(&app).await;
    second.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    app.connections_once("a connection made after the listener came back", |list| list.len() == 1).await;
}

#[tokio::test]
async fn two_instances_renewing_a_stripe_apps_connection_at_once_make_one_token_request() {
    let first = spawn_app_with(&["--stripe-oauth=apps", "--rate-limit-per-minute=100"]).await;
    let second = spawn_second_instance(&first).await;
    let (status, connection) = first.connect_to("stripe", &admin(), provider_standin::DEMO_EMAIL).await;
    assert_eq!(status, 201);
    let id = connection["id"].as_str().unwrap().to_owned();
    first.standin.advance_clock(3601);
    first.sql(&format!("UPDATE connections SET access_expires_at = {} WHERE id = '{id}'", chrono::Utc::now().timestamp())).await;
    let check = |app: &'static str| {
        let target = if app == "first" { &first } else { &second };
        target.post(&format!("/api/connections/{id}/check"), Some(&admin()), &json!({})).send()
    };
    let requests: Vec<_> = (0..10).map(|i| check(if i % 2 == 0 { "first" } else { "second" })).collect();
    for response in crate::providers::join_all(requests).await {
        let response = response.unwrap();
        assert_eq!(response.status(), 200);
    }
    assert_eq!(first.standin.apps_token_requests(), 2, "the code, then one refresh across both instances");
    // The rolled refresh token was stored: the next renewal, on the other instance, works.
    second.standin.advance_clock(3601);
    let body: Value = second.post(&format!("/api/connections/{id}/check"), Some(&admin()), &json!({})).send().await.unwrap().json().await.unwrap();
    assert_eq!(body["status"], "connected");
    assert_eq!(first.standin.apps_token_requests(), 3);
}
