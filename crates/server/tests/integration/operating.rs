//! Operating the server: the probes, the metrics (on their own listener only, labels without ids),
//! request ids, and a shutdown that keeps the grants in flight. Runs on SQLite and on PostgreSQL.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};
use tokio::sync::{mpsc, watch};

use crate::support::{admin, assert_problem, free_port, fresh_database_url, is_postgres, spawn_app, spawn_app_with, Attempt, TestApp, SESSION_SECRET};

const BINARY: &str = env!("CARGO_BIN_EXE_connections-server");

async fn spawn_app_with_metrics() -> TestApp {
    spawn_app_with(&["--metrics-addr=127.0.0.1:0"]).await
}

async fn scrape(app: &TestApp) -> String {
    let addr = app.state.metrics_addr.expect("metrics are on");
    let response = app.http.get(format!("http://{addr}/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    response.text().await.unwrap()
}

/// The labels of an exposition line's series: `name{a="x",b="y"} 1` → name and {a: x, b: y}.
fn parse_series(series: &str) -> (&str, HashMap<String, String>) {
    let Some((name, rest)) = series.split_once('{') else { return (series, HashMap::new()) };
    let mut labels = HashMap::new();
    let mut chars = rest.trim_end_matches('}').chars().peekable();
    loop {
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        assert_eq!(chars.next(), Some('"'));
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => value.extend(chars.next()),
                '"' => break,
                c => value.push(c),
            }
        }
        labels.insert(key.trim_start_matches(',').to_owned(), value);
        if chars.peek() == Some(&',') {
            chars.next();
        }
    }
    (name, labels)
}

/// The sum of every sample of `name` whose labels include `labels`.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (series_name, series_labels) = parse_series(series);
            let matches = series_name == name && labels.iter().all(|(k, v)| series_labels.get(*k).map(String::as_str) == Some(*v));
            matches.then(|| value.parse::<f64>().unwrap())
        })
        .sum()
}

#[tokio::test]
async fn healthz_and_readyz_answer_unauthenticated_when_all_is_well() {
    let app = spawn_app().await;
    let health = app.get("/healthz", None).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert!(health.headers().contains_key("x-request-id"));
    assert_eq!(health.json::<Value>().await.unwrap()["status"], "ok");
    let ready = app.get("/readyz", None).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.json::<Value>().await.unwrap()["status"], "ready");
}

