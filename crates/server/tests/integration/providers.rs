//! A data source added by configuration alone: a providers file for a generic, standards-following
//! OAuth 2.0 source (the stand-in's strict realm), connected, renewed with rotating refresh tokens,
//! and revoked (RFC 7009) on disconnect.

use crate::support;

use serde_json::{json, Value};
use support::{admin, assert_problem, spawn_app_with_providers, TestApp};

pub const ACME_FILE: &str = include_str!("../fixtures/acme-providers.toml");

/// The stand-in realm's first account (see `provider_standin::Realm::demo_crm`).
pub const ACME_EMAIL: &str = "sales@northwind.test";

pub async fn spawn_with_acme(extra: &[&str]) -> TestApp {
    spawn_app_with_providers(ACME_FILE, extra).await
}

async fn check(app: &TestApp, id: &str) -> reqwest::Response {
    app.post(&format!("/api/connections/{id}/check"), Some(&admin()), &json!({})).send().await.unwrap()
}

/// Makes the stored access token due for renewal, as time would.
async fn expire_stored_token(app: &TestApp, id: &str) {
    app.sql(&format!("UPDATE connections SET access_expires_at = {} WHERE id = '{id}'", chrono::Utc::now().timestamp())).await;
}

#[tokio::test]
async fn a_provider_added_by_configuration_is_listed_and_connects_end_to_end() {
    let app = spawn_with_acme(&[]).await;
    let body: Value = app.get("/api/providers", Some(&admin())).send().await.unwrap().json().await.unwrap();
    let ids: Vec<&str> = body["providers"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["stripe", "acme"], "the file's order");
    let acme = &body["providers"][1];
    assert_eq!(acme["name"], "Acme CRM");
    assert_eq!(acme["dialect"], "oauth2");
    assert_eq!(acme["categories"], json!(["crm"]));
    assert_eq!(acme["has_modes"], false);
    assert_eq!(acme["scope"], "contacts.read deals.read");
    assert_eq!(acme["data_synced"], json!(["Contacts", "Deals", "Companies"]));
    assert_eq!(acme["docs_url"], "https://acme.example/docs/connect");
    assert_eq!(acme["redirect_uri"], format!("{}/connections/acme/callback", app.url));
    assert!(!body.to_string().contains("demo-acme-client-secret"), "a client secret reached the browser");

    let (attempt, url) = app.start_attempt_for("acme", &admin()).await;
    let params: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(url.path(), "/oauth2/acme/authorize");
    assert_eq!((params["response_type"].as_str(), params["client_id"].as_str()), ("code", "acme_client"));
    assert_eq!(params["code_challenge"], attempt.challenge);
    assert_eq!(params["code_challenge_method"], "S256");
    assert_eq!(params["scope"], "contacts.read deals.read");
    assert_eq!(params["access_type"], "offline");
    assert_eq!(params["redirect_uri"], format!("{}/connections/acme/callback", app.url));

    let (status, connection) = app.connect_to("acme", &admin(), ACME_EMAIL).await;
    assert_eq!(status, 201, "{connection}");
    assert_eq!(connection["outcome"], "created");
    assert_eq!(connection["provider"], "acme");
    assert_eq!(connection["account_name"], "Northwind Traders");
    assert_eq!(connection["livemode"], Value::Null);
    assert_eq!(connection["scope"], "contacts.read deals.read");
    let record = app.record("acme", connection["account_id"].as_str().unwrap()).await;
    let expires_in = record.access_expires_at.unwrap() - chrono::Utc::now().timestamp();
    assert!((3500..=3600).contains(&expires_in), "expires_in is stored: {expires_in}");
    assert!(record.refresh_token.is_some());
    let detail: Value =
        app.get(&format!("/api/connections/{}", connection["id"].as_str().unwrap()), Some(&admin())).send().await.unwrap().json().await.unwrap();
    assert_eq!(detail["history"][0]["detail"], "Connected with Acme CRM");
}

#[tokio::test]
async fn a_stolen_code_bound_to_another_challenge_is_refused_by_the_provider() {
    // PKCE's point with a standards-following provider: a code obtained for the thief's attempt
    // (another challenge) cannot be redeemed through the victim's attempt, even with its verifier.
    let app = spawn_with_acme(&[]).await;
    let (victim, _) = app.start_attempt_for("acme", &admin()).await;
    let (_, thief_url) = app.start_attempt_for("acme", &admin()).await;
    let stolen = app.authorize_at(&thief_url, ACME_EMAIL).await["code"].clone();
    let response = app.send_grant_for("acme", &admin(), &stolen, &victim.state, &victim.verifier).await;
    let problem = assert_problem(response, 502, "provider_rejected").await;
    assert!(problem["detail"].as_str().unwrap().contains("invalid_grant"), "{problem}");
    assert!(app.connections().await.is_empty());
}

