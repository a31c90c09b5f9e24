//! The real `connections-server` binary as a process: bad configuration stops it with a message naming
//! the setting, and a whole connect flow logged at debug level leaves no secret in the log, as text
//! or as JSON lines.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use connections_server::config::parse_encryption_keys;
use connections_server::crypto::TokenCipher;
use serde_json::{json, Value};

use crate::support::{free_port, Attempt};

const BINARY: &str = env!("CARGO_BIN_EXE_connections-server");

fn static_dir(dir: &Path) -> String {
    std::fs::write(dir.join("index.html"), "<!DOCTYPE html><title>Connections</title>").unwrap();
    dir.display().to_string()
}

fn run_with(env: &[(&str, String)]) -> (Option<i32>, String) {
    let mut command = Command::new(BINARY);
    command.env_clear().stdout(Stdio::null()).stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn missing_or_malformed_settings_stop_the_server_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let good = [
        ("CONNECTIONS_ADDR", "127.0.0.1:0".to_owned()),
        ("CONNECTIONS_STATIC_DIR", static_dir(dir.path())),
        ("CONNECTIONS_SESSION_SECRET", "x".repeat(32)),
        ("CONNECTIONS_ENCRYPTION_KEY", base64::engine::general_purpose::STANDARD.encode([1u8; 32])),
        ("STRIPE_CLIENT_ID", "ca_1".to_owned()),
        ("STRIPE_SECRET_KEY", "sk_test_1".to_owned()),
        ("DATABASE_URL", format!("sqlite://{}?mode=rwc", dir.path().join("c.db").display())),
    ];
    let without = |name: &str| good.iter().filter(|(n, _)| *n != name).cloned().collect::<Vec<_>>();
    let with = |name: &'static str, value: &str| {
        let mut env = without(name);
        env.push((name, value.to_owned()));
        env
    };
    for (env, expected) in [
        (without("CONNECTIONS_SESSION_SECRET"), "CONNECTIONS_SESSION_SECRET: is required"),
        (without("STRIPE_SECRET_KEY"), "STRIPE_SECRET_KEY: is required"),
        (with("CONNECTIONS_ENCRYPTION_KEY", "abc"), "CONNECTIONS_ENCRYPTION_KEY: key 1 is not valid base64"),
        (with("STRIPE_TOKEN_URL", "not a url"), "STRIPE_TOKEN_URL:"),
        (with("CONNECTIONS_ADDR", "everywhere"), "CONNECTIONS_ADDR:"),
        (with("CONNECTIONS_METRICS_ADDR", "everywhere"), "CONNECTIONS_METRICS_ADDR:"),
        (with("CONNECTIONS_LOG_FORMAT", "xml"), "CONNECTIONS_LOG_FORMAT: \"xml\" must be text or json"),
        // Never started without its Content-Security-Policy.
        (with("CONNECTIONS_FRAME_ANCESTORS", "https://pörtal.example"), "CONNECTIONS_FRAME_ANCESTORS:"),
    ] {
        let (code, stderr) = run_with(&env);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stderr.contains(expected), "expected {expected:?} in {stderr:?}");
        assert!(!stderr.contains("sk_test_1") && !stderr.contains(&"x".repeat(32)), "a secret in the error: {stderr}");
    }
}

#[test]
fn demo_mode_refuses_to_start_with_production_settings() {
    let dir = tempfile::tempdir().unwrap();
    for (name, value) in [
        ("DATABASE_URL", format!("sqlite://{}?mode=rwc", dir.path().join("prod.db").display())),
        ("CONNECTIONS_SESSION_SECRET", "p".repeat(32)),
        ("STRIPE_SECRET_KEY", "sk_live_1".to_owned()),
        ("CONNECTIONS_PUBLIC_URL", "https://connections.example.com".to_owned()),
    ] {
        let env = [("CONNECTIONS_DEMO", "true".to_owned()), ("CONNECTIONS_ADDR", "127.0.0.1:0".to_owned()), (name, value)];
        let (code, stderr) = run_with(&env);
        assert_eq!(code, Some(2), "{name}: {stderr}");
        assert!(stderr.contains("CONNECTIONS_DEMO refused"), "{name}: {stderr}");
        assert!(!stderr.contains(&"p".repeat(32)) && !stderr.contains("sk_live_1"), "a secret in the error: {stderr}");
    }
}

#[tokio::test]
async fn a_whole_flow_logged_at_debug_level_leaves_no_secret_in_the_log() {
    flow_logged_without_secrets("text").await;
}

