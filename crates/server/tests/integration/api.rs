//! The API in-process over real HTTP: a fresh SQLite database per test, the Stripe stand-in as the peer.

use crate::support;

use serde_json::{json, Value};
use support::{admin, assert_problem, spawn_app, spawn_app_with, token, token_with, SESSION_SECRET};

#[tokio::test]
async fn an_admin_connects_stripe_and_the_connection_is_listed_without_tokens() {
    let app = spawn_app().await;
    assert!(app.connections().await.is_empty());
    let attempt = app.start_attempt(&admin()).await;
    let code = app.consent_at_stripe(&attempt, provider_standin::DEMO_EMAIL).await;
    let response = app.send_grant(&admin(), &code, &attempt.state, &attempt.verifier).await;
    assert_eq!(response.status(), 201);
    let text = response.text().await.unwrap();
    let connection: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(connection["account_name"], "Acme Books Ltd");
    assert_eq!(connection["account_id"], "acct_1DemoAcmeBooks00");
    assert_eq!(connection["provider"], "stripe");
    assert_eq!(connection["livemode"], false);
    assert_eq!(connection["outcome"], "created");
    assert_eq!(connection["scope"], "read_only");
    assert_eq!(connection["status"], "connected");
    assert_eq!(connection["connected_by"], "admin-1 name");
    assert!(!text.contains("sk_test_") && !text.contains("rt_"), "a token leaked: {text}");

    let mut connection = connection;
    connection.as_object_mut().unwrap().remove("outcome");
    let listed = app.connections().await;
    assert_eq!(listed, vec![connection]);
    assert_eq!(app.standin.token_requests(), 1);
}

#[tokio::test]
async fn tokens_are_encrypted_at_rest() {
    let app = spawn_app().await;
    app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    let stored = app.stored_access_token("acct_1DemoAcmeBooks00").await.unwrap();
    let access_token = app.state.cipher.decrypt(&stored, "stripe:acct_1DemoAcmeBooks00:access").unwrap();
    assert!(app.standin.token_is_active(access_token.expose()), "the stored token is the one Stripe issued");
    assert!(!app.stored_in_plain_text(access_token.expose()).await, "access token in plain text in the database");
    assert!(!app.stored_in_plain_text("sk_test_").await, "something token-like in plain text in the database");
    // The check itself can see plain text: the account name is stored as such.
    assert!(app.stored_in_plain_text("Acme Books Ltd").await);
}

#[tokio::test]
async fn connecting_the_same_account_again_updates_its_row() {
    let app = spawn_app().await;
    let first = app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    let second = app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    assert_eq!(first["id"], second["id"]);
    assert_eq!((first["outcome"].as_str(), second["outcome"].as_str()), (Some("created"), Some("renewed")));
    let third = app.connect(&admin(), "finance@globex.test").await;
    assert_eq!(third["livemode"], true);
    assert_eq!(app.connections().await.len(), 2);
}

#[tokio::test]
async fn viewers_signed_out_users_and_bad_tokens_are_refused_on_every_route() {
    let app = spawn_app().await;
    let attempt_body = json!({ "state": "a".repeat(43), "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256" });
    let grant_body = json!({ "code": "ac_x", "state": "a".repeat(43), "code_verifier": "v".repeat(43) });
    let expired = token_with(SESSION_SECRET, "admin", "admin-1", chrono::Utc::now().timestamp() - 3600);
    let forged = token_with("another-secret-that-is-long-enough!!", "admin", "admin-1", chrono::Utc::now().timestamp() + 3600);
    for (who, bearer, status, code) in [
        ("viewer", Some(token("viewer", "viewer-1")), 403, "admin_required"),
        ("signed out", None, 401, "unauthenticated"),
        ("expired", Some(expired), 401, "unauthenticated"),
        ("forged", Some(forged), 401, "unauthenticated"),
    ] {
        let bearer = bearer.as_deref();
        for path in ["/api/connections", "/api/providers"] {
            let problem = assert_problem(app.get(path, bearer).send().await.unwrap(), status, code).await;
            if status == 403 {
                assert_eq!(problem["detail"], "Connections requires administrator permissions", "{who}");
            }
        }
        assert_problem(app.post("/api/providers/stripe/attempts", bearer, &attempt_body).send().await.unwrap(), status, code).await;
        assert_problem(app.post("/api/providers/stripe/grants", bearer, &grant_body).send().await.unwrap(), status, code).await;
    }
    assert!(app.connections().await.is_empty());
    assert_eq!(app.standin.token_requests(), 0);
}

