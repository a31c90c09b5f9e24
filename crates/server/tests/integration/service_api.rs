//! The service API (`/service/v1/`) for the product's own backends: service keys only, fresh tokens
//! with one renewal however many ask, cursor pages, and an OpenAPI description that matches the
//! real routes.

use crate::support;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use support::{admin, assert_problem, spawn_app_with, spawn_second_instance, TestApp};

const APPS: &str = "--stripe-oauth=apps";
const ACME: &str = "acct_1DemoAcmeBooks00";
pub const SERVICE_KEY: &str = "svc_test_0123456789abcdef0123456789abcdef";

pub fn service_keys_arg() -> String {
    let digest = hex::encode(Sha256::digest(SERVICE_KEY.as_bytes()));
    format!("--service-keys=sync-jobs={digest}")
}

fn service(app: &TestApp, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
    app.http.request(method, format!("{}{path}", app.url)).bearer_auth(SERVICE_KEY)
}

async fn access_token(app: &TestApp, id: &str) -> reqwest::Response {
    service(app, reqwest::Method::POST, &format!("/service/v1/connections/{id}/access-token")).send().await.unwrap()
}

/// The stored token expires now, and Stripe (the stand-in) agrees it has.
async fn expire_stored_token(app: &TestApp) {
    app.sql(&format!("UPDATE connections SET access_expires_at = {}", chrono::Utc::now().timestamp() - 10)).await;
    app.standin.advance_clock(3601);
}

#[tokio::test]
async fn a_service_key_reads_a_fresh_token_once_renewed_for_twenty_callers_at_once() {
    let keys = service_keys_arg();
    let app = spawn_app_with(&[APPS, &keys]).await;
    let (status, connection) = app.connect_to("stripe", &admin(), provider_standin::DEMO_EMAIL).await;
    assert_eq!(status, 201, "{connection}");
    let id = connection["id"].as_str().unwrap().to_owned();

    // Before expiry: the stored token, not renewed.
    let first: Value = access_token(&app, &id).await.json().await.unwrap();
    assert_eq!((first["renewed"].as_bool(), first["token_type"].as_str()), (Some(false), Some("bearer")));
    assert_eq!(first["credential_type"], "oauth2_bearer");
    assert!(first.get("key_placement").is_none());

    expire_stored_token(&app).await;
    assert!(!app.standin.token_is_active(first["access_token"].as_str().unwrap()));
    let before = app.standin.apps_token_requests();
    let answers = futures_util::future::join_all((0..20).map(|_| access_token(&app, &id))).await;
    let mut tokens = Vec::new();
    for answer in answers {
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.headers()["cache-control"], "no-store");
        let body: Value = answer.json().await.unwrap();
        tokens.push(body["access_token"].as_str().unwrap().to_owned());
        let expires_at = chrono::DateTime::parse_from_rfc3339(body["expires_at"].as_str().unwrap()).unwrap();
        assert!(expires_at.timestamp() > chrono::Utc::now().timestamp() + 3000, "a fresh hour: {body}");
    }
    assert_eq!(app.standin.apps_token_requests() - before, 1, "one renewal for twenty callers");
    tokens.dedup();
    assert_eq!(tokens.len(), 1, "everyone got the renewed token");
    assert!(app.standin.token_is_active(&tokens[0]));

    // Each read is in the audit trail, by key name, without the token.
    let detail: Value = app.get(&format!("/api/connections/{id}"), Some(&admin())).send().await.unwrap().json().await.unwrap();
    let reads: Vec<&Value> = detail["history"].as_array().unwrap().iter().filter(|e| e["action"] == "token_read").collect();
    assert_eq!(reads.len(), 21);
    assert!(reads.iter().all(|e| e["actor"] == "sync-jobs"));
    assert!(!detail.to_string().contains(&tokens[0]), "no token in the trail");
}

#[tokio::test]
async fn two_instances_renew_once_for_twenty_callers_split_between_them() {
    let keys = service_keys_arg();
    let first = spawn_app_with(&[APPS, &keys]).await;
    let second = spawn_second_instance(&first).await;
    let (_, connection) = first.connect_to("stripe", &admin(), provider_standin::DEMO_EMAIL).await;
    let id = connection["id"].as_str().unwrap().to_owned();
    expire_stored_token(&first).await;
    let before = first.standin.apps_token_requests();
    let answers = futures_util::future::join_all((0..20).map(|i| access_token(if i % 2 == 0 { &first } else { &second }, &id))).await;
    let mut tokens = Vec::new();
    for answer in answers {
        assert_eq!(answer.status(), 200);
        tokens.push(answer.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned());
    }
    assert_eq!(first.standin.apps_token_requests() - before, 1, "one renewal across both instances");
    tokens.dedup();
    assert_eq!(tokens.len(), 1);
    assert!(first.standin.token_is_active(&tokens[0]));
}

