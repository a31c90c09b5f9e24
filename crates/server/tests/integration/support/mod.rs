//! `spawn_app()`: the real server on a random port with a fresh SQLite database and the Stripe stand-in,
//! and helpers that walk the connect flow the way the SPA does.

#![allow(dead_code)]

use connections_server::session::Claims;
use connections_server::{AppState, Args};
use connections_testkit::flow::query_of;
pub use connections_testkit::flow::Attempt;
pub use connections_testkit::free_port;
use provider_standin::Standin;
use serde_json::{json, Value};

pub const SESSION_SECRET: &str = "test-session-secret-that-is-long-enough";
pub const WEBHOOK_SECRET: &str = "whsec_test_webhook_secret";
/// The workspace `token()` signs sessions for.
pub const WORKSPACE: &str = "acme";

/// The bound on a change made through another instance showing in a list (250 ms on SQLite, a
/// notification's delivery on PostgreSQL), with room for a loaded machine.
pub const ANOTHER_INSTANCE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(3);

pub struct TestApp {
    pub args: Args,
    pub server: tokio::task::JoinHandle<std::io::Result<()>>,
    pub url: String,
    pub standin: Standin,
    pub standin_url: String,
    pub state: AppState,
    pub http: reqwest::Client,
    pub db_path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

/// A fresh database for one test: a SQLite file in `dir`, or, with `TEST_DATABASE_URL=postgres://…`
/// (an account that may create databases), a new PostgreSQL database on that server.
pub async fn fresh_database_url(dir: &std::path::Path) -> String {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(admin_url) if admin_url.starts_with("postgres") => {
            sqlx::any::install_default_drivers();
            let name = format!("connections_test_{}", uuid::Uuid::new_v4().simple());
            let mut admin = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin_url).await.expect("TEST_DATABASE_URL reachable");
            sqlx::Executor::execute(&mut admin, format!("CREATE DATABASE {name}").as_str()).await.unwrap();
            let mut url = url::Url::parse(&admin_url).unwrap();
            url.set_path(&name);
            url.to_string()
        }
        _ => format!("sqlite://{}?mode=rwc", dir.join("connections.db").display()),
    }
}

pub fn is_postgres() -> bool {
    std::env::var("TEST_DATABASE_URL").is_ok_and(|url| url.starts_with("postgres"))
}

pub fn base_args(dir: &std::path::Path, database_url: &str, extra: &[&str]) -> Args {
    std::fs::write(dir.join("index.html"), "<!DOCTYPE html><html><head><script type=\"module\">boot()</script></head><body></body></html>").unwrap();
    // A Stripe App with a client per mode has each mode's webhook secret instead of the one.
    let per_mode = extra.iter().any(|arg| ["--stripe-live-", "--stripe-test-", "--stripe-sandbox-"].iter().any(|mode| arg.starts_with(mode)));
    let mut argv = if per_mode { Vec::new() } else { vec![format!("--stripe-webhook-secret={WEBHOOK_SECRET}")] };
    // The suites written for Connect OAuth stay on it; Stripe Apps and generic sources ask for theirs.
    if !extra.iter().any(|arg| arg.starts_with("--stripe-oauth") || arg.starts_with("--providers")) {
        argv.push("--stripe-oauth=connect".to_owned());
    }
    argv.extend(extra.iter().map(|s| s.to_string()));
    connections_testkit::demo_args(database_url, dir, SESSION_SECRET, [42u8; 32], &argv)
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

pub async fn spawn_app_with(extra: &[&str]) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database_url(dir.path()).await;
    let args = base_args(dir.path(), &database_url, extra);
    start(args, None, dir).await
}

/// Like [`spawn_app_with`], configured by a providers file with this text. The file is in the test's
/// own folder, so it is removed with the app, and outlives it for a second instance.
pub async fn spawn_app_with_providers(providers: &str, extra: &[&str]) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("providers.toml");
    std::fs::write(&file, providers).unwrap();
    let providers = format!("--providers={}", file.display());
    let extra: Vec<&str> = std::iter::once(providers.as_str()).chain(extra.iter().copied()).collect();
    let database_url = fresh_database_url(dir.path()).await;
    let args = base_args(dir.path(), &database_url, &extra);
    start(args, None, dir).await
}

/// Like [`spawn_app_with`], but the server shuts down (as on SIGTERM) when the answered sender is
/// used or dropped; its `server` task then ends once what was in flight is finished.
pub async fn spawn_app_stopped_by(extra: &[&str]) -> (TestApp, tokio::sync::oneshot::Sender<()>) {
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database_url(dir.path()).await;
    let args = base_args(dir.path(), &database_url, extra);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        let _ = stopped.await;
    };
    let _ = tracing_subscriber::fmt().with_env_filter("warn").with_test_writer().try_init();
    let connections_testkit::Running { url, state, standin, standin_url, server, .. } = connections_testkit::spawn_until(args.clone(), None, shutdown).await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    (TestApp { args, server, url, standin, standin_url, state, http, db_path: dir.path().join("connections.db"), _dir: dir }, stop)
}

