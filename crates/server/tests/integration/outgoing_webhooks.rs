//! Outgoing webhooks to the product's backend: signed as Standard Webhooks (checked here with the
//! specification's algorithm, written out independently), written to the outbox with the change,
//! delivered at least once and in order per connection, through a receiver outage and a restart.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::net::TcpListener;

use crate::support;
use support::{admin, spawn_app_with, spawn_second_instance, TestApp};

const ACME: &str = "acct_1DemoAcmeBooks00";
const KEY: [u8; 32] = *b"0123456789abcdef0123456789abcdef";

fn secret() -> String {
    format!("whsec_{}", STANDARD.encode(KEY))
}

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }

    /// The specification's verification: HMAC-SHA256 over `id.timestamp.body` with the secret's
    /// base64-decoded bytes, compared against each `v1,` signature in the header.
    fn verifies(&self, secret: &str) -> bool {
        let key = STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        mac.update(format!("{}.{}.{}", self.id, self.timestamp, self.body).as_bytes());
        let expected = STANDARD.encode(mac.finalize().into_bytes());
        self.signature.split(' ').any(|s| s.strip_prefix("v1,") == Some(expected.as_str()))
    }
}

/// A receiver in the test: records what it gets and answers `status` (settable while it runs).
#[derive(Clone)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    status: Arc<Mutex<u16>>,
}

impl Receiver {
    async fn start_on(listener: TcpListener) -> Receiver {
        let receiver = Receiver { got: Arc::default(), status: Arc::new(Mutex::new(204)) };
        let state = receiver.clone();
        let router = axum::Router::new().route(
            "/hooks",
            axum::routing::post(|axum::extract::State(state): axum::extract::State<Receiver>, headers: axum::http::HeaderMap, body: String| async move {
                let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                state.got.lock().unwrap().push(Received {
                    id: header("webhook-id"),
                    timestamp: header("webhook-timestamp"),
                    signature: header("webhook-signature"),
                    body,
                });
                axum::http::StatusCode::from_u16(*state.status.lock().unwrap()).unwrap()
            }),
        );
        tokio::spawn(async move { axum::serve(listener, router.with_state(state)).await });
        receiver
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// Waits until `n` requests have arrived (or fails after 40 s: a delivery claimed by an instance
    /// stopped mid-attempt waits out its lease).
    async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..800 {
            let got = self.got();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {n} deliveries, got {:?}", self.got());
    }
}

fn webhook_args(port: u16) -> [String; 3] {
    [format!("--webhook-url=http://127.0.0.1:{port}/hooks"), format!("--webhook-secret={}", secret()), "--webhook-first-retry-ms=100".to_owned()]
}

async fn spawn_with_webhooks(port: u16) -> TestApp {
    let args = webhook_args(port);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    spawn_app_with(&args).await
}

/// A receiver on a port of its own, and a server sending to it.
async fn app_and_receiver() -> (TestApp, Receiver) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let receiver = Receiver::start_on(listener).await;
    (spawn_with_webhooks(port).await, receiver)
}

async fn post(app: &TestApp, path: &str) -> reqwest::Response {
    app.post(path, Some(&admin()), &json!({})).send().await.unwrap()
}