#[tokio::test]
async fn wrong_missing_and_browser_requests_are_refused() {
    let keys = service_keys_arg();
    let app = spawn_app_with(&[&keys, "--embed-urls=http://localhost:9999/admin/connections"]).await;
    let connection = app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    let path = format!("/service/v1/connections/{}/access-token", connection["id"].as_str().unwrap());
    let url = format!("{}{path}", app.url);

    assert_problem(app.http.post(&url).send().await.unwrap(), 401, "unauthenticated").await;
    assert_problem(app.http.post(&url).bearer_auth("svc_wrong").send().await.unwrap(), 401, "unauthenticated").await;
    // The digest configured is not a key.
    let digest = service_keys_arg().rsplit('=').next().unwrap().to_owned();
    assert_problem(app.http.post(&url).bearer_auth(&digest).send().await.unwrap(), 401, "unauthenticated").await;
    // An administrator's session is not a service key, as a bearer token or as the cookie.
    assert_problem(app.http.post(&url).bearer_auth(admin()).send().await.unwrap(), 401, "unauthenticated").await;
    let with_cookie = app.http.post(&url).bearer_auth(SERVICE_KEY).header("cookie", format!("connections_session={}", admin()));
    assert_problem(with_cookie.send().await.unwrap(), 403, "browser_context").await;
    // A page that learnt a key still cannot use it: browsers send Origin or Sec-Fetch-Site.
    let from_page = app.http.post(&url).bearer_auth(SERVICE_KEY).header("origin", "http://localhost:9999");
    assert_problem(from_page.send().await.unwrap(), 403, "browser_context").await;
    let navigated = app
        .http
        .get(format!("{}/service/v1/connections", app.url))
        .bearer_auth(SERVICE_KEY)
        .header("sec-fetch-site", "none")
        .header("sec-fetch-mode", "navigate");
    assert_problem(navigated.send().await.unwrap(), 403, "browser_context").await;
    // No CORS grant, even for the embedding host the admin API allows.
    let preflight = app
        .http
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", "http://localhost:9999")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    assert!(preflight.headers().get("access-control-allow-origin").is_none(), "{:?}", preflight.headers());
    let admin_preflight = app
        .http
        .request(reqwest::Method::OPTIONS, format!("{}/api/connections", app.url))
        .header("origin", "http://localhost:9999")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert!(admin_preflight.headers().get("access-control-allow-origin").is_some(), "the admin API is granted to the host");
    // And the key opens nothing of the admin API.
    assert_problem(app.get("/api/connections", Some(SERVICE_KEY)).send().await.unwrap(), 401, "unauthenticated").await;
    // Without any configured key, nobody gets in.
    let closed = spawn_app_with(&[]).await;
    let response = closed.http.get(format!("{}/service/v1/connections", closed.url)).bearer_auth(SERVICE_KEY).send().await.unwrap();
    assert_problem(response, 401, "unauthenticated").await;
}

