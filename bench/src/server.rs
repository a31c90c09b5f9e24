//! The real server, in-process, with a fresh SQLite database and the stand-in; seeding; wrk runs.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use connections_server::crypto::TokenKind;
use connections_server::outbox::Notification;
use connections_server::secret::Secret;
use connections_server::storage::{AuditEntry, NewConnection};
use connections_server::AppState;
use connections_testkit::flow::query_of;
use connections_wire::{AuditAction, ConnectionStatus};
use provider_standin::{Account, Standin, DEMO_PASSWORD};

const SESSION_SECRET: &str = "bench-session-secret-that-is-long-enough";

/// The built SPA with the reference page beside it, served by every instance.
pub struct Site {
    dir: tempfile::TempDir,
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

impl Site {
    pub fn new(dist: &Path, reference: &Path) -> Self {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(dist, dir.path());
        copy_dir(reference, dir.path());
        Site { dir }
    }

    /// A shell with no app in it, for the API figures alone (`--only api`).
    pub fn stub() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.html"), "<!doctype html><title>Connections</title>").unwrap();
        Site { dir }
    }
}

pub struct Instance {
    pub url: String,
    pub state: AppState,
    standin: Standin,
    standin_url: String,
    http: reqwest::Client,
    _data: tempfile::TempDir,
}

pub async fn spawn(site: &Site) -> Instance {
    let data = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}?mode=rwc", data.path().join("bench.db").display());
    let extra = [
        "--stripe-webhook-secret=whsec_bench_secret",
        "--rate-limit-per-minute=100000",
        "--health-check-secs=0",
        // The grant benchmark consents at the stand-in's Connect page.
        "--stripe-oauth=connect",
    ]
    .map(str::to_owned);
    let args = connections_testkit::demo_args(&database_url, site.dir.path(), SESSION_SECRET, [5u8; 32], &extra);
    let running = connections_testkit::spawn(args, None).await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    Instance { url: running.url, state: running.state, standin: running.standin, standin_url: running.standin_url, http, _data: data }
}

/// The workspace of the benchmark's rows and sessions: the demo sign-in's default, which the
/// benchmark's browser signs in to.
const WORKSPACE: &str = "acme";

impl Instance {
    pub fn token(&self, subject: &str) -> String {
        connections_testkit::session_token(SESSION_SECRET, subject, "Bench Admin", "admin", WORKSPACE, 3600)
    }

    /// `n` connections straight into the database, one in seven revoked.
    pub async fn seed(&self, n: usize) {
        let now = chrono::Utc::now().timestamp();
        for i in 0..n {
            let account_id = format!("acct_1Bench{i:06}");
            let name = format!("Bench Account {i}");
            let connection = NewConnection {
                workspace: WORKSPACE,
                provider: "stripe",
                account_id: &account_id,
                account_name: &name,
                livemode: Some(i % 3 == 0),
                mode: None,
                scope: "read_only",
                access_token: self.state.cipher.seal("stripe", &account_id, TokenKind::Access, &Secret::new("sk_test_bench".to_owned())),
                refresh_token: None,
                access_expires_at: None,
                publishable_key: None,
                connected_by_subject: "bench",
                connected_by_name: "Bench Admin",
                now: now - (n - i) as i64,
            };
            let (view, _) = self.state.db.upsert_connection(connection, "seeded", connections_server::services::connect::CONNECTED).await.unwrap();
            if i % 7 == 3 {
                let event = AuditEntry {
                    workspace: WORKSPACE,
                    provider: "stripe",
                    account_id: &account_id,
                    action: AuditAction::Revoke,
                    success: true,
                    actor_subject: "stripe",
                    actor_name: "Stripe",
                    detail: "seeded",
                    at: now,
                };
                self.state.db.end_connection(&view.id, 1, ConnectionStatus::Revoked, event, None, Some(Notification::Revoked)).await.unwrap();
            }
        }
    }

    pub async fn wrk_connections(&self, secs: u32) -> f64 {
        let header = format!("Authorization: Bearer {}", self.token("bench-wrk"));
        let url = format!("{}/api/connections", self.url);
        // Off the runtime's workers: the server under test needs them.
        tokio::task::spawn_blocking(move || wrk(&url, &[&header], secs, false)).await.unwrap()
    }