#[tokio::test]
async fn readyz_names_a_migration_the_database_lacks() {
    let app = spawn_app().await;
    let latest: i64 = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations").fetch_one(app.state.db.pool()).await.unwrap();
    app.sql(&format!("DELETE FROM _sqlx_migrations WHERE version = {latest}")).await;
    let body = assert_problem(app.get("/readyz", None).send().await.unwrap(), 503, "internal").await;
    assert!(body["detail"].as_str().unwrap().contains(&format!("migration {latest} (")), "{body}");
    assert_eq!(body["missing"].as_array().unwrap().len(), 1, "{body}");
    assert!(body["missing"][0].as_str().unwrap().starts_with(&format!("migration {latest}")), "{body}");
    assert_eq!(app.get("/healthz", None).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn readyz_answers_503_when_the_database_is_gone_and_healthz_still_200() {
    let app = spawn_app().await;
    assert_eq!(app.get("/readyz", None).send().await.unwrap().status(), 200);
    if is_postgres() {
        // The database itself goes: its connections are ended and it is dropped.
        let admin_url = std::env::var("TEST_DATABASE_URL").unwrap();
        let name = url::Url::parse(app.args.database_url.as_deref().unwrap()).unwrap().path().trim_start_matches('/').to_owned();
        let mut admin = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin_url).await.unwrap();
        sqlx::Executor::execute(&mut admin, format!("DROP DATABASE {name} WITH (FORCE)").as_str()).await.unwrap();
    } else {
        // An embedded database has no server to lose: no connection can be had any more.
        app.state.db.pool().close().await;
    }
    let response = app.get("/readyz", None).send().await.unwrap();
    let request_id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body = assert_problem(response, 503, "internal").await;
    assert_eq!(body["missing"], json!(["database"]), "{body}");
    assert_eq!(body["request_id"], request_id.as_str());
    assert!(!body.to_string().contains("connections_test_"), "no database detail in the answer: {body}");
    assert_eq!(app.get("/healthz", None).send().await.unwrap().status(), 200, "liveness does not ask the database");
}

#[tokio::test]
async fn metrics_after_a_connect_flow_count_the_grant_and_time_the_provider_calls() {
    let app = spawn_app_with_metrics().await;
    let grant_labels = [("provider", "stripe"), ("outcome", "created")];
    let exchange = [("provider", "stripe"), ("endpoint", "token_exchange"), ("outcome", "ok")];
    let grants_route = [("route", "/api/providers/{provider}/grants"), ("method", "POST"), ("status", "2xx")];
    // The recorder is the process's: other tests count too, so only increases are asserted.
    let before = scrape(&app).await;

    let granted = app.connect(&admin(), provider_standin::DEMO_EMAIL).await;

    let after = scrape(&app).await;
    assert!(sample(&after, "connections_grants_total", &grant_labels) >= sample(&before, "connections_grants_total", &grant_labels) + 1.0, "{after}");
    let count = "connections_provider_request_duration_seconds_count";
    assert!(sample(&after, count, &exchange) >= sample(&before, count, &exchange) + 1.0, "{after}");
    let bucket = "connections_provider_request_duration_seconds_bucket";
    assert!(sample(&after, bucket, &[("provider", "stripe"), ("endpoint", "token_exchange"), ("outcome", "ok"), ("le", "+Inf")]) >= 1.0, "{after}");
    assert!(sample(&after, "connections_provider_requests_total", &[("provider", "stripe"), ("endpoint", "account"), ("outcome", "ok")]) >= 1.0);
    assert!(sample(&after, "connections_http_requests_total", &grants_route) >= sample(&before, "connections_http_requests_total", &grants_route) + 1.0);
    assert!(sample(&after, "connections_http_request_duration_seconds_count", &[("route", "/api/providers/{provider}/grants")]) >= 1.0);
    assert!(sample(&after, "connections_connections", &[("provider", "stripe"), ("status", "connected")]) >= 1.0, "{after}");
    assert!(after.contains("# TYPE connections_connections gauge"), "{after}");
    assert!(after.contains("# TYPE connections_provider_request_duration_seconds histogram"), "{after}");
    assert_eq!(sample(&after, "connections_build_info", &[]), 1.0);

    // No id, name or anything typed becomes a label.
    for value in [&granted["id"], &granted["account_id"], &granted["account_name"], &json!(provider_standin::DEMO_EMAIL), &json!("admin-1")] {
        let value = value.as_str().unwrap();
        assert!(!after.contains(value), "{value} is in the metrics");
    }
    for line in after.lines().filter(|line| line.starts_with("connections_")) {
        let (series, _) = line.rsplit_once(' ').unwrap();
        assert!(
            parse_series(series).1.keys().all(|k| ["route", "method", "status", "provider", "outcome", "endpoint", "le", "version"].contains(&k.as_str())),
            "{line}"
        );
    }
}

#[tokio::test]
async fn paths_typed_by_a_client_never_become_labels() {
    let app = spawn_app_with_metrics().await;
    let unknown = app.post("/api/providers/evilprovider7/grants", Some(&admin()), &json!({})).send().await.unwrap();
    assert_problem(unknown, 404, "unknown_provider").await;
    assert_eq!(app.get("/api/connections/conn_madeup123", Some(&admin())).send().await.unwrap().status(), 404);
    assert_eq!(app.get("/no/such/page-xyz", None).send().await.unwrap().status(), 200, "the SPA's shell");
    let text = scrape(&app).await;
    for typed in ["evilprovider7", "conn_madeup123", "page-xyz"] {
        assert!(!text.contains(typed), "{typed} is in the metrics:\n{text}");
    }
    assert!(sample(&text, "connections_http_requests_total", &[("route", "/api/providers/{provider}/grants"), ("status", "4xx")]) >= 1.0);
    assert!(sample(&text, "connections_http_requests_total", &[("route", "/api/connections/{id}"), ("status", "4xx")]) >= 1.0);
    assert!(sample(&text, "connections_http_requests_total", &[("route", "unmatched"), ("method", "GET")]) >= 1.0);
}

#[tokio::test]
async fn metrics_are_served_on_their_own_listener_only() {
    let app = spawn_app_with_metrics().await;
    let public = app.get("/metrics", None).send().await.unwrap();
    assert_eq!(public.status(), 404);
    assert!(!public.text().await.unwrap().contains("connections_http_requests_total"));
    let metrics = app.state.metrics_addr.unwrap();
    assert_ne!(metrics.port(), app.url.rsplit(':').next().unwrap().parse::<u16>().unwrap());
    assert!(scrape(&app).await.contains("connections_http_requests_total"));
    // Only /metrics there: not the API, not the probes.
    for path in ["/api/session", "/healthz"] {
        assert_eq!(app.http.get(format!("http://{metrics}{path}")).send().await.unwrap().status(), 404, "{path}");
    }
    // Off unless asked for.
    assert_eq!(spawn_app().await.state.metrics_addr, None);
}

#[tokio::test]
async fn every_response_has_a_request_id_and_problem_bodies_repeat_it() {
    let app = spawn_app().await;
    let response = app.get("/api/connections", None).send().await.unwrap();
    let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 32, "{id}");
    let body = assert_problem(response, 401, "unauthenticated").await;
    assert_eq!(body["request_id"], id.as_str());
    // A load balancer's id is kept; one that is not a plain token is replaced.
    let kept = app.get("/api/connections", None).header("x-request-id", "lb-42.7").send().await.unwrap();
    assert_eq!(kept.headers()["x-request-id"], "lb-42.7");
    assert_eq!(kept.json::<Value>().await.unwrap()["request_id"], "lb-42.7");
    let replaced = app.get("/healthz", None).header("x-request-id", "<script>").send().await.unwrap();
    assert_ne!(replaced.headers()["x-request-id"], "<script>");
    // Successful answers carry it in the header only.
    let ok = app.get("/api/connections", Some(&admin())).send().await.unwrap();
    assert!(ok.headers().contains_key("x-request-id"));
    assert!(ok.json::<Value>().await.unwrap().get("request_id").is_none());
}