#[tokio::test]
async fn connections_are_listed_across_workspaces_a_page_at_a_time_with_filters() {
    let keys = service_keys_arg();
    let app = spawn_app_with(&[&keys]).await;
    app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    app.connect(&admin(), "finance@globex.test").await;
    app.connect(&support::token_in("globex", "admin", "g-admin"), provider_standin::DEMO_EMAIL).await;

    let mut seen = Vec::new();
    let mut path = "/service/v1/connections?limit=1".to_owned();
    loop {
        let page: Value = service(&app, reqwest::Method::GET, &path).send().await.unwrap().json().await.unwrap();
        assert_eq!(page["data"].as_array().unwrap().len(), 1);
        let item = &page["data"][0];
        assert!(item.as_object().unwrap().keys().all(|k| !k.contains("token")), "{item}");
        seen.push((item["workspace"].as_str().unwrap().to_owned(), item["account_id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/service/v1/connections?limit=1&cursor={cursor}"),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(seen, [("acme".into(), ACME.to_owned()), ("acme".into(), "acct_1DemoGlobexCorp0".into()), ("globex".into(), ACME.to_owned())]);

    let only_globex: Value =
        service(&app, reqwest::Method::GET, "/service/v1/connections?org=globex&provider=stripe&status=connected").send().await.unwrap().json().await.unwrap();
    assert_eq!(only_globex["data"].as_array().unwrap().len(), 1);
    assert_eq!(only_globex["next_cursor"], Value::Null);
    let none: Value = service(&app, reqwest::Method::GET, "/service/v1/connections?status=revoked").send().await.unwrap().json().await.unwrap();
    assert_eq!(none["data"], json!([]));

    for (query, status, code) in [
        ("status=broken", 400, "invalid_request"),
        ("cursor=not-a-cursor!", 400, "invalid_request"),
        ("limit=0", 400, "invalid_request"),
        ("limit=501", 400, "invalid_request"),
        ("provider=nope", 404, "unknown_provider"),
        ("colour=red", 400, "invalid_request"),
    ] {
        let response = service(&app, reqwest::Method::GET, &format!("/service/v1/connections?{query}")).send().await.unwrap();
        assert_problem(response, status, code).await;
    }
}

#[tokio::test]
async fn ended_or_refused_connections_answer_a_clear_problem() {
    let keys = service_keys_arg();
    let app = spawn_app_with(&[&keys]).await;
    let acme = app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    let globex = app.connect(&admin(), "finance@globex.test").await;
    let (acme, globex) = (acme["id"].as_str().unwrap().to_owned(), globex["id"].as_str().unwrap().to_owned());

    app.standin.owner_disconnects_app(ACME).await;
    let revoked = assert_problem(access_token(&app, &acme).await, 409, "connection_revoked").await;
    assert!(revoked["detail"].as_str().unwrap().contains("revoked"), "{revoked}");

    app.post(&format!("/api/connections/{globex}/disconnect"), Some(&admin()), &json!({})).send().await.unwrap();
    assert_problem(access_token(&app, &globex).await, 409, "connection_disconnected").await;
    assert_problem(access_token(&app, "conn_doesnotexist").await, 404, "not_found").await;
}

#[tokio::test]
async fn a_connection_needing_reauthentication_is_named_as_such() {
    let keys = service_keys_arg();
    let app = spawn_app_with(&[APPS, &keys]).await;
    let (_, connection) = app.connect_to("stripe", &admin(), provider_standin::DEMO_EMAIL).await;
    let id = connection["id"].as_str().unwrap();
    expire_stored_token(&app).await;
    // Stripe refuses the refresh token too (the app was uninstalled without a webhook).
    app.standin.revoke_access(ACME);
    assert_problem(access_token(&app, id).await, 409, "reauthentication_required").await;
    let listed: Value = service(&app, reqwest::Method::GET, "/service/v1/connections").send().await.unwrap().json().await.unwrap();
    assert_eq!(listed["data"][0]["status"], "reauthentication_required");
    assert_problem(access_token(&app, id).await, 409, "reauthentication_required").await;
}

/// Follows `$ref`s into `components`.
pub(crate) fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => doc.pointer(reference.trim_start_matches('#')).unwrap_or_else(|| panic!("dangling {reference}")),
        None => schema,
    }
}

/// Every required property is there and of the documented type, recursively.
pub(crate) fn conforms(doc: &Value, schema: &Value, value: &Value, at: &str) {
    let schema = resolve(doc, schema);
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let type_of = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    assert!(types.is_empty() || types.contains(&type_of) || (type_of == "integer" && types.contains(&"number")), "{at}: {type_of} is not {types:?}");
    if let Some(allowed) = schema["enum"].as_array() {
        assert!(allowed.contains(value), "{at}: {value} is not one of {allowed:?}");
    }
    if let (Some(required), Some(object)) = (schema["required"].as_array(), value.as_object()) {
        for name in required.iter().filter_map(Value::as_str) {
            assert!(object.contains_key(name), "{at}: {name} is required");
        }
    }
    if let (Some(properties), Some(object)) = (schema["properties"].as_object(), value.as_object()) {
        for (name, property) in properties {
            if let Some(field) = object.get(name) {
                conforms(doc, property, field, &format!("{at}.{name}"));
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, item) in array.iter().enumerate() {
            conforms(doc, items, item, &format!("{at}[{i}]"));
        }
    }
}

#[tokio::test]
async fn the_openapi_description_matches_the_real_routes() {
    let keys = service_keys_arg();
    let app = spawn_app_with(&[APPS, &keys]).await;
    let (_, connection) = app.connect_to("stripe", &admin(), provider_standin::DEMO_EMAIL).await;
    let id = connection["id"].as_str().unwrap();
    let doc: Value = app.http.get(format!("{}/service/v1/openapi.json", app.url)).send().await.unwrap().json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert_eq!(paths.len(), 5);
    for (path, operations) in paths {
        for (method, operation) in operations.as_object().unwrap() {
            let method: reqwest::Method = method.to_uppercase().parse().unwrap();
            let real_path = path.replace("{id}", id);
            let response = service(&app, method.clone(), &real_path).send().await.unwrap();
            let status = response.status().as_u16().to_string();
            let documented = &operation["responses"][&status];
            assert!(documented.is_object(), "{method} {path} answered {status}, which is not documented");
            let documented = resolve(&doc, documented);
            let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
            let schema = &documented["content"][&content_type]["schema"];
            assert!(schema.is_object(), "{method} {path}: {content_type} is not documented for {status}");
            conforms(&doc, schema, &response.json().await.unwrap(), &format!("{method} {path}"));
            // Every documented error answer is a problem with its code.
            let unauthenticated = app.http.request(method.clone(), format!("{}{real_path}", app.url)).send().await.unwrap();
            if operation["security"] != json!([]) {
                assert_eq!(unauthenticated.status(), 401, "{method} {path} without a key");
                assert!(operation["responses"]["401"].is_object(), "{method} {path}: 401 undocumented");
            }
        }
    }
    // And nothing undocumented answers under /service/v1/.
    for (method, path) in
        [(reqwest::Method::GET, "/service/v1/tokens"), (reqwest::Method::DELETE, "/service/v1/connections"), (reqwest::Method::GET, "/service/v2/connections")]
    {
        let status = service(&app, method.clone(), path).send().await.unwrap().status().as_u16();
        assert!(status == 404 || status == 405, "{method} {path} answered {status}");
    }
}

/// The script a sync job would be: Node's built-in `fetch` (which sends `sec-fetch-mode: cors` on
/// every request), printing the status and the body it read.
const NODE_FETCH: &str = r#"
const [url, key] = process.argv.slice(2);
const response = await fetch(url, { method: "POST", headers: { authorization: `Bearer ${key}` } });
console.log(JSON.stringify({ status: response.status, body: await response.json() }));
"#;

/// Sync jobs are written with whatever HTTP client their language has: reqwest and Node's `fetch`
/// both read a token. Node is required (CI has it): a missing `node` fails the test.
#[tokio::test]
async fn reqwest_and_nodes_built_in_fetch_both_read_an_access_token() {
    let keys = service_keys_arg();
    let app = spawn_app_with(&[&keys]).await;
    let connection = app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    let url = format!("{}/service/v1/connections/{}/access-token", app.url, connection["id"].as_str().unwrap());

    let plain: Value = app.http.post(&url).bearer_auth(SERVICE_KEY).send().await.unwrap().json().await.unwrap();
    assert!(plain["access_token"].as_str().is_some_and(|token| !token.is_empty()), "{plain}");
    // What Node, Deno and Bun send by themselves is no browser.
    let fetch_like = app.http.post(&url).bearer_auth(SERVICE_KEY).header("sec-fetch-mode", "cors").header("sec-fetch-dest", "empty");
    let answer = fetch_like.send().await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.json::<Value>().await.unwrap()["access_token"], plain["access_token"]);

    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("read-token.mjs");
    std::fs::write(&script, NODE_FETCH).unwrap();
    let output = tokio::process::Command::new("node")
        .arg(&script)
        .arg(&url)
        .arg(SERVICE_KEY)
        .output()
        .await
        .expect("node runs (Node 18 or newer is needed for these tests; CI has it)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "node failed: {stdout}{}", String::from_utf8_lossy(&output.stderr));
    let read: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(read["status"], 200, "{read}");
    assert_eq!(read["body"]["access_token"], plain["access_token"], "{read}");
    assert_eq!(read["body"]["token_type"], "bearer");
}