/// The same flow with `CONNECTIONS_LOG_FORMAT=json`: every line is a JSON object (but the demo's
/// banner for people), without a secret, and the request id answered in `x-request-id` is on the
/// lines of that request, the grant's own task included. The probes are not logged at info level.
#[tokio::test]
async fn a_whole_flow_logged_as_json_lines_leaves_no_secret_and_carries_the_request_id() {
    let (log, grant_request_id) = flow_logged_without_secrets("json").await;
    let mut lines = Vec::new();
    for line in log.lines().filter(|line| !line.is_empty() && !line.starts_with("  ")) {
        let line: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        assert!(line["timestamp"].is_string() && line["level"].is_string() && line["target"].is_string(), "{line}");
        lines.push(line);
    }
    let of_grant = |message: &str| lines.iter().any(|l| l["message"] == message && l["span"]["request_id"] == grant_request_id.as_str());
    assert!(of_grant("finished processing request"), "the grant's request line carries its id:\n{log}");
    assert!(of_grant("connected"), "the grant task's line carries the request's id:\n{log}");
    let probe_at_info = lines.iter().find(|l| l["level"] == "INFO" && l["span"]["path"] == "/healthz");
    assert!(probe_at_info.is_none(), "{probe_at_info:?}");
    assert!(lines.iter().any(|l| l["level"] == "DEBUG" && l["span"]["path"] == "/healthz"), "at debug level they are");
}

/// The binary in demo mode in `dir`, logging at debug level to `server.log` there, answering.
struct DemoProcess {
    server: tokio::process::Child,
    base: String,
    log_path: std::path::PathBuf,
}

async fn start_demo(dir: &Path, args: &[String], env: &[(&str, &str)]) -> DemoProcess {
    let log_path = dir.join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let server = tokio::process::Command::new(BINARY)
        .arg("--demo")
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("CONNECTIONS_ADDR", format!("127.0.0.1:{port}"))
        .env("CONNECTIONS_STATIC_DIR", static_dir(dir))
        .env("RUST_LOG", "debug")
        .envs(env.iter().copied())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let started = Instant::now();
    while http.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "the server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    DemoProcess { server, base, log_path }
}

/// Runs a whole connect flow against the binary logging at debug level in `format`, and checks the
/// log for every secret of it. Answers the log and the grant's request id.
async fn flow_logged_without_secrets(format: &str) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let DemoProcess { mut server, base, log_path } = start_demo(dir.path(), &[], &[("CONNECTIONS_LOG_FORMAT", format)]).await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();

    let signed_in = http.post(format!("{base}/api/demo/session")).json(&json!({ "role": "admin" })).send().await.unwrap();
    let cookie = signed_in.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let attempt = Attempt::new();
    let response = http.post(format!("{base}/api/providers/stripe/attempts")).header("cookie", &cookie).json(&attempt.body()).send().await.unwrap();
    assert_eq!(response.status(), 201);
    // The demo's Stripe is a Stripe App: its install link, then the stand-in's sign-in form.
    let started: Value = response.json().await.unwrap();
    let authorize = url::Url::parse(started["authorize_url"].as_str().unwrap()).unwrap();
    let callback = connections_testkit::allow_at(&http, &authorize, provider_standin::DEMO_EMAIL).await;
    let params: HashMap<String, String> = url::Url::parse(&callback).unwrap().query_pairs().into_owned().collect();
    let code = params["code"].clone();
    // The browser loads the callback page with the code in its query string.
    assert_eq!(http.get(&callback).send().await.unwrap().status(), 200);
    let response = http.post(format!("{base}/api/providers/stripe/grants")).header("cookie", &cookie).json(&attempt.grant(&code)).send().await.unwrap();
    assert_eq!(response.status(), 201);
    let grant_request_id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    server.kill().await.unwrap();

    // The tokens as stored, decrypted with the demo's key.
    let demo = dir.path().join(".demo");
    let cipher = TokenCipher::new(&parse_encryption_keys(std::fs::read_to_string(demo.join("encryption.key")).unwrap().trim()).unwrap());
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", demo.join("connections.db").display())).await.unwrap();
    let (access, refresh): (Vec<u8>, Vec<u8>) = sqlx::query_as("SELECT access_token, refresh_token FROM connections").fetch_one(&pool).await.unwrap();
    let account = "stripe:acct_1DemoAcmeBooks00";
    let access = cipher.decrypt(&access, &format!("{account}:access")).unwrap().expose().clone();
    let refresh = cipher.decrypt(&refresh, &format!("{account}:refresh")).unwrap().expose().clone();
    let session_secret = std::fs::read_to_string(demo.join("session.secret")).unwrap();
    let jwt = cookie.trim_start_matches("connections_session=").to_owned();

    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("connected"), "the flow was logged at all:\n{log}");
    for (what, secret) in [
        ("access token", access.as_str()),
        ("refresh token", refresh.as_str()),
        ("authorization code", code.as_str()),
        ("PKCE verifier", attempt.verifier.as_str()),
        ("platform secret key", connections_server::demo::DEMO_SECRET_KEY),
        ("session secret", session_secret.trim()),
        ("session token", jwt.as_str()),
    ] {
        assert!(!log.contains(secret), "the {what} is in the log");
    }
    (log, grant_request_id)
}