#[tokio::test]
async fn the_session_cookie_works_like_the_bearer_header() {
    let app = spawn_app().await;
    let response = app.http.get(format!("{}/api/session", app.url)).header("cookie", format!("connections_session={}", admin())).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let session: Value = response.json().await.unwrap();
    assert_eq!(session["role"], "admin");
    assert_eq!(session["demo"], true);
}

#[tokio::test]
async fn demo_sign_in_sets_an_http_only_cookie() {
    let app = spawn_app().await;
    let response = app.post("/api/demo/session", None, &json!({ "role": "viewer" })).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("connections_session=") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    let value = cookie.split(';').next().unwrap();
    let response = app.http.get(format!("{}/api/connections", app.url)).header("cookie", value).send().await.unwrap();
    assert_problem(response, 403, "admin_required").await;
}

#[tokio::test]
async fn a_state_works_once_and_only_for_the_session_that_registered_it() {
    let app = spawn_app().await;
    let attempt = app.start_attempt(&admin()).await;
    let code = app.consent_at_stripe(&attempt, provider_standin::DEMO_EMAIL).await;

    let other_admin = token("admin", "admin-2");
    let response = app.send_grant(&other_admin, &code, &attempt.state, &attempt.verifier).await;
    assert_problem(response, 400, "unknown_attempt").await;

    let forged = app.send_grant(&admin(), &code, &"f".repeat(43), &attempt.verifier).await;
    assert_problem(forged, 400, "unknown_attempt").await;
    assert_eq!(app.standin.token_requests(), 0, "nothing reached Stripe");

    // The rightful admin is unaffected by those attempts.
    assert_eq!(app.send_grant(&admin(), &code, &attempt.state, &attempt.verifier).await.status(), 201);
    let replay = app.send_grant(&admin(), &code, &attempt.state, &attempt.verifier).await;
    let problem = assert_problem(replay, 400, "unknown_attempt").await;
    assert!(problem["detail"].as_str().unwrap().contains("already used"));
    assert_eq!(app.standin.token_requests(), 1, "the code reached Stripe exactly once");
    assert_eq!(app.connections().await.len(), 1);
}

#[tokio::test]
async fn a_verifier_that_does_not_match_the_challenge_is_refused_before_stripe_is_asked() {
    let app = spawn_app().await;
    let attempt = app.start_attempt(&admin()).await;
    let code = app.consent_at_stripe(&attempt, provider_standin::DEMO_EMAIL).await;
    let wrong = "w".repeat(43);
    assert_problem(app.send_grant(&admin(), &code, &attempt.state, &wrong).await, 400, "pkce_mismatch").await;
    for bad in ["short".to_owned(), "v".repeat(129), format!("{}+/", "v".repeat(41))] {
        assert_problem(app.send_grant(&admin(), &code, &attempt.state, &bad).await, 400, "invalid_request").await;
    }
    assert_eq!(app.standin.token_requests(), 0);
    assert!(app.connections().await.is_empty());
}

#[tokio::test]
async fn an_attempt_older_than_ten_minutes_is_refused() {
    let app = spawn_app().await;
    let attempt = app.start_attempt(&admin()).await;
    let code = app.consent_at_stripe(&attempt, provider_standin::DEMO_EMAIL).await;
    // Age the attempt in the real database rather than waiting ten minutes.
    app.sql("UPDATE connect_attempts SET created_at = created_at - 601, expires_at = expires_at - 601").await;
    assert_problem(app.send_grant(&admin(), &code, &attempt.state, &attempt.verifier).await, 400, "attempt_expired").await;
    assert_eq!(app.standin.token_requests(), 0);
}

