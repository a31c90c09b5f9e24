//! Property tests standing in for fuzzing (cargo fuzz needs a nightly toolchain this project can't
//! fetch). Arbitrary request bodies against the real server must answer 4xx problem+json, never a 5xx.
//! Run longer with e.g. `PROPTEST_CASES=5000 cargo test -p connections-server --test integration -- fuzz::`.

use crate::support;

use proptest::prelude::*;
use serde_json::json;
use support::{admin, spawn_app_with, TestApp};

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap())
}

fn app() -> &'static TestApp {
    static APP: std::sync::OnceLock<TestApp> = std::sync::OnceLock::new();
    APP.get_or_init(|| runtime().block_on(spawn_app_with(&["--rate-limit-per-minute=100000"])))
}

fn post_raw(path: &str, body: Vec<u8>) -> (u16, String, String) {
    let app = app();
    runtime().block_on(async {
        let response =
            app.http.post(format!("{}{path}", app.url)).bearer_auth(admin()).header("content-type", "application/json").body(body).send().await.unwrap();
        let status = response.status().as_u16();
        let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        (status, content_type, response.text().await.unwrap())
    })
}

fn assert_client_error(path: &str, body: Vec<u8>) {
    let (status, content_type, text) = post_raw(path, body);
    assert!((400..500).contains(&status), "{path} answered {status}: {text}");
    assert_eq!(content_type, "application/problem+json", "{path}: {text}");
}

/// Strings that look like the fields' real values, and strings that don't.
fn field() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        "[A-Za-z0-9_-]{0,140}".prop_map(serde_json::Value::from),
        any::<String>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        Just(serde_json::Value::Null),
        Just(json!([])),
        Just(json!({})),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_are_refused_cleanly(body in proptest::collection::vec(any::<u8>(), 0..600)) {
        assert_client_error("/api/providers/stripe/grants", body.clone());
        assert_client_error("/api/providers/stripe/attempts", body);
    }

    #[test]
    fn arbitrary_grant_bodies_are_refused_cleanly(code in field(), state in field(), verifier in field()) {
        let body = json!({ "code": code, "state": state, "code_verifier": verifier });
        assert_client_error("/api/providers/stripe/grants", serde_json::to_vec(&body).unwrap());
    }

    #[test]
    fn arbitrary_attempt_bodies_are_refused_or_accepted_never_failed(state in field(), challenge in field(), method in field()) {
        let body = json!({ "state": state, "code_challenge": challenge, "code_challenge_method": method });
        let (status, _, text) = post_raw("/api/providers/stripe/attempts", serde_json::to_vec(&body).unwrap());
        prop_assert!(status == 201 || (400..500).contains(&status), "{} {}", status, text);
    }

    #[test]
    fn arbitrary_demo_sign_in_bodies_are_refused_cleanly(role in field()) {
        let body = serde_json::to_vec(&json!({ "role": role })).unwrap();
        let (status, _, text) = post_raw("/api/demo/session", body);
        prop_assert!(status < 500, "{} {}", status, text);
    }
}