/// A panic must end one request, not the process with every grant in flight: the production
/// profile unwinds, and the README's production command uses it.
#[test]
fn the_production_build_unwinds_on_panic_and_the_readme_builds_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let manifest: toml::Table = std::fs::read_to_string(root.join("Cargo.toml")).unwrap().parse().unwrap();
    let profile = &manifest["profile"]["server-release"];
    assert_eq!(profile["panic"].as_str(), Some("unwind"), "{profile:?}");
    assert_eq!(profile["inherits"].as_str(), Some("release"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(readme.contains("cargo build --profile server-release -p connections-server"));
    assert!(!readme.contains("cargo build --release -p connections-server"), "the release profile aborts on panic");
}

/// Pasted keys at debug level: a wrong key refused, a good one stored, one through a connect link,
/// a Stripe restricted key, and one handed to a sync job by the service API. None of them (nor the
/// link's token) is in any log line.
#[tokio::test]
async fn pasted_keys_are_in_no_log_line() {
    let dir = tempfile::tempdir().unwrap();
    let providers = dir.path().join("providers.toml");
    std::fs::write(&providers, crate::keys::KEYS_FILE).unwrap();
    let args = [format!("--providers={}", providers.display()), crate::service_api::service_keys_arg()];
    let DemoProcess { mut server, base, log_path } = start_demo(dir.path(), &args, &[]).await;
    let http = reqwest::Client::new();
    // The stand-in's address, from the demo's banner.
    let banner = std::fs::read_to_string(&log_path).unwrap();
    let standin = banner.split_whitespace().find_map(|word| word.strip_suffix("/standin")).expect("the banner names the stand-in").to_owned();
    let control = |path: &str, body: Value| {
        let http = http.clone();
        let url = format!("{standin}/standin/api/{path}");
        async move { http.post(url).json(&body).send().await.unwrap().json::<Value>().await.unwrap()["key"].as_str().unwrap().to_owned() }
    };
    let signed_in = http.post(format!("{base}/api/demo/session")).json(&json!({ "role": "admin" })).send().await.unwrap();
    let cookie = signed_in.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let paste = |provider: &str, key: &str| http.post(format!("{base}/api/providers/{provider}/keys")).header("cookie", &cookie).json(&json!({ "key": key }));

    let wrong = "pl_WrongKeyWrongKeyWrongKey1";
    assert_eq!(paste("pipeline", wrong).send().await.unwrap().status(), 422);
    let good = control("keyed/pipeline/keys", json!({ "account": "pl-3001" })).await;
    let stored: Value = paste("pipeline", &good).send().await.unwrap().json().await.unwrap();
    let stripe = control("stripe-keys", json!({ "account": "acct_1DemoAcmeBooks00", "mode": "test", "kind": "restricted" })).await;
    assert_eq!(paste("stripe-key", &stripe).send().await.unwrap().status(), 201);

    let link = http
        .post(format!("{base}/api/connect-links"))
        .header("cookie", &cookie)
        .json(&json!({ "provider": "pipeline", "expires_in_secs": 3600 }))
        .send()
        .await
        .unwrap();
    assert_eq!(link.status(), 201);
    let link: Value = link.json().await.unwrap();
    let link_token = link["url"].as_str().unwrap().rsplit_once("/connect/").unwrap().1.to_owned();
    // Refused through the link first: the failure is audited and logged, without the key.
    let wrong_through_link = "pl_LinkWrongKeyLinkWrongKey2";
    let refused = http.post(format!("{base}/api/link/keys")).json(&json!({ "token": link_token, "key": wrong_through_link })).send().await.unwrap();
    assert_eq!(refused.status(), 422);
    let through_link = control("keyed/pipeline/keys", json!({ "account": "pl-3002" })).await;
    let linked = http.post(format!("{base}/api/link/keys")).json(&json!({ "token": link_token, "key": through_link })).send().await.unwrap();
    assert_eq!(linked.status(), 201);

    let handed = http
        .post(format!("{base}/service/v1/connections/{}/access-token", stored["id"].as_str().unwrap()))
        .bearer_auth(crate::service_api::SERVICE_KEY)
        .send()
        .await
        .unwrap();
    let handed: Value = handed.json().await.unwrap();
    assert_eq!(handed["access_token"], good.as_str(), "the sync job gets the key");
    server.kill().await.unwrap();

    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("connected with a key"), "the keys' connections were logged at all:\n{log}");
    for (what, secret) in [
        ("refused key", wrong),
        ("stored key", good.as_str()),
        ("Stripe key", stripe.as_str()),
        ("key refused through the link", wrong_through_link),
        ("link's key", through_link.as_str()),
        ("link token", link_token.as_str()),
    ] {
        assert!(!log.contains(secret), "the {what} is in the log");
    }
}
