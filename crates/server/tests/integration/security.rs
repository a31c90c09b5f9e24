//! Issue "Harden the grant path": each attack tried against the real server, refused with a clear
//! error, and nothing stored.

use crate::support;

use serde_json::{json, Value};
use support::{admin, assert_problem, spawn_app, spawn_app_with, token};

#[tokio::test]
async fn a_grant_without_state_or_code_is_refused() {
    let app = spawn_app().await;
    let attempt = app.start_attempt(&admin()).await;
    let code = app.consent_at_stripe(&attempt, provider_standin::DEMO_EMAIL).await;
    for body in [
        json!({ "code": code, "code_verifier": attempt.verifier }),
        json!({ "state": attempt.state, "code_verifier": attempt.verifier }),
        json!({ "code": code, "state": attempt.state }),
        json!({ "code": code, "state": "", "code_verifier": attempt.verifier }),
    ] {
        let response = app.post("/api/providers/stripe/grants", Some(&admin()), &body).send().await.unwrap();
        assert_problem(response, 400, "invalid_request").await;
    }
    // None of those used the attempt up.
    assert_eq!(app.send_grant(&admin(), &code, &attempt.state, &attempt.verifier).await.status(), 201);
}

#[tokio::test]
async fn the_same_grant_posted_twice_at_the_same_moment_reaches_stripe_once() {
    let app = spawn_app().await;
    let attempt = app.start_attempt(&admin()).await;
    let code = app.consent_at_stripe(&attempt, provider_standin::DEMO_EMAIL).await;
    let token = admin();
    let (first, second) =
        tokio::join!(app.send_grant(&token, &code, &attempt.state, &attempt.verifier), app.send_grant(&token, &code, &attempt.state, &attempt.verifier));
    let mut statuses = [first.status().as_u16(), second.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [201, 400]);
    assert_eq!(app.standin.token_requests(), 1, "exactly one exchange reached the token endpoint");
    assert_eq!(app.standin.active_tokens(), 1, "so Stripe never saw a reused code and revoked nothing");
    assert_eq!(app.connections().await.len(), 1);
}

#[tokio::test]
async fn the_session_route_refuses_missing_expired_and_forged_tokens() {
    let app = spawn_app().await;
    let expired = support::token_with(support::SESSION_SECRET, "admin", "a", chrono::Utc::now().timestamp() - 3600);
    assert_problem(app.get("/api/session", None).send().await.unwrap(), 401, "unauthenticated").await;
    assert_problem(app.get("/api/session", Some(&expired)).send().await.unwrap(), 401, "unauthenticated").await;
    assert_problem(app.get("/api/session", Some("not.a.jwt")).send().await.unwrap(), 401, "unauthenticated").await;
    let viewer: Value = app.get("/api/session", Some(&token("viewer", "v"))).send().await.unwrap().json().await.unwrap();
    assert_eq!(viewer["role"], "viewer", "a viewer may see who they are, and nothing else");
}

#[tokio::test]
async fn the_session_cookie_is_secure_outside_localhost() {
    let app = spawn_app_with(&["--public-url=https://connections.example.com"]).await;
    let response = app.post("/api/demo/session", None, &json!({ "role": "admin" })).send().await.unwrap();
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("; Secure") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    let local = spawn_app().await;
    let response = local.post("/api/demo/session", None, &json!({ "role": "admin" })).send().await.unwrap();
    assert!(!response.headers()["set-cookie"].to_str().unwrap().contains("Secure"));
}

