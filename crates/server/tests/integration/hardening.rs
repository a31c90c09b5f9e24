//! The security review's findings, each tried: late and replayed webhooks, writes that overlap,
//! authorizations left at the provider, rate limits under a burst, cookies and transport, provider
//! text in answers, and the audit trail's growth.

use std::time::Duration;

use crate::lifecycle::{install_started_at_stripe, send_webhook};
use crate::support;

use connections_server::services::maintenance;
use provider_standin::TokenFault;
use serde_json::{json, Value};
use support::{admin, assert_problem, spawn_app, spawn_app_with, spawn_second_instance, TestApp, WEBHOOK_SECRET};

const ACME: &str = "acct_1DemoAcmeBooks00";

async fn status(app: &TestApp, id: &str) -> String {
    let body: Value = app.get(&format!("/api/connections/{id}"), Some(&admin())).send().await.unwrap().json().await.unwrap();
    body["connection"]["status"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_replayed_or_late_deauthorization_does_not_revoke_a_newer_connection() {
    let app = spawn_app().await;
    let connection = app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    let id = connection["id"].as_str().unwrap();
    let now = chrono::Utc::now().timestamp();
    let event = json!({ "id": "evt_replayed", "type": "account.application.deauthorized", "account": ACME, "created": now });
    assert_eq!(send_webhook(&app, &event, WEBHOOK_SECRET, now).await.status(), 200);
    assert_eq!(status(&app, id).await, "revoked");

    // Connected again; Stripe retries the old event (fresh signature), and someone replays it.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    let replay: Value = send_webhook(&app, &event, WEBHOOK_SECRET, chrono::Utc::now().timestamp()).await.json().await.unwrap();
    assert_eq!(replay["handled"], false);
    assert_eq!(status(&app, id).await, "connected", "the same event id is acted on once");
    // Another event, but created before the connection it would revoke.
    let late = json!({ "id": "evt_late", "type": "account.application.deauthorized", "account": ACME, "created": now });
    let late: Value = send_webhook(&app, &late, WEBHOOK_SECRET, chrono::Utc::now().timestamp()).await.json().await.unwrap();
    assert_eq!(late["handled"], false);
    assert_eq!(status(&app, id).await, "connected");
}

#[tokio::test]
async fn a_check_overlapping_a_disconnect_leaves_it_disconnected() {
    let app = spawn_app().await;
    let connection = app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    let id = connection["id"].as_str().unwrap().to_owned();
    // The check renews (its token is due) through a slow token endpoint; the disconnect lands meanwhile.
    app.sql(&format!("UPDATE connections SET access_expires_at = {} WHERE id = '{id}'", chrono::Utc::now().timestamp())).await;
    app.standin.set_token_fault(Some(TokenFault::Slow(Duration::from_millis(1500))));
    let check = app.post(&format!("/api/connections/{id}/check"), Some(&admin()), &json!({})).send();
    let disconnect = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        app.post(&format!("/api/connections/{id}/disconnect"), Some(&admin()), &json!({})).send().await.unwrap()
    };
    let (checked, disconnected) = tokio::join!(check, disconnect);
    assert_eq!(disconnected.status(), 200);
    let _ = checked.unwrap();
    assert_eq!(status(&app, &id).await, "disconnected");
    assert!(app.stored_access_token(ACME).await.is_none(), "the renewal's tokens were not written back");
}

#[tokio::test]
async fn a_token_that_no_configured_key_decrypts_is_an_operator_error_not_a_reauthentication() {
    let app = spawn_app().await;
    let connection = app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    let id = connection["id"].as_str().unwrap().to_owned();
    let app = app.restart(|args| args.encryption_key = Some(base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [7u8; 32]))).await;
    let response = app.post(&format!("/api/connections/{id}/check"), Some(&admin()), &json!({})).send().await.unwrap();
    assert_problem(response, 500, "internal").await;
    assert_eq!(status(&app, &id).await, "connected");
}