fn types(got: &[Received]) -> Vec<String> {
    got.iter().map(|r| r.json()["type"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn every_change_is_announced_signed_as_standard_webhooks() {
    let (app, receiver) = app_and_receiver().await;

    let connection = app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    let id = connection["id"].as_str().unwrap().to_owned();
    let created = &receiver.wait_for(1).await[0];
    assert!(created.verifies(&secret()), "{created:?}");
    assert!(!created.verifies(&format!("whsec_{}", STANDARD.encode([9u8; 32]))), "a wrong secret does not verify");
    assert!(created.id.starts_with("msg_"));
    let sent_at: i64 = created.timestamp.parse().unwrap();
    assert!((chrono::Utc::now().timestamp() - sent_at).abs() < 30);
    let body = created.json();
    assert_eq!(body["type"], "connection.created");
    assert_eq!(body["data"]["workspace"], "acme");
    assert_eq!(body["data"]["connection"]["id"], id.as_str());
    assert_eq!(body["data"]["connection"]["status"], "connected");
    let access_token = app
        .state
        .cipher
        .open("stripe", ACME, connections_server::crypto::TokenKind::Access, app.record("stripe", ACME).await.access_token.as_deref().unwrap())
        .unwrap();
    assert!(!created.body.contains(access_token.expose().as_str()) && !created.body.contains("token\""), "never a token: {}", created.body);

    // Access lapses, the admin reconnects, then disconnects; a new connection is revoked by its owner.
    app.standin.revoke_access(ACME);
    post(&app, &format!("/api/connections/{id}/check")).await;
    // A second check that finds the same lapse announces nothing new.
    post(&app, &format!("/api/connections/{id}/check")).await;
    app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    post(&app, &format!("/api/connections/{id}/disconnect")).await;
    app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    app.standin.owner_disconnects_app(ACME).await;
    let got = receiver.wait_for(6).await;
    assert_eq!(
        types(&got),
        [
            "connection.created",
            "connection.reauthentication_required",
            "connection.reauthenticated",
            "connection.disconnected",
            "connection.reauthenticated",
            "connection.revoked"
        ]
    );
    assert!(got.iter().all(|r| r.verifies(&secret())));
    assert_eq!(got.iter().map(|r| &r.id).collect::<std::collections::HashSet<_>>().len(), 6, "one id per event");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(receiver.got().len(), 6);

    // The connection's details list them, delivered.
    let detail: Value = app.get(&format!("/api/connections/{id}"), Some(&admin())).send().await.unwrap().json().await.unwrap();
    let deliveries = detail["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 6);
    assert!(deliveries.iter().all(|d| d["status"] == "delivered" && d["attempts"] == 1), "{deliveries:?}");
    assert_eq!(deliveries[0]["event_type"], "connection.revoked", "newest first");
}

#[tokio::test]
async fn with_the_receiver_down_and_a_restart_in_between_every_event_arrives_in_order() {
    // The receiver's port, taken and let go: nothing listens there for now.
    let port = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
    let app = spawn_with_webhooks(port).await;
    let connection = app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    let id = connection["id"].as_str().unwrap().to_owned();
    post(&app, &format!("/api/connections/{id}/disconnect")).await;
    app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    app.connect(&admin(), "finance@globex.test").await;

    // Tried and failed, and still waiting.
    for _ in 0..100 {
        let tried: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM webhook_outbox WHERE connection_id = '{id}' AND attempts >= 2"))
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
        if tried >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let detail: Value = app.get(&format!("/api/connections/{id}"), Some(&admin())).send().await.unwrap().json().await.unwrap();
    let first = detail["deliveries"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((first["status"].as_str(), first["last_error"].as_str()), (Some("pending"), Some("the receiver could not be reached")), "{first}");
    assert!(first["attempts"].as_u64().unwrap() >= 2 && first["next_attempt_at"].is_string(), "{first}");
    // Later events of the connection wait behind the first: none of them was tried.
    assert!(detail["deliveries"].as_array().unwrap()[..2].iter().all(|d| d["attempts"] == 0), "{detail}");

    // The server restarts (nothing kept in memory), then the receiver comes back.
    let app = app.restart(|_| {}).await;
    let receiver = Receiver::start_on(TcpListener::bind(("127.0.0.1", port)).await.unwrap()).await;
    let got = receiver.wait_for(4).await;
    let of_acme: Vec<String> =
        got.iter().filter(|r| r.json()["data"]["connection"]["id"] == id.as_str()).map(|r| r.json()["type"].as_str().unwrap().to_owned()).collect();
    assert_eq!(of_acme, ["connection.created", "connection.disconnected", "connection.reauthenticated"], "in order per connection");
    assert_eq!(types(&got).iter().filter(|t| *t == "connection.created").count(), 2, "Globex's too");
    let outbox: Vec<String> = sqlx::query_scalar("SELECT message_id FROM webhook_outbox ORDER BY id").fetch_all(app.state.db.pool()).await.unwrap();
    let mut received: Vec<String> = got.iter().map(|r| r.id.clone()).collect();
    received.sort();
    received.dedup();
    let mut expected = outbox.clone();
    expected.sort();
    assert_eq!(received, expected, "every event, none lost");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhook_outbox WHERE delivered_ms IS NULL").fetch_one(app.state.db.pool()).await.unwrap();
    assert_eq!(pending, 0);
}

#[tokio::test]
async fn failed_deliveries_are_shown_and_can_be_sent_again() {
    let (app, receiver) = app_and_receiver().await;
    *receiver.status.lock().unwrap() = 500;
    let connection = app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    let id = connection["id"].as_str().unwrap().to_owned();
    // Made 31 hours ago: the next failure gives up.
    app.sql(&format!("UPDATE webhook_outbox SET created_ms = {}", chrono::Utc::now().timestamp_millis() - 31 * 3600 * 1000)).await;
    let mut delivery = Value::Null;
    for _ in 0..200 {
        let detail: Value = app.get(&format!("/api/connections/{id}"), Some(&admin())).send().await.unwrap().json().await.unwrap();
        delivery = detail["deliveries"][0].clone();
        if delivery["status"] == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        (delivery["status"].as_str(), delivery["last_error"].as_str()),
        (Some("failed"), Some("the receiver answered 500 Internal Server Error")),
        "{delivery}"
    );
    let tried = receiver.got().len();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.got().len(), tried, "given up: no more attempts");

    // Another workspace cannot retry it; this one's admin can, once the receiver is fixed.
    let message = delivery["id"].as_str().unwrap();
    let other =
        app.post(&format!("/api/webhook-deliveries/{message}/retry"), Some(&support::token_in("globex", "admin", "g")), &json!({})).send().await.unwrap();
    support::assert_problem(other, 404, "not_found").await;
    *receiver.status.lock().unwrap() = 200;
    let retried: Value = post(&app, &format!("/api/webhook-deliveries/{message}/retry")).await.json().await.unwrap();
    assert_eq!(retried["status"], "pending");
    let got = receiver.wait_for(tried + 1).await;
    assert_eq!(got.last().unwrap().id, message, "the same event id");
    for _ in 0..100 {
        let detail: Value = app.get(&format!("/api/connections/{id}"), Some(&admin())).send().await.unwrap().json().await.unwrap();
        if detail["deliveries"][0]["status"] == "delivered" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the retried delivery was not recorded as delivered");
}

#[tokio::test]
async fn with_two_instances_each_event_is_delivered_by_one_of_them() {
    let (first, receiver) = app_and_receiver().await;
    let second = spawn_second_instance(&first).await;
    for round in 0..4 {
        let app = if round % 2 == 0 { &first } else { &second };
        let connection = app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
        post(app, &format!("/api/connections/{}/disconnect", connection["id"].as_str().unwrap())).await;
        app.connect(&admin(), "finance@globex.test").await;
    }
    let got = receiver.wait_for(12).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got_after = receiver.got();
    assert_eq!(got_after.len(), got.len(), "nothing delivered twice: {:?}", types(&got_after));
    assert_eq!(got_after.len(), 12);
    let of_acme: Vec<String> =
        got_after.iter().filter(|r| r.json()["data"]["connection"]["account_id"] == ACME).map(|r| r.json()["type"].as_str().unwrap().to_owned()).collect();
    let expected: Vec<&str> = std::iter::once("connection.created")
        .chain(std::iter::once("connection.disconnected"))
        .chain((0..3).flat_map(|_| ["connection.reauthenticated", "connection.disconnected"]))
        .collect();
    assert_eq!(of_acme, expected, "in order per connection");
}

#[tokio::test]
async fn a_connection_that_works_again_without_a_new_consent_is_announced_as_recovered() {
    let (app, receiver) = app_and_receiver().await;
    let connection = app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    let id = connection["id"].as_str().unwrap().to_owned();
    receiver.wait_for(1).await;
    // Marked as needing reauthentication while its tokens still work (as a refusal during a
    // provider incident would leave it); a check finds the stored token accepted.
    let needs_consent = format!("UPDATE connections SET status = 'reauthentication_required' WHERE id = '{id}'");
    app.sql(&needs_consent).await;
    let checked: Value = post(&app, &format!("/api/connections/{id}/check")).await.json().await.unwrap();
    assert_eq!(checked["status"], "connected");
    let got = receiver.wait_for(2).await;
    assert_eq!(types(&got), ["connection.created", "connection.recovered"]);
    assert_eq!(got[1].json()["data"]["connection"]["status"], "connected");
    assert!(got[1].verifies(&secret()));

    // Again, and this time the access token is refused too: the renewal that follows recovers it.
    app.sql(&needs_consent).await;
    app.standin.expire_access_tokens(ACME);
    let checked: Value = post(&app, &format!("/api/connections/{id}/check")).await.json().await.unwrap();
    assert_eq!(checked["status"], "connected");
    let got = receiver.wait_for(3).await;
    assert_eq!(types(&got), ["connection.created", "connection.recovered", "connection.recovered"], "announced once per recovery");

    let detail: Value = app.get(&format!("/api/connections/{id}"), Some(&admin())).send().await.unwrap().json().await.unwrap();
    let recoveries: Vec<&Value> = detail["history"].as_array().unwrap().iter().filter(|e| e["action"] == "recover").collect();
    assert_eq!(recoveries.len(), 2, "{detail}");
    assert!(recoveries.iter().all(|e| e["success"] == true && e["detail"].as_str().unwrap().contains("no longer required")));
}
