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
    let code = first.consent_at_stripe(&attempt, stripe_standin::DEMO_EMAIL).await;
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
    let connection = first.connect(&admin(), stripe_standin::DEMO_EMAIL).await;
    let id = connection["id"].as_str().unwrap();
    assert_eq!(first.connections().await[0]["status"], "connected", "now cached on the first instance");
    assert_eq!(first.connections().await[0]["last_checked_at"], connection["last_checked_at"]);

    // A health check through the second instance, after Stripe revoked access silently.
    first.standin.revoke_access("acct_1DemoAcmeBooks00");
    let checked = second.post(&format!("/api/connections/{id}/check"), Some(&admin()), &json!({})).send().await.unwrap();
    assert_eq!(checked.status(), 200);
    assert_eq!(first.connections().await[0]["status"], "reauthentication_required");

    // A disconnect through the second instance.
    second.post(&format!("/api/connections/{id}/disconnect"), Some(&admin()), &json!({})).send().await.unwrap();
    assert_eq!(first.connections().await[0]["status"], "disconnected");

    // A new connection through the second instance.
    second.connect(&admin(), "finance@globex.test").await;
    assert_eq!(first.connections().await.len(), 2);
}

#[tokio::test]
async fn two_instances_renewing_a_stripe_apps_connection_at_once_make_one_token_request() {
    let first = spawn_app_with(&["--stripe-oauth=apps", "--rate-limit-per-minute=100"]).await;
    let second = spawn_second_instance(&first).await;
    let (status, connection) = first.connect_to("stripe", &admin(), stripe_standin::DEMO_EMAIL).await;
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