/// A disconnect whose tokens no configured key decrypts cannot withdraw anything at the provider:
/// it says so and keeps the row as it is; confirmed, it removes the connection here only.
#[tokio::test]
async fn a_disconnect_whose_tokens_cannot_be_decrypted_says_so_and_changes_nothing_unless_confirmed() {
    let app = spawn_app_with(&["--metrics-addr=127.0.0.1:0"]).await;
    let connection = app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    let id = connection["id"].as_str().unwrap().to_owned();
    let active = app.standin.active_tokens();
    let stored = app.stored_access_token(ACME).await;
    let app = app.restart(|args| args.encryption_key = Some(base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [7u8; 32]))).await;

    let response = app.post(&format!("/api/connections/{id}/disconnect"), Some(&admin()), &json!({})).send().await.unwrap();
    assert_eq!(response.status(), 409);
    let problem: Value = response.json().await.unwrap();
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("cannot be decrypted") && detail.contains("remove_locally=true"), "{problem}");
    assert_eq!(status(&app, &id).await, "connected");
    assert_eq!(app.stored_access_token(ACME).await, stored, "the row is kept as it is");
    assert_eq!(app.standin.active_tokens(), active, "nothing was withdrawn at Stripe");
    let history: Value = app.get(&format!("/api/connections/{id}"), Some(&admin())).send().await.unwrap().json().await.unwrap();
    assert_eq!((history["history"][0]["action"].as_str(), history["history"][0]["success"].as_bool()), (Some("disconnect"), Some(false)));

    let confirmed = app.post(&format!("/api/connections/{id}/disconnect?remove_locally=true"), Some(&admin()), &json!({})).send().await.unwrap();
    assert_eq!(confirmed.status(), 200);
    assert_eq!(status(&app, &id).await, "disconnected");
    assert!(app.stored_access_token(ACME).await.is_none());
    let history: Value = app.get(&format!("/api/connections/{id}"), Some(&admin())).send().await.unwrap().json().await.unwrap();
    assert!(history["history"][0]["detail"].as_str().unwrap().contains("Removed here only"), "{history}");
    let metrics = app.http.get(format!("http://{}/metrics", app.state.metrics_addr.unwrap())).send().await.unwrap().text().await.unwrap();
    for outcome in ["undecryptable", "removed_locally"] {
        let counted = metrics.lines().any(|line| line.starts_with("connections_disconnects_total{") && line.contains(&format!("outcome=\"{outcome}\"")));
        assert!(counted, "{outcome} is counted: {metrics}");
    }
}

#[tokio::test]
async fn background_checks_run_on_one_instance_per_interval() {
    let first = spawn_app().await;
    let second = spawn_second_instance(&first).await;
    first.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    let every = Duration::from_secs(60);
    assert!(maintenance::checks_if_leased(&first.state, "first", every).await);
    assert!(!maintenance::checks_if_leased(&second.state, "second", every).await, "the other instance holds this interval");
    let checks = first.count("connection_events WHERE action = 'health_check'").await;
    assert_eq!(checks, 1);
}

