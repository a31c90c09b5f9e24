//! Faults survived: Stripe down, broken or slow; the server restarted mid-flow; a failing database
//! write; a rotated key. Each time the admin gets a clear answer and nothing half-done is stored.

use crate::support;

use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use provider_standin::TokenFault;
use support::{admin, assert_problem, spawn_app, spawn_app_with};

/// Starts an attempt and consents at Stripe; returns what the callback page would post.
async fn grant_with_fault(app: &support::TestApp, fault: TokenFault) -> reqwest::Response {
    let attempt = app.start_attempt(&admin()).await;
    let code = app.consent_at_stripe(&attempt, provider_standin::DEMO_EMAIL).await;
    app.standin.set_token_fault(Some(fault));
    let response = app.send_grant(&admin(), &code, &attempt.state, &attempt.verifier).await;
    app.standin.set_token_fault(None);
    response
}

#[tokio::test]
async fn stripe_answering_500_or_garbage_is_reported_and_nothing_is_stored() {
    let app = spawn_app().await;
    for fault in [TokenFault::ServerError, TokenFault::Garbage] {
        let problem = assert_problem(grant_with_fault(&app, fault).await, 502, "provider_unavailable").await;
        assert_eq!(problem["title"], "Stripe could not be reached", "{fault:?}");
        assert!(app.connections().await.is_empty());
    }
    // Starting again works straight away.
    app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    assert_eq!(app.connections().await.len(), 1);
}

#[tokio::test]
async fn a_slow_stripe_times_out_after_the_configured_bound() {
    let app = spawn_app_with(&["--stripe-timeout-secs=1"]).await;
    let started = Instant::now();
    let response = grant_with_fault(&app, TokenFault::Slow(Duration::from_secs(4))).await;
    let elapsed = started.elapsed();
    let problem = assert_problem(response, 502, "provider_unavailable").await;
    assert!(problem["detail"].as_str().unwrap().contains("did not answer in time"), "{problem}");
    assert!(elapsed < Duration::from_secs(3), "gave up after {elapsed:?}");
    assert!(app.connections().await.is_empty());
    app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
}

#[tokio::test]
async fn a_restart_between_leaving_for_stripe_and_coming_back_does_not_break_the_flow() {
    let app = spawn_app().await;
    let attempt = app.start_attempt(&admin()).await;
    let code = app.consent_at_stripe(&attempt, provider_standin::DEMO_EMAIL).await;
    let app = app.restart(|_| {}).await;
    let response = app.send_grant(&admin(), &code, &attempt.state, &attempt.verifier).await;
    assert_eq!(response.status(), 201);
    assert_eq!(app.connections().await.len(), 1);
}

#[tokio::test]
async fn a_failed_database_write_leaves_no_connection_and_undoes_the_authorization() {
    let app = spawn_app().await;
    app.fail_writes("connections", "INSERT").await;
    let attempt = app.start_attempt(&admin()).await;
    let code = app.consent_at_stripe(&attempt, provider_standin::DEMO_EMAIL).await;
    let problem = assert_problem(app.send_grant(&admin(), &code, &attempt.state, &attempt.verifier).await, 500, "internal").await;
    assert!(!problem.to_string().contains("disk full"), "internal details stay in the log");
    assert_eq!(app.count("connections").await, 0);
    assert_eq!(app.count("connection_events WHERE success = 1").await, 0, "no success recorded without its connection: one transaction");
    assert_eq!(app.standin.active_tokens(), 0, "the fresh authorization was revoked at Stripe");

    app.allow_writes("connections").await;
    app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
}

#[tokio::test]
async fn a_failed_reconnect_keeps_the_existing_connection_working() {
    let app = spawn_app().await;
    app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    assert_eq!(app.standin.active_tokens(), 1);
    // The write fails after a successful exchange: the old authorization must survive.
    app.fail_writes("connections", "UPDATE").await;
    let attempt = app.start_attempt(&admin()).await;
    let code = app.consent_at_stripe(&attempt, provider_standin::DEMO_EMAIL).await;
    assert_problem(app.send_grant(&admin(), &code, &attempt.state, &attempt.verifier).await, 500, "internal").await;
    assert_eq!(app.standin.active_tokens(), 2, "nothing was deauthorized");
    assert_eq!(app.connections().await.len(), 1);
}