/// A second server instance on the same database and stand-in, as behind a load balancer.
pub async fn spawn_second_instance(first: &TestApp) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut args = first.args.clone();
    args.addr = "127.0.0.1:0".into();
    args.static_dir = {
        std::fs::write(dir.path().join("index.html"), "<!DOCTYPE html>").unwrap();
        dir.path().display().to_string()
    };
    start(args, Some((first.standin.clone(), first.standin_url.clone())), dir).await
}

async fn start(args: Args, running: Option<(Standin, String)>, dir: tempfile::TempDir) -> TestApp {
    // Server logs go to the test's captured output: shown only when the test fails.
    let _ = tracing_subscriber::fmt().with_env_filter("warn").with_test_writer().try_init();
    let connections_testkit::Running { url, state, standin, standin_url, server, .. } = connections_testkit::spawn(args.clone(), running).await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    TestApp { args, server, url, standin, standin_url, state, http, db_path: dir.path().join("connections.db"), _dir: dir }
}

pub fn token(role: &str, subject: &str) -> String {
    token_with(SESSION_SECRET, role, subject, chrono::Utc::now().timestamp() + 3600)
}

pub fn token_with(secret: &str, role: &str, subject: &str, exp: i64) -> String {
    sign(secret, Claims { exp, ..Claims::new(subject, &format!("{subject} name"), role, WORKSPACE, 0) })
}

/// A session of another workspace.
pub fn token_in(workspace: &str, role: &str, subject: &str) -> String {
    sign(SESSION_SECRET, Claims::new(subject, &format!("{subject} name"), role, workspace, 3600))
}

pub fn sign(secret: &str, claims: Claims) -> String {
    connections_testkit::sign(secret, &claims)
}

pub fn admin() -> String {
    token("admin", "admin-1")
}

