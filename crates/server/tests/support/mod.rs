//! `spawn_app()`: the real server on a random port with a fresh SQLite database and the Stripe stand-in,
//! and helpers that walk the connect flow the way the SPA does.

#![allow(dead_code)]

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use clap::Parser;
use connections_server::demo::DemoApp;
use connections_server::session::{Claims, SessionKeys};
use connections_server::{pkce, AppState, Args};
use rand::RngCore;
use serde_json::{json, Value};
use stripe_standin::Standin;

pub const SESSION_SECRET: &str = "test-session-secret-that-is-long-enough";
pub const WEBHOOK_SECRET: &str = "whsec_test_webhook_secret";

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

pub struct Attempt {
    pub state: String,
    pub verifier: String,
    pub challenge: String,
}

fn random_b64url(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

pub fn base_args(dir: &std::path::Path, extra: &[&str]) -> Args {
    std::fs::write(dir.join("index.html"), "<!DOCTYPE html><html><head><script type=\"module\">boot()</script></head><body></body></html>").unwrap();
    let db = dir.join("connections.db");
    let mut argv = vec![
        "connections-server".to_owned(),
        "--addr=127.0.0.1:0".to_owned(),
        format!("--database-url=sqlite://{}?mode=rwc", db.display()),
        format!("--session-secret={SESSION_SECRET}"),
        format!("--encryption-key={}", STANDARD.encode([42u8; 32])),
        format!("--static-dir={}", dir.display()),
        format!("--stripe-webhook-secret={WEBHOOK_SECRET}"),
        "--demo".to_owned(),
    ];
    argv.extend(extra.iter().map(|s| s.to_string()));
    Args::try_parse_from(argv).unwrap()
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

pub async fn spawn_app_with(extra: &[&str]) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let args = base_args(dir.path(), extra);
    start(args, None, dir).await
}

async fn start(args: Args, running: Option<(Standin, String)>, dir: tempfile::TempDir) -> TestApp {
    let DemoApp { app, standin, standin_url } = connections_server::demo::launch_with(args.clone(), running).await.expect("app starts");
    let url = format!("http://{}", app.local_addr().unwrap());
    let state = app.state();
    let server = tokio::spawn(app.run());
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    TestApp { args, server, url, standin, standin_url, state, http, db_path: dir.path().join("connections.db"), _dir: dir }
}

pub fn token(role: &str, subject: &str) -> String {
    token_with(SESSION_SECRET, role, subject, chrono::Utc::now().timestamp() + 3600)
}

pub fn token_with(secret: &str, role: &str, subject: &str, exp: i64) -> String {
    let keys = SessionKeys::new(&connections_server::secret::Secret::new(secret.to_owned()));
    keys.sign(&Claims { sub: subject.into(), name: format!("{subject} name"), role: role.into(), exp }).unwrap()
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

    /// What the SPA does on "Connect with Stripe": a fresh state and PKCE pair, registered.
    pub async fn start_attempt(&self, token: &str) -> Attempt {
        let verifier = random_b64url(32);
        let attempt = Attempt { state: random_b64url(32), challenge: pkce::s256_challenge(&verifier), verifier };
        let response = self
            .post(
                "/api/providers/stripe/attempts",
                Some(token),
                &json!({ "state": attempt.state, "code_challenge": attempt.challenge, "code_challenge_method": "S256" }),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        attempt
    }

    /// What the user does at Stripe: sign in and allow. Returns the code from the redirect.
    pub async fn consent_at_stripe(&self, attempt: &Attempt, email: &str) -> String {
        let redirect_uri = self.state.redirect_uri("stripe");
        let response = self
            .http
            .post(format!("{}/oauth/authorize", self.standin_url))
            .form(&[
                ("client_id", connections_server::demo::DEMO_CLIENT_ID),
                ("redirect_uri", &redirect_uri),
                ("scope", "read_only"),
                ("state", &attempt.state),
                ("code_challenge", &attempt.challenge),
                ("code_challenge_method", "S256"),
                ("email", email),
                ("password", stripe_standin::DEMO_PASSWORD),
                ("decision", "allow"),
            ])
            .send()
            .await
            .unwrap();
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        assert!(location.starts_with(&redirect_uri), "{location}");
        let params: std::collections::HashMap<String, String> = url::Url::parse(&location).unwrap().query_pairs().into_owned().collect();
        assert_eq!(params["state"], attempt.state);
        params["code"].clone()
    }

    pub async fn send_grant(&self, token: &str, code: &str, state: &str, verifier: &str) -> reqwest::Response {
        self.post("/api/providers/stripe/grants", Some(token), &json!({ "code": code, "state": state, "code_verifier": verifier }))
            .send()
            .await
            .unwrap()
    }

    /// The whole flow for the demo account with `email`; returns the grant's response body.
    pub async fn connect(&self, token: &str, email: &str) -> Value {
        let attempt = self.start_attempt(token).await;
        let code = self.consent_at_stripe(&attempt, email).await;
        let response = self.send_grant(token, &code, &attempt.state, &attempt.verifier).await;
        assert_eq!(response.status(), 201);
        response.json().await.unwrap()
    }

    pub async fn connections(&self) -> Vec<Value> {
        let body: Value = self.get("/api/connections", Some(&admin())).send().await.unwrap().json().await.unwrap();
        body["connections"].as_array().unwrap().clone()
    }

    /// Every byte SQLite has written: the database file and its write-ahead log.
    pub fn raw_database_bytes(&self) -> Vec<u8> {
        let mut bytes = std::fs::read(&self.db_path).unwrap();
        if let Ok(wal) = std::fs::read(self.db_path.with_extension("db-wal")) {
            bytes.extend(wal);
        }
        bytes
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