    /// The table's poll when nothing changed: the list's `ETag` sent back in `If-None-Match`.
    /// Answers the status of one such request (304 expected) and wrk's requests a second.
    pub async fn wrk_connections_unchanged(&self, secs: u32) -> (u16, f64) {
        let token = self.token("bench-wrk");
        let url = format!("{}/api/connections", self.url);
        let first = self.http.get(&url).bearer_auth(&token).send().await.unwrap();
        let etag = first.headers()["etag"].to_str().unwrap().to_owned();
        let again = self.http.get(&url).bearer_auth(&token).header("If-None-Match", &etag).send().await.unwrap();
        let (auth, tag) = (format!("Authorization: Bearer {token}"), format!("If-None-Match: {etag}"));
        let rate = tokio::task::spawn_blocking(move || wrk(&url, &[&auth, &tag], secs, true)).await.unwrap();
        (again.status().as_u16(), rate)
    }

    /// `rounds` times, `concurrency` administrators each start an attempt, consent at the stand-in,
    /// then post their grants at once. Answers each grant's latency in milliseconds.
    pub async fn grant_latencies(&self, concurrency: usize, rounds: usize) -> Vec<f64> {
        for i in 0..concurrency {
            self.standin.add_account(Account {
                id: format!("acct_1Flow{i:06}"),
                email: format!("flow{i}@bench.test"),
                password: DEMO_PASSWORD.into(),
                business_name: format!("Flow {i}"),
                livemode: false,
            });
        }
        let mut latencies = Vec::new();
        for round in 0..rounds {
            let mut ready = Vec::new();
            for i in 0..concurrency {
                ready.push(self.prepare_grant(&format!("bench-{round}-{i}"), &format!("flow{i}@bench.test")).await);
            }
            let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(concurrency));
            let mut tasks = tokio::task::JoinSet::new();
            for (token, body) in ready {
                let (http, url, barrier) = (self.http.clone(), format!("{}/api/providers/stripe/grants", self.url), barrier.clone());
                tasks.spawn(async move {
                    barrier.wait().await;
                    let started = Instant::now();
                    let response = http.post(url).bearer_auth(token).json(&body).send().await.unwrap();
                    // 201 for an account connected afresh, 200 when a later round renews it.
                    assert!(matches!(response.status().as_u16(), 200 | 201), "{}", response.text().await.unwrap());
                    started.elapsed().as_secs_f64() * 1000.0
                });
            }
            while let Some(latency) = tasks.join_next().await {
                latencies.push(latency.unwrap());
            }
        }
        latencies
    }

    async fn prepare_grant(&self, subject: &str, email: &str) -> (String, serde_json::Value) {
        let token = self.token(subject);
        let (attempt, _) = connections_testkit::start_attempt(&self.http, &self.url, "stripe", &token).await;
        let redirect_uri = self.state.redirect_uri("stripe");
        let location = connections_testkit::allow_at_connect(&self.http, &self.standin_url, &redirect_uri, Some(&attempt), email).await;
        let code = &query_of(&location)["code"];
        (token, attempt.grant(code))
    }
}

/// The reference for the list endpoint: axum answering a small JSON body, nothing else.
pub async fn wrk_bare_axum(secs: u32) -> f64 {
    let router = axum::Router::new().route("/", axum::routing::get(|| async { axum::Json(serde_json::json!({ "ok": true })) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    tokio::task::spawn_blocking(move || wrk(&url, &[], secs, false)).await.unwrap()
}

/// The body `GET /api/connections` answers for 100 seeded rows.
pub async fn list_body(site: &Site) -> axum::body::Bytes {
    let instance = spawn(site).await;
    instance.seed(100).await;
    let token = instance.token("bench-body");
    instance.http.get(format!("{}/api/connections", instance.url)).bearer_auth(token).send().await.unwrap().bytes().await.unwrap()
}

/// Bare axum answering `body` as JSON: how much of the list's rate its size alone takes.
pub async fn wrk_bare_axum_body(body: axum::body::Bytes, secs: u32) -> f64 {
    let handler = move || {
        let body = body.clone();
        async move { ([(axum::http::header::CONTENT_TYPE, "application/json")], body) }
    };
    let router = axum::Router::new().route("/", axum::routing::get(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    tokio::task::spawn_blocking(move || wrk(&url, &[], secs, false)).await.unwrap()
}

/// `not_modified`: the answers are meant to be `304`s, which wrk counts as "Non-2xx or 3xx".
fn wrk(url: &str, headers: &[&str], secs: u32, not_modified: bool) -> f64 {
    let mut command = Command::new("wrk");
    command.args(["-t2", "-c32", &format!("-d{secs}s"), url]);
    for header in headers {
        command.args(["-H", header]);
    }
    let output = command.output().expect("wrk is installed (scripts/bench.sh installs it)");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(not_modified || !text.contains("Non-2xx"), "wrk saw errors:\n{text}");
    text.lines()
        .find_map(|line| line.strip_prefix("Requests/sec:").map(|v| v.trim().parse::<f64>().unwrap()))
        .unwrap_or_else(|| panic!("no Requests/sec in wrk's output:\n{text}"))
}