impl TestApp {
    /// Stops the server and starts a new one on the same address, database and stand-in, with
    /// `change` applied to its settings (e.g. a rotated key). Nothing is carried over in memory.
    pub async fn restart(self, change: impl FnOnce(&mut Args)) -> TestApp {
        let TestApp { mut args, server, url, standin, standin_url, _dir, .. } = self;
        server.abort();
        let _ = server.await;
        args.addr = url.trim_start_matches("http://").to_owned();
        change(&mut args);
        start(args, Some((standin, standin_url)), _dir).await
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let request = self.http.get(format!("{}{path}", self.url));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    pub fn post(&self, path: &str, token: Option<&str>, body: &Value) -> reqwest::RequestBuilder {
        let request = self.http.post(format!("{}{path}", self.url)).json(body);
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// What the SPA does on "Connect with …" for `provider`: a fresh state and PKCE pair, registered.
    /// Answers the attempt and the authorize URL the server built for it.
    pub async fn start_attempt_for(&self, provider: &str, token: &str) -> (Attempt, url::Url) {
        let (attempt, body) = connections_testkit::start_attempt(&self.http, &self.url, provider, token).await;
        let url = url::Url::parse(body["authorize_url"].as_str().unwrap()).unwrap();
        (attempt, url)
    }

    /// What the user does at the provider's authorize page: sign in and allow. The page's form posts
    /// back what the page was given, plus the decision. Answers the redirect's parameters.
    pub async fn authorize_at(&self, authorize_url: &url::Url, email: &str) -> std::collections::HashMap<String, String> {
        query_of(&connections_testkit::allow_at(&self.http, authorize_url, email).await)
    }

    pub async fn send_grant_for(&self, provider: &str, token: &str, code: &str, state: &str, verifier: &str) -> reqwest::Response {
        self.post(&format!("/api/providers/{provider}/grants"), Some(token), &json!({ "code": code, "state": state, "code_verifier": verifier }))
            .send()
            .await
            .unwrap()
    }

    /// The whole flow at `provider` for the account with `email`; answers the grant's status and body.
    pub async fn connect_to(&self, provider: &str, token: &str, email: &str) -> (u16, Value) {
        let (attempt, url) = self.start_attempt_for(provider, token).await;
        let params = self.authorize_at(&url, email).await;
        assert_eq!(params.get("state"), Some(&attempt.state), "{params:?}");
        let response = self.send_grant_for(provider, token, &params["code"], &attempt.state, &attempt.verifier).await;
        (response.status().as_u16(), response.json().await.unwrap())
    }

    /// The stored connection of a provider account.
    pub async fn record(&self, provider: &str, account_id: &str) -> connections_server::storage::ConnectionRecord {
        self.state.db.connection_by_account(WORKSPACE, provider, account_id).await.unwrap().expect("connection stored")
    }

    /// What the SPA does on "Connect with Stripe": a fresh state and PKCE pair, registered.
    pub async fn start_attempt(&self, token: &str) -> Attempt {
        connections_testkit::start_attempt(&self.http, &self.url, "stripe", token).await.0
    }

    /// What the user does at Stripe: sign in and allow. Returns the code from the redirect.
    pub async fn consent_at_stripe(&self, attempt: &Attempt, email: &str) -> String {
        let params = self.consent(Some(attempt), email).await;
        assert_eq!(params["state"], attempt.state);
        params["code"].clone()
    }

    /// Signs in at the stand-in and allows; with no attempt, as a user who began at Stripe (no
    /// `state`, no PKCE). Answers the parameters of the redirect back.
    pub async fn consent(&self, attempt: Option<&Attempt>, email: &str) -> std::collections::HashMap<String, String> {
        let redirect_uri = self.state.redirect_uri("stripe");
        let location = connections_testkit::allow_at_connect(&self.http, &self.standin_url, &redirect_uri, attempt, email).await;
        assert!(location.starts_with(&redirect_uri), "{location}");
        query_of(&location)
    }

    pub async fn send_grant(&self, token: &str, code: &str, state: &str, verifier: &str) -> reqwest::Response {
        self.post("/api/providers/stripe/grants", Some(token), &json!({ "code": code, "state": state, "code_verifier": verifier })).send().await.unwrap()
    }

    /// The whole flow for the demo account with `email`; returns the grant's response body.
    pub async fn connect(&self, token: &str, email: &str) -> Value {
        let attempt = self.start_attempt(token).await;
        let code = self.consent_at_stripe(&attempt, email).await;
        let response = self.send_grant(token, &code, &attempt.state, &attempt.verifier).await;
        // 201 for a new connection, 200 when it renewed one of the same account.
        assert!(matches!(response.status().as_u16(), 200 | 201), "{}", response.status());
        response.json().await.unwrap()
    }

    pub async fn connections(&self) -> Vec<Value> {
        let body: Value = self.get("/api/connections", Some(&admin())).send().await.unwrap().json().await.unwrap();
        body["connections"].as_array().unwrap().clone()
    }

    /// The list once `shows` holds for it: a change made through another instance shows within a
    /// bound (README, "Several instances"), not at once. Fails after [`ANOTHER_INSTANCE_DEADLINE`].
    pub async fn connections_once(&self, what: &str, shows: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = std::time::Instant::now() + ANOTHER_INSTANCE_DEADLINE;
        loop {
            let list = self.connections().await;
            if shows(&list) {
                return list;
            }
            assert!(std::time::Instant::now() < deadline, "{what}: not in the list after {ANOTHER_INSTANCE_DEADLINE:?}: {list:?}");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// The stored (still encrypted) access token of a provider account, if it has one.
    pub async fn stored_access_token(&self, account_id: &str) -> Option<Vec<u8>> {
        self.state.db.connection_by_account(WORKSPACE, "stripe", account_id).await.unwrap().and_then(|record| record.access_token)
    }

    /// Runs SQL straight on the test's database, under the API.
    pub async fn sql(&self, statement: &str) {
        sqlx::Executor::execute(self.state.db.pool(), statement).await.unwrap();
    }

    /// Makes every `operation` (INSERT or UPDATE) on `table` fail, as a full disk would.
    pub async fn fail_writes(&self, table: &str, operation: &str) {
        if is_postgres() {
            self.sql("CREATE OR REPLACE FUNCTION refuse_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$").await;
            self.sql(&format!("CREATE TRIGGER refuse_{table} BEFORE {operation} ON {table} FOR EACH ROW EXECUTE FUNCTION refuse_write()")).await;
        } else {
            self.sql(&format!("CREATE TRIGGER refuse_{table} BEFORE {operation} ON {table} BEGIN SELECT RAISE(ABORT, 'disk full'); END")).await;
        }
    }

    pub async fn allow_writes(&self, table: &str) {
        let on = if is_postgres() { format!(" ON {table}") } else { String::new() };
        self.sql(&format!("DROP TRIGGER refuse_{table}{on}")).await;
    }

    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(self.state.db.pool()).await.unwrap()
    }

    /// Whether `needle` is stored anywhere in plain text. On SQLite: every byte of the database file
    /// and its write-ahead log. On PostgreSQL: every value of every table (bytea included).
    pub async fn stored_in_plain_text(&self, needle: &str) -> bool {
        if is_postgres() {
            let found: i64 = sqlx::query_scalar(
                "SELECT (SELECT COUNT(*) FROM connections WHERE position(convert_to($1, 'UTF8') IN COALESCE(access_token, '')) > 0
                            OR position(convert_to($1, 'UTF8') IN COALESCE(refresh_token, '')) > 0 OR strpos(connections::text, $1) > 0)
                      + (SELECT COUNT(*) FROM pending_installs WHERE position(convert_to($1, 'UTF8') IN access_token) > 0)
                      + (SELECT COUNT(*) FROM connection_events WHERE strpos(connection_events::text, $1) > 0)",
            )
            .bind(needle)
            .fetch_one(self.state.db.pool())
            .await
            .unwrap();
            found > 0
        } else {
            let mut bytes = std::fs::read(&self.db_path).unwrap();
            if let Ok(wal) = std::fs::read(self.db_path.with_extension("db-wal")) {
                bytes.extend(wal);
            }
            bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
        }
    }
}

pub async fn assert_problem(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status);
    body
}