/// A stand-in Stripe whose token endpoint answers a code only once it is released: `arrived` hears
/// of each code.
async fn slow_stripe(arrived: mpsc::UnboundedSender<String>, release: watch::Receiver<Vec<&'static str>>) -> String {
    type Slow = (mpsc::UnboundedSender<String>, watch::Receiver<Vec<&'static str>>);
    async fn token(State((arrived, mut release)): State<Slow>, Form(form): Form<HashMap<String, String>>) -> Json<Value> {
        let code = form["code"].clone();
        arrived.send(code.clone()).unwrap();
        release.wait_for(|released| released.contains(&code.as_str())).await.unwrap();
        Json(json!({
            "access_token": format!("tok_{code}"), "refresh_token": format!("ref_{code}"), "livemode": false,
            "stripe_user_id": format!("acct_{code}"), "scope": "read_only",
        }))
    }
    async fn account(headers: axum::http::HeaderMap) -> Json<Value> {
        let token = headers["authorization"].to_str().unwrap().trim_start_matches("Bearer tok_").to_owned();
        Json(json!({ "id": format!("acct_{token}"), "business_profile": { "name": "Slow Books" } }))
    }
    let router = Router::new().route("/v1/oauth/token", post(token)).route("/v1/account", get(account)).with_state((arrived, release));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    url
}

async fn eventually(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed() < Duration::from_secs(30), "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[tokio::test]
async fn sigterm_during_a_slow_token_exchange_still_stores_the_connection() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), "<!DOCTYPE html>").unwrap();
    let (arrived_tx, mut arrived) = mpsc::unbounded_channel();
    let (release, release_rx) = watch::channel(Vec::new());
    let stripe = slow_stripe(arrived_tx, release_rx).await;
    let database_url = fresh_database_url(dir.path()).await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let log_path = dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut server = tokio::process::Command::new(BINARY)
        .env_clear()
        .env("CONNECTIONS_ADDR", format!("127.0.0.1:{port}"))
        .env("CONNECTIONS_STATIC_DIR", dir.path())
        .env("DATABASE_URL", &database_url)
        .env("CONNECTIONS_SESSION_SECRET", SESSION_SECRET)
        .env("CONNECTIONS_ENCRYPTION_KEY", STANDARD.encode([42u8; 32]))
        .env("CONNECTIONS_HEALTH_CHECK_SECS", "0")
        .env("STRIPE_CLIENT_ID", "ca_SlowTest")
        .env("STRIPE_SECRET_KEY", "sk_test_slow")
        .env("STRIPE_TOKEN_URL", format!("{stripe}/v1/oauth/token"))
        .env("STRIPE_API_BASE", &stripe)
        .env("RUST_LOG", "info")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    eventually("the server to start", async || http.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status() == 200)).await;

    // Two grants reach the slow token endpoint: one client waits for its answer, one hangs up.
    let grant = |http: reqwest::Client, code: &'static str| {
        let base = base.clone();
        async move {
            let attempt = Attempt::new();
            let started = http.post(format!("{base}/api/providers/stripe/attempts")).bearer_auth(admin()).json(&attempt.body()).send().await.unwrap();
            assert_eq!(started.status(), 201);
            let grant = attempt.grant(code);
            http.post(format!("{base}/api/providers/stripe/grants")).bearer_auth(admin()).json(&grant).send().await.unwrap()
        }
    };
    let waiting = tokio::spawn(grant(http.clone(), "Waits1"));
    let hanging_up = tokio::spawn(grant(reqwest::Client::new(), "HangsUp2"));
    let mut codes = Vec::new();
    for _ in 0..2 {
        codes.push(tokio::time::timeout(Duration::from_secs(30), arrived.recv()).await.expect("both exchanges started").unwrap());
    }
    codes.sort();
    assert_eq!(codes, ["HangsUp2", "Waits1"]);
    hanging_up.abort();
    let _ = hanging_up.await;

    let pid = server.id().unwrap().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    eventually("the server to begin shutting down", async || read(&log_path).contains("shutting down")).await;

    // The request still connected is finished, not cut.
    release.send_modify(|codes| codes.push("Waits1"));
    let answered = tokio::time::timeout(Duration::from_secs(30), waiting).await.expect("the grant is answered").unwrap();
    assert_eq!(answered.status(), 201);
    // The one whose client went is still being worked on, and the server waits for it.
    eventually("the server to wait for the grant left", async || read(&log_path).contains("waiting for grants in flight")).await;
    release.send_modify(|codes| codes.push("HangsUp2"));
    let exit = tokio::time::timeout(Duration::from_secs(30), server.wait()).await.expect("the server exits").unwrap();
    assert!(exit.success(), "{exit:?}\n{}", read(&log_path));

    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&database_url).await.unwrap();
    let stored: Vec<(String, String)> = sqlx::query_as("SELECT account_id, status FROM connections ORDER BY account_id").fetch_all(&pool).await.unwrap();
    let expected = [("acct_HangsUp2", "connected"), ("acct_Waits1", "connected")].map(|(a, s)| (a.to_owned(), s.to_owned()));
    assert_eq!(stored, expected, "both grants stored; log:\n{}", read(&log_path));
}