#[tokio::test]
async fn a_new_key_can_be_added_and_old_rows_still_decrypt() {
    let app = spawn_app().await;
    app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    let old_key = STANDARD.encode([42u8; 32]);
    let new_key = STANDARD.encode([43u8; 32]);
    let rotated = format!("{new_key},{old_key}");
    let app = app.restart(|args| args.encryption_key = Some(rotated)).await;
    let read = |account: &'static str| {
        let state = app.state.clone();
        async move {
            let stored = state.db.connection_by_account(support::WORKSPACE, "stripe", account).await.unwrap().and_then(|r| r.access_token).unwrap();
            state.cipher.decrypt(&stored, &format!("stripe:{account}:access")).map(|t| t.expose().clone())
        }
    };
    let old_row = read("acct_1DemoAcmeBooks00").await.expect("an old row decrypts after rotation");
    assert!(app.standin.token_is_active(&old_row));
    app.connect(&admin(), "finance@globex.test").await;
    assert!(read("acct_1DemoGlobexCorp0").await.is_ok());

    // With only the new key, the new row decrypts and the old one is refused (not garbled).
    let app = app.restart(|args| args.encryption_key = Some(new_key)).await;
    let stored = app.stored_access_token("acct_1DemoGlobexCorp0").await.unwrap();
    assert!(app.state.cipher.decrypt(&stored, "stripe:acct_1DemoGlobexCorp0:access").is_ok());
    let stored = app.stored_access_token("acct_1DemoAcmeBooks00").await.unwrap();
    assert_eq!(app.state.cipher.decrypt(&stored, "stripe:acct_1DemoAcmeBooks00:access").unwrap_err(), connections_server::crypto::CryptoError::UnknownKey);
}

/// `connections-server reseal`, the real binary, with `DATABASE_URL` and the keys only.
async fn reseal(app: &support::TestApp, keys: &str) -> (bool, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_connections-server"))
        .arg("reseal")
        .env_clear()
        .env("DATABASE_URL", app.args.database_url.clone().unwrap())
        .env("CONNECTIONS_ENCRYPTION_KEY", keys)
        .output()
        .await
        .unwrap();
    (output.status.success(), format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr)))
}

/// Retiring a key: after `reseal` with `new,old`, every stored token (connections and pending
/// installs) decrypts with the new key alone, and the connections keep working.
#[tokio::test]
async fn reseal_moves_every_stored_token_to_the_newest_key_so_the_old_one_can_be_retired() {
    let app = spawn_app().await;
    let connection = app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    let id = connection["id"].as_str().unwrap().to_owned();
    crate::lifecycle::install_started_at_stripe(&app).await;
    let (old_key, new_key) = (STANDARD.encode([42u8; 32]), STANDARD.encode([43u8; 32]));
    let rotated = format!("{new_key},{old_key}");
    let app = app.restart(|args| args.encryption_key = Some(rotated.clone())).await;
    app.connect(&admin(), "finance@globex.test").await;
    let before = app.stored_access_token("acct_1DemoAcmeBooks00").await.unwrap();

    let (ok, said) = reseal(&app, &rotated).await;
    assert!(ok, "{said}");
    // Acme's access and refresh tokens and the pending install's were on the old key; Globex's two on the new.
    assert!(said.contains("4 tokens moved to the newest key, 2 already on it"), "{said}");
    let after = app.stored_access_token("acct_1DemoAcmeBooks00").await.unwrap();
    assert_ne!(after, before);
    assert_eq!(
        app.state.cipher.decrypt(&after, "stripe:acct_1DemoAcmeBooks00:access").unwrap().expose(),
        app.state.cipher.decrypt(&before, "stripe:acct_1DemoAcmeBooks00:access").unwrap().expose(),
        "the same token"
    );
    let (ok, said) = reseal(&app, &rotated).await;
    assert!(ok && said.contains("0 tokens moved to the newest key, 6 already on it"), "{said}");

    // The old key retired: everything still decrypts, and the connection is checked at Stripe.
    let app = app.restart(|args| args.encryption_key = Some(new_key.clone())).await;
    let check = app.post(&format!("/api/connections/{id}/check"), Some(&admin()), &serde_json::json!({})).send().await.unwrap();
    assert_eq!(check.status(), 200);
    let install: Vec<u8> = sqlx::query_scalar("SELECT access_token FROM pending_installs").fetch_one(app.state.db.pool()).await.unwrap();
    assert!(app.state.cipher.decrypt(&install, "stripe:acct_1DemoAcmeBooks00:access").is_ok());

    // With a key that seals none of them, nothing is changed and it says so.
    let (ok, said) = reseal(&app, &STANDARD.encode([44u8; 32])).await;
    assert!(!ok && said.contains("6 undecryptable") && said.contains(&format!("connections {id}")), "{said}");
    assert!(app.state.cipher.decrypt(&app.stored_access_token("acct_1DemoAcmeBooks00").await.unwrap(), "stripe:acct_1DemoAcmeBooks00:access").is_ok());
}