#[tokio::test]
async fn a_client_that_hangs_up_after_the_exchange_still_gets_its_connection_stored() {
    let app = spawn_app().await;
    let attempt = app.start_attempt(&admin()).await;
    let code = app.consent_at_stripe(&attempt, provider_standin::DEMO_EMAIL).await;
    app.standin.set_token_fault(Some(TokenFault::Slow(Duration::from_millis(800))));
    let impatient = reqwest::Client::builder().timeout(Duration::from_millis(200)).build().unwrap();
    let body = json!({ "code": code, "state": attempt.state, "code_verifier": attempt.verifier });
    let hung_up = impatient.post(format!("{}/api/providers/stripe/grants", app.url)).bearer_auth(admin()).json(&body).send().await;
    assert!(hung_up.is_err(), "the client gave up before the answer");
    let mut stored = false;
    for _ in 0..50 {
        if app.count("connections").await == 1 {
            stored = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(stored, "the exchanged code's connection was stored although the client left");
}

#[tokio::test]
async fn installs_nobody_answered_are_withdrawn_at_the_provider() {
    let app = spawn_app().await;
    install_started_at_stripe(&app).await;
    assert_eq!(app.standin.active_tokens(), 1);
    app.sql("UPDATE pending_installs SET expires_at = 1").await;
    maintenance::housekeeping(&app.state).await;
    assert_eq!(app.count("pending_installs").await, 0);
    assert_eq!(app.standin.active_tokens(), 0, "deauthorized at Stripe");
}

#[tokio::test]
async fn a_burst_of_attempts_cannot_pass_the_limit() {
    let app = spawn_app_with(&["--rate-limit-per-minute=10"]).await;
    let body =
        |i: usize| json!({ "state": format!("{i:0>43}"), "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256" });
    let requests: Vec<_> = (0..30).map(|i| app.post("/api/providers/stripe/attempts", Some(&admin()), &body(i)).send()).collect();
    let mut created = 0;
    for response in crate::providers::join_all(requests).await {
        match response.unwrap().status().as_u16() {
            201 => created += 1,
            429 => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(created, 10, "exactly the limit got through");
}

#[tokio::test]
async fn checks_and_disconnects_are_rate_limited_too() {
    let app = spawn_app_with(&["--rate-limit-per-minute=2"]).await;
    let connection = app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    let id = connection["id"].as_str().unwrap();
    for _ in 0..2 {
        assert_eq!(app.post(&format!("/api/connections/{id}/check"), Some(&admin()), &json!({})).send().await.unwrap().status(), 200);
    }
    let third = app.post(&format!("/api/connections/{id}/check"), Some(&admin()), &json!({})).send().await.unwrap();
    assert_problem(third, 429, "rate_limited").await;
}

#[tokio::test]
async fn over_https_the_cookie_is_host_prefixed_and_hsts_is_sent() {
    let app = spawn_app_with(&["--public-url=https://connections.example.com"]).await;
    let response = app.post("/api/demo/session", None, &json!({ "role": "admin" })).header("origin", "https://connections.example.com").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("__Host-connections_session=") && cookie.contains("; Secure") && cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.contains("Domain"), "{cookie}");
    assert_eq!(response.headers()["strict-transport-security"], "max-age=31536000; includeSubDomains");
    let session = cookie.split(';').next().unwrap().to_owned();
    let me = app.get("/api/session", None).header("cookie", session).send().await.unwrap();
    assert_eq!(me.status(), 200);
}

#[tokio::test]
async fn a_providers_own_error_text_stays_in_the_log() {
    let app = spawn_app().await;
    let attempt = app.start_attempt(&admin()).await;
    // A code Stripe never issued: it answers invalid_grant "Authorization code does not exist: …".
    let response = app.send_grant(&admin(), "ac_NeverIssuedByStripe", &attempt.state, &attempt.verifier).await;
    let problem = assert_problem(response, 502, "provider_rejected").await;
    assert!(problem["detail"].as_str().unwrap().contains("invalid_grant"), "{problem}");
    assert!(!problem.to_string().contains("does not exist"), "the provider's description reached the answer: {problem}");
    let audit: Value = app.get("/api/audit", Some(&admin())).send().await.unwrap().json().await.unwrap();
    assert!(!audit.to_string().contains("does not exist"), "{audit}");
}

#[tokio::test]
async fn audit_events_past_their_retention_are_pruned() {
    let app = spawn_app_with(&["--event-retention-days=30"]).await;
    app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    let old = chrono::Utc::now().timestamp() - 31 * 86_400;
    app.sql(&format!(
        "INSERT INTO connection_events (provider, account_id, action, success, actor_subject, actor_name, detail, at, workspace)
         VALUES ('stripe', '{ACME}', 'health_check', 1, 'x', 'x', 'old', {old}, 'acme')"
    ))
    .await;
    assert_eq!(app.count("connection_events").await, 2);
    maintenance::housekeeping(&app.state).await;
    assert_eq!(app.count("connection_events").await, 1, "only the recent connect is left");
}

/// The retention round also prunes the outbox (delivered or given-up events past the retention;
/// pending ones never) and the rate limit's counts past their window.
#[tokio::test]
async fn outbox_and_rate_limit_rows_are_pruned_by_the_retention_round() {
    let app = spawn_app_with(&["--event-retention-days=30"]).await;
    let now = chrono::Utc::now().timestamp();
    let (old_ms, recent_ms) = ((now - 31 * 86_400) * 1000, (now - 86_400) * 1000);
    let far = (now + 86_400) * 1000;
    for (id, delivered, failed, next) in [
        ("msg_old_delivered", Some(old_ms), None, old_ms),
        ("msg_old_failed", None, Some(old_ms), old_ms),
        ("msg_old_pending", None, None, far),
        ("msg_recent_delivered", Some(recent_ms), None, recent_ms),
    ] {
        let or_null = |v: Option<i64>| v.map_or("NULL".to_owned(), |v| v.to_string());
        app.sql(&format!(
            "INSERT INTO webhook_outbox (message_id, workspace, connection_id, event_type, payload, created_ms, next_attempt_ms, delivered_ms, failed_ms)
             VALUES ('{id}', 'acme', 'conn_x', 'connection.created', '{{}}', {old_ms}, {next}, {}, {})",
            or_null(delivered),
            or_null(failed)
        ))
        .await;
    }
    app.sql(&format!("INSERT INTO rate_events (workspace, subject, action, at) VALUES ('acme', 'gone', 'attempt', {})", now - 2 * 3600)).await;
    app.start_attempt(&admin()).await;
    assert_eq!(app.count("rate_events").await, 2);

    maintenance::housekeeping(&app.state).await;
    let mut kept: Vec<String> = sqlx::query_scalar("SELECT message_id FROM webhook_outbox").fetch_all(app.state.db.pool()).await.unwrap();
    kept.sort();
    assert_eq!(kept, ["msg_old_pending", "msg_recent_delivered"]);
    assert_eq!(app.count("rate_events WHERE subject = 'gone'").await, 0);
    assert_eq!(app.count("rate_events").await, 1, "this minute's count is kept");
}

#[tokio::test]
async fn slow_clients_are_cut_off_at_the_headers_and_at_the_body() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let address = app.url.trim_start_matches("http://").to_owned();
    // Headers that never end, and a body that never comes.
    let slow_headers = async {
        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        stream.write_all(b"GET /api/session HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(25), stream.read_to_end(&mut answer)).await.expect("the server closed the connection").ok();
        String::from_utf8_lossy(&answer).into_owned()
    };
    let slow_body = async {
        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        let head = format!(
            "POST /api/providers/stripe/attempts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{{\"state\":",
            admin()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut answer = vec![0u8; 4096];
        let read = tokio::time::timeout(Duration::from_secs(25), stream.read(&mut answer)).await.expect("the server answered").unwrap();
        String::from_utf8_lossy(&answer[..read]).into_owned()
    };
    let (headers, body) = tokio::join!(slow_headers, slow_body);
    assert!(!headers.contains("200 OK"), "{headers}");
    assert!(body.starts_with("HTTP/1.1 408") || body.starts_with("HTTP/1.1 400"), "{body}");
}