#[tokio::test]
async fn renewal_stores_the_rotated_refresh_token_and_the_next_renewal_uses_it() {
    let app = spawn_with_acme(&[]).await;
    let (_, connection) = app.connect_to("acme", &admin(), ACME_EMAIL).await;
    let (id, account) = (connection["id"].as_str().unwrap(), connection["account_id"].as_str().unwrap());
    let first = app.record("acme", account).await;
    for renewal in 1..=2 {
        expire_stored_token(&app, id).await;
        let checked = check(&app, id).await;
        assert_eq!(checked.status(), 200, "renewal {renewal}: {}", checked.text().await.unwrap());
        let record = app.record("acme", account).await;
        assert_eq!(record.view.status, connections_wire::ConnectionStatus::Connected, "renewal {renewal}");
        assert_ne!(record.refresh_token, first.refresh_token, "the rotated refresh token is stored");
        assert!(record.access_expires_at.unwrap() > chrono::Utc::now().timestamp() + 3000);
        assert_eq!(app.standin.realm_token_requests("acme"), 1 + renewal, "one token request per renewal");
    }
    let history: Value = app.get(&format!("/api/connections/{id}"), Some(&admin())).send().await.unwrap().json().await.unwrap();
    let renewals = history["history"].as_array().unwrap().iter().filter(|e| e["action"] == "renew" && e["success"] == true).count();
    assert_eq!(renewals, 2);
}

#[tokio::test]
async fn an_access_token_the_provider_refuses_is_renewed_by_the_health_check() {
    let app = spawn_with_acme(&[]).await;
    let (_, connection) = app.connect_to("acme", &admin(), ACME_EMAIL).await;
    // The provider's clock moves past expires_in; ours still thinks the token is good.
    app.standin.advance_clock(3601);
    let checked = check(&app, connection["id"].as_str().unwrap()).await;
    assert_eq!(checked.status(), 200);
    let body: Value = checked.json().await.unwrap();
    assert_eq!(body["status"], "connected");
    assert_eq!(app.standin.realm_token_requests("acme"), 2);
}

#[tokio::test]
async fn a_refresh_token_the_provider_refuses_means_reauthentication() {
    let app = spawn_with_acme(&[]).await;
    let (_, connection) = app.connect_to("acme", &admin(), ACME_EMAIL).await;
    let id = connection["id"].as_str().unwrap();
    app.standin.revoke_access(connection["account_id"].as_str().unwrap());
    expire_stored_token(&app, id).await;
    let checked = check(&app, id).await;
    assert_eq!(checked.status(), 200);
    let body: Value = checked.json().await.unwrap();
    assert_eq!(body["status"], "reauthentication_required");
    // Reconnecting the same account renews the same row.
    let (status, again) = app.connect_to("acme", &admin(), ACME_EMAIL).await;
    assert_eq!((status, again["id"].as_str(), again["outcome"].as_str()), (200, Some(id), Some("renewed")));
}

#[tokio::test]
async fn concurrent_renewals_make_one_token_request() {
    let app = spawn_with_acme(&["--rate-limit-per-minute=100"]).await;
    let (_, connection) = app.connect_to("acme", &admin(), ACME_EMAIL).await;
    let id = connection["id"].as_str().unwrap().to_owned();
    expire_stored_token(&app, &id).await;
    let checks = (0..8).map(|_| check(&app, &id));
    let statuses: Vec<u16> = futures_statuses(checks).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(app.standin.realm_token_requests("acme"), 2, "the code, then exactly one refresh");
    let body: Value = check(&app, &id).await.json().await.unwrap();
    assert_eq!(body["status"], "connected", "the connection still works");
}

pub async fn futures_statuses<F: std::future::Future<Output = reqwest::Response>>(requests: impl Iterator<Item = F>) -> Vec<u16> {
    let handles: Vec<_> = requests.collect();
    let mut statuses = Vec::new();
    for response in join_all(handles).await {
        statuses.push(response.status().as_u16());
    }
    statuses
}

/// Runs the futures at the same time (no extra dependency for one join).
pub async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in pinned.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(|o| o.expect("every future finished")).collect()
}

#[tokio::test]
async fn disconnecting_revokes_the_grant_at_the_provider() {
    let app = spawn_with_acme(&[]).await;
    let (_, connection) = app.connect_to("acme", &admin(), ACME_EMAIL).await;
    let account = connection["account_id"].as_str().unwrap();
    let record = app.record("acme", account).await;
    let access = app.state.cipher.open("acme", account, connections_server::crypto::TokenKind::Access, record.access_token.as_deref().unwrap()).unwrap();
    assert!(app.standin.token_is_active(access.expose()));
    let response = app.post(&format!("/api/connections/{}/disconnect", connection["id"].as_str().unwrap()), Some(&admin()), &json!({})).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "disconnected");
    assert!(!app.standin.token_is_active(access.expose()), "RFC 7009 revocation reached the provider");
    assert!(app.record("acme", account).await.access_token.is_none());
}

#[tokio::test]
async fn unknown_providers_and_webhooks_of_providers_without_them_answer_404() {
    let app = spawn_with_acme(&[]).await;
    let body = json!({ "state": "a".repeat(43), "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256" });
    assert_problem(app.post("/api/providers/nope/attempts", Some(&admin()), &body).send().await.unwrap(), 404, "unknown_provider").await;
    let webhook = app.http.post(format!("{}/api/webhooks/acme", app.url)).header("content-type", "application/json").body("{}").send().await.unwrap();
    assert_problem(webhook, 404, "not_found").await;
    // A return address that is not registered is refused before anything is stored.
    let mut foreign = body.clone();
    foreign["redirect_uri"] = json!("https://evil.example/connections/acme/callback");
    foreign["state"] = json!("b".repeat(43));
    assert_problem(app.post("/api/providers/acme/attempts", Some(&admin()), &foreign).send().await.unwrap(), 400, "invalid_request").await;
}