/// Cookie tossing: a sibling subdomain can set a plain `connections_session` cookie for the whole
/// domain, and browsers send it beside (and often before) our `__Host-` one.
#[tokio::test]
async fn over_https_only_the_host_cookie_signs_in_and_two_session_cookies_are_refused() {
    let app = spawn_app_with(&["--public-url=https://connections.example.com"]).await;
    let mine = admin();
    let theirs = support::token_in("globex", "admin", "admin-globex");
    let session = |cookies: &[String]| {
        let mut request = app.get("/api/session", None);
        for cookie in cookies {
            request = request.header("cookie", cookie);
        }
        request.send()
    };
    let host = |token: &str| format!("__Host-connections_session={token}");
    let plain = |token: &str| format!("connections_session={token}");

    let me: Value = session(&[host(&mine)]).await.unwrap().json().await.unwrap();
    assert_eq!(me["workspace"], "acme");
    // The plain cookie alone signs nobody in over https.
    let body = assert_problem(session(&[plain(&theirs)]).await.unwrap(), 401, "unauthenticated").await;
    assert!(body["detail"].as_str().unwrap().contains("Sign in"), "{body}");
    // Another workspace's token tossed in before mine, in one header or two, is refused, naming why.
    for cookies in
        [vec![format!("{}; {}", plain(&theirs), host(&mine))], vec![plain(&theirs), host(&mine)], vec![format!("{}; {}", host(&mine), host(&theirs))]]
    {
        let body = assert_problem(session(&cookies).await.unwrap(), 401, "unauthenticated").await;
        assert!(body["detail"].as_str().unwrap().contains("more than one session cookie"), "{body}");
    }
    // And it changes nothing: a state-changing route refuses the same way before doing anything.
    let tossed = format!("{}; {}", plain(&theirs), host(&mine));
    let body = json!({ "state": "t".repeat(43), "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256" });
    let response = app.post("/api/providers/stripe/attempts", None, &body).header("cookie", tossed).send().await.unwrap();
    assert_problem(response, 401, "unauthenticated").await;
    assert_eq!(app.count("connect_attempts").await, 0);

    // Over http (localhost) the plain cookie is the session, and two of them are refused too.
    let local = spawn_app().await;
    let me: Value = local.get("/api/session", None).header("cookie", plain(&mine)).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["workspace"], "acme");
    let two = format!("{}; {}", plain(&theirs), plain(&mine));
    assert_problem(local.get("/api/session", None).header("cookie", two).send().await.unwrap(), 401, "unauthenticated").await;
}

#[tokio::test]
async fn only_the_configured_redirect_uri_is_ever_used() {
    let app = spawn_app_with(&["--public-url=https://connections.example.com"]).await;
    let response = app.get("/api/providers", Some(&admin())).header("host", "evil.example").header("x-forwarded-host", "evil.example").send().await.unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["providers"][0]["redirect_uri"], "https://connections.example.com/connections/stripe/callback");
}

#[tokio::test]
async fn oversized_bodies_answer_413_problem_json() {
    let app = spawn_app().await;
    let huge = json!({ "code": "a".repeat(40_000), "state": "s", "code_verifier": "v" });
    let response = app.post("/api/providers/stripe/grants", Some(&admin()), &huge).send().await.unwrap();
    assert_problem(response, 413, "payload_too_large").await;
    let query = format!("/api/connections?{}", "x=%ZZ&".repeat(2000));
    assert_eq!(app.get(&query, Some(&admin())).send().await.unwrap().status(), 200, "unknown query parameters are ignored");
}

#[tokio::test]
async fn starting_attempts_and_posting_grants_are_rate_limited_per_session() {
    let app = spawn_app_with(&["--rate-limit-per-minute=3"]).await;
    for _ in 0..3 {
        app.start_attempt(&admin()).await;
    }
    let body = json!({ "state": "b".repeat(43), "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256" });
    let response = app.post("/api/providers/stripe/attempts", Some(&admin()), &body).send().await.unwrap();
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_problem(response, 429, "rate_limited").await;
    // Another administrator's session has its own allowance.
    app.start_attempt(&token("admin", "admin-2")).await;

    let grant = json!({ "code": "ac_x", "state": "c".repeat(43), "code_verifier": "v".repeat(43) });
    for _ in 0..3 {
        let response = app.post("/api/providers/stripe/grants", Some(&admin()), &grant).send().await.unwrap();
        assert_problem(response, 400, "unknown_attempt").await;
    }
    let response = app.post("/api/providers/stripe/grants", Some(&admin()), &grant).send().await.unwrap();
    assert!(response.headers().contains_key("retry-after"));
    assert_problem(response, 429, "rate_limited").await;
}

#[tokio::test]
async fn the_frame_policy_is_configurable_for_embedding() {
    let app = spawn_app_with(&["--frame-ancestors='self' https://portal.example.com"]).await;
    let response = app.get("/connections", None).send().await.unwrap();
    let csp = response.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.ends_with("frame-ancestors 'self' https://portal.example.com"), "{csp}");
}

#[tokio::test]
async fn no_token_or_platform_secret_appears_in_any_response() {
    let app = spawn_app().await;
    let connection = app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    let stored = app.stored_access_token("acct_1DemoAcmeBooks00").await.unwrap();
    let access_token = app.state.cipher.decrypt(&stored, "stripe:acct_1DemoAcmeBooks00:access").unwrap().expose().clone();
    let mut everything = connection.to_string();
    for path in ["/api/connections", "/api/providers", "/api/session", "/connections", "/connections/stripe/callback"] {
        everything.push_str(&app.get(path, Some(&admin())).send().await.unwrap().text().await.unwrap());
    }
    for secret in [access_token.as_str(), connections_server::demo::DEMO_SECRET_KEY, "rt_", "sk_test_", "sk_live_"] {
        assert!(!everything.contains(secret), "{secret} reached a response");
    }
}