#[tokio::test]
async fn malformed_bodies_answer_problem_json_not_500() {
    let app = spawn_app().await;
    let url = format!("{}/api/providers/stripe/grants", app.url);
    let send = |body: String| app.http.post(&url).bearer_auth(admin()).header("content-type", "application/json").body(body).send();
    assert_problem(send("{not json".into()).await.unwrap(), 400, "invalid_request").await;
    assert_problem(send("{\"code\": 1}".into()).await.unwrap(), 400, "invalid_request").await;
    let bad_code = json!({ "code": "<script>", "state": "a".repeat(43), "code_verifier": "v".repeat(43) });
    assert_problem(app.post("/api/providers/stripe/grants", Some(&admin()), &bad_code).send().await.unwrap(), 400, "invalid_request").await;
    let bad_attempt = json!({ "state": "short", "code_challenge": "x", "code_challenge_method": "plain" });
    assert_problem(app.post("/api/providers/stripe/attempts", Some(&admin()), &bad_attempt).send().await.unwrap(), 400, "invalid_request").await;
    assert_problem(app.get("/api/nothing-here", Some(&admin())).send().await.unwrap(), 404, "not_found").await;
    assert_problem(app.get("/api/providers/paypal/attempts", Some(&admin())).send().await.unwrap(), 405, "method_not_allowed").await;
    let unknown_provider = json!({ "state": "a".repeat(43), "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256" });
    assert_problem(app.post("/api/providers/paypal/attempts", Some(&admin()), &unknown_provider).send().await.unwrap(), 404, "unknown_provider").await;
}

#[tokio::test]
async fn cross_site_state_changes_are_refused() {
    let app = spawn_app().await;
    let body = json!({ "role": "admin" });
    let from_evil = app.post("/api/demo/session", None, &body).header("origin", "https://evil.example").send().await.unwrap();
    assert_problem(from_evil, 403, "cross_site_request").await;
    let cross_site = app.post("/api/demo/session", None, &body).header("sec-fetch-site", "cross-site").send().await.unwrap();
    assert_problem(cross_site, 403, "cross_site_request").await;
    let simple_form =
        app.http.post(format!("{}/api/demo/session", app.url)).header("content-type", "text/plain").body("{\"role\":\"admin\"}").send().await.unwrap();
    assert_problem(simple_form, 400, "invalid_request").await;
    let same_origin = app.post("/api/demo/session", None, &body).header("origin", app.url.as_str()).header("sec-fetch-site", "same-origin");
    assert_eq!(same_origin.send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn app_routes_serve_the_spa_with_security_headers() {
    let app = spawn_app().await;
    let response = app.get("/connections/stripe/callback?code=ac_123&state=abc", None).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-"), "{csp}");
    assert!(csp.contains("frame-ancestors 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    assert!(response.text().await.unwrap().contains("boot()"));
    let api = app.get("/api/session", None).send().await.unwrap();
    assert_eq!(api.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn providers_describe_stripe_with_the_configured_redirect_uri() {
    let app = spawn_app().await;
    let body: Value = app.get("/api/providers", Some(&admin())).send().await.unwrap().json().await.unwrap();
    let stripe = &body["providers"][0];
    assert_eq!(stripe["id"], "stripe");
    assert_eq!(stripe["redirect_uri"], format!("{}/connections/stripe/callback", app.url));
    assert_eq!(stripe["dialect"], "stripe-connect");
    assert_eq!(stripe["has_modes"], true);
    assert!(stripe.get("authorize_url").is_none() && stripe.get("client_id").is_none(), "the server builds the authorize URL now");
    // ... and answers it when the attempt is registered, for that attempt.
    let (attempt, url) = app.start_attempt_for("stripe", &admin()).await;
    assert_eq!(url.as_str().split('?').next().unwrap(), format!("{}/oauth/authorize", app.standin_url));
    let params: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(params["state"], attempt.state);
    assert_eq!(params["code_challenge"], attempt.challenge);
    assert_eq!(params["code_challenge_method"], "S256");
    assert_eq!(params["redirect_uri"], format!("{}/connections/stripe/callback", app.url));
    let synced: Vec<&str> = stripe["data_synced"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(synced, ["Customers", "Charges", "Coupons", "Invoices", "Plans", "Subscriptions", "Events"]);
    assert!(!body.to_string().contains("sk_test_"), "the platform secret must not reach the browser");
}

#[tokio::test]
async fn stripe_unreachable_is_reported_and_nothing_is_stored() {
    // A token endpoint on a port nothing listens on; everything else is the stand-in.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("--stripe-token-url=http://{}/oauth/token", closed.local_addr().unwrap());
    drop(closed);
    let app = spawn_app_with(&[&dead]).await;
    let attempt = app.start_attempt(&admin()).await;
    let code = app.consent_at_stripe(&attempt, provider_standin::DEMO_EMAIL).await;
    let problem = assert_problem(app.send_grant(&admin(), &code, &attempt.state, &attempt.verifier).await, 502, "provider_unavailable").await;
    assert!(problem["title"].as_str().unwrap().contains("Stripe could not be reached"));
    assert!(app.connections().await.is_empty());
    // A fresh attempt can be started straight away.
    app.start_attempt(&admin()).await;
}
