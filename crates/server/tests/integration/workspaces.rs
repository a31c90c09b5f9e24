//! Workspaces: every company using the BI product sees only its own connections, attempts, installs
//! and audit trail; another workspace's things answer 404 as if they did not exist.

use crate::support;

use serde_json::{json, Value};
use support::{admin, assert_problem, sign, spawn_app, token_in, SESSION_SECRET};

const ACME: &str = "acct_1DemoAcmeBooks00";

#[tokio::test]
async fn two_workspaces_connect_the_same_account_and_each_sees_only_its_own() {
    let app = spawn_app().await;
    let globex = token_in("globex", "admin", "admin-1");
    let ours = app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    let theirs = app.connect(&globex, provider_standin::DEMO_EMAIL).await;
    assert_ne!(ours["id"], theirs["id"], "two separate connections");
    assert_eq!(theirs["outcome"], "created", "the other workspace's connection is its own, not a renewal");

    let list = |token: String| {
        let app = &app;
        async move {
            let body: Value = app.get("/api/connections", Some(&token)).send().await.unwrap().json().await.unwrap();
            body["connections"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
        }
    };
    assert_eq!(list(admin()).await, [ours["id"].as_str().unwrap()]);
    assert_eq!(list(globex.clone()).await, [theirs["id"].as_str().unwrap()]);

    // Each has its own tokens.
    let acme_record = app.state.db.connection_by_account("acme", "stripe", ACME).await.unwrap().unwrap();
    let globex_record = app.state.db.connection_by_account("globex", "stripe", ACME).await.unwrap().unwrap();
    assert_ne!(acme_record.access_token, globex_record.access_token);

    // Anything of the other workspace is not found, whatever is asked of it.
    let theirs_id = theirs["id"].as_str().unwrap();
    assert_problem(app.get(&format!("/api/connections/{theirs_id}"), Some(&admin())).send().await.unwrap(), 404, "not_found").await;
    for action in ["check", "disconnect"] {
        let response = app.post(&format!("/api/connections/{theirs_id}/{action}"), Some(&admin()), &json!({})).send().await.unwrap();
        assert_problem(response, 404, "not_found").await;
    }
    let still: Value = app.get(&format!("/api/connections/{theirs_id}"), Some(&globex)).send().await.unwrap().json().await.unwrap();
    assert_eq!(still["connection"]["status"], "connected");

    // The audit trail, too.
    let audit: Value = app.get("/api/audit", Some(&admin())).send().await.unwrap().json().await.unwrap();
    assert_eq!(audit["events"].as_array().unwrap().len(), 1, "only our connect: {audit}");

    // A webhook about the account concerns both.
    assert_eq!(app.standin.owner_disconnects_app(ACME).await, Some(200));
    for token in [admin(), globex] {
        let body: Value = app.get("/api/connections", Some(&token)).send().await.unwrap().json().await.unwrap();
        assert_eq!(body["connections"][0]["status"], "revoked");
    }
}

#[tokio::test]
async fn an_attempt_or_install_of_one_workspace_cannot_be_finished_from_another() {
    let app = spawn_app().await;
    // The same subject in another workspace is another session.
    let globex = token_in("globex", "admin", "admin-1");
    let attempt = app.start_attempt(&admin()).await;
    let code = app.consent_at_stripe(&attempt, provider_standin::DEMO_EMAIL).await;
    assert_problem(app.send_grant(&globex, &code, &attempt.state, &attempt.verifier).await, 400, "unknown_attempt").await;
    let install = crate::lifecycle::install_started_at_stripe(&app).await;
    let confirm = format!("/api/providers/stripe/installs/{}/confirm", install["id"].as_str().unwrap());
    assert_problem(app.post(&confirm, Some(&globex), &json!({})).send().await.unwrap(), 400, "unknown_attempt").await;
    assert_eq!(app.post(&confirm, Some(&admin()), &json!({})).send().await.unwrap().status(), 201);
}

#[tokio::test]
async fn sessions_need_a_workspace_the_audience_and_a_time_that_has_come() {
    use connections_server::session::Claims;
    let app = spawn_app().await;
    let refused = |token: String| {
        let app = &app;
        async move { assert_problem(app.get("/api/session", Some(&token)).send().await.unwrap(), 401, "unauthenticated").await }
    };
    let good = Claims::new("u1", "Ada", "admin", "acme", 600);
    refused(sign(SESSION_SECRET, Claims { org: String::new(), ..good.clone() })).await;
    refused(sign(SESSION_SECRET, Claims { org: "a/b".into(), ..good.clone() })).await;
    refused(sign(SESSION_SECRET, Claims { aud: "someone-else".into(), ..good.clone() })).await;
    refused(sign(SESSION_SECRET, Claims { nbf: Some(chrono::Utc::now().timestamp() + 600), ..good.clone() })).await;
    let body: Value = app.get("/api/session", Some(&sign(SESSION_SECRET, good))).send().await.unwrap().json().await.unwrap();
    assert_eq!(body["workspace"], "acme");
}
