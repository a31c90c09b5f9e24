//! Key-based sources (`api-key`, `stripe-key`) from a providers file alone, over real HTTP with the
//! stand-in: a key is tested before it is stored (its form, its account, each table), stored
//! encrypted when it reads some of the data, never answered, logged or audited; the health check
//! marks a rolled key Reauthentication required; disconnecting deletes it and says to roll it; the
//! service API hands it out with its type and where to put it.

use crate::support;

use serde_json::{json, Value};
use support::{admin, assert_problem, spawn_app_with_providers, TestApp};

use crate::service_api::{service_keys_arg, SERVICE_KEY};

pub const KEYS_FILE: &str = include_str!("../fixtures/keys-providers.toml");
const ACME: &str = "acct_1DemoAcmeBooks00";

pub async fn spawn_with_keys() -> TestApp {
    spawn_app_with_providers(KEYS_FILE, &[&service_keys_arg()]).await
}

impl TestApp {
    /// A stand-in control (`/standin/api/{path}`).
    async fn standin_control(&self, path: &str, body: Value) -> Value {
        let response = self.http.post(format!("{}/standin/api/{path}", self.standin_url)).json(&body).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        response.json().await.unwrap()
    }

    async fn pipeline_key(&self, account: &str) -> String {
        self.standin_control("keyed/pipeline/keys", json!({ "account": account })).await["key"].as_str().unwrap().to_owned()
    }

    async fn stripe_key(&self, mode: &str, kind: &str) -> String {
        self.standin_control("stripe-keys", json!({ "account": ACME, "mode": mode, "kind": kind })).await["key"].as_str().unwrap().to_owned()
    }

    async fn paste_key(&self, provider: &str, body: Value) -> reqwest::Response {
        self.post(&format!("/api/providers/{provider}/keys"), Some(&admin()), &body).send().await.unwrap()
    }

    async fn audit_text(&self) -> String {
        self.get("/api/audit", Some(&admin())).send().await.unwrap().text().await.unwrap()
    }
}

#[tokio::test]
async fn a_key_source_from_a_providers_file_alone_connects_with_a_good_key_stored_encrypted() {
    let app = spawn_with_keys().await;
    let providers: Value = app.get("/api/providers", Some(&admin())).send().await.unwrap().json().await.unwrap();
    let pipeline = providers["providers"].as_array().unwrap().iter().find(|p| p["id"] == "pipeline").unwrap().clone();
    assert_eq!(pipeline["dialect"], "api-key");
    assert_eq!(pipeline["key"]["label"], "API key");
    assert_eq!(pipeline["key"]["help_url"], "https://pipeline.example/settings/api");
    assert!(pipeline["key"]["pattern"].as_str().unwrap().contains("pl_"));

    let key = app.pipeline_key("pl-3001").await;
    let response = app.paste_key("pipeline", json!({ "key": key })).await;
    assert_eq!(response.status(), 201);
    let text = response.text().await.unwrap();
    assert!(!text.contains(&key), "the key is never answered: {text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!((answer["account_id"].as_str(), answer["account_name"].as_str()), (Some("pl-3001"), Some("Initech")), "{answer}");
    assert_eq!((answer["outcome"].as_str(), answer["status"].as_str(), answer["livemode"].as_null()), (Some("created"), Some("connected"), Some(())));
    let tables: Vec<(&str, &str)> =
        answer["tables"].as_array().unwrap().iter().map(|t| (t["table"].as_str().unwrap(), t["access"].as_str().unwrap())).collect();
    assert_eq!(tables, [("Deals", "readable"), ("Contacts", "readable")]);
    assert!(answer["last_data_at"].is_string(), "the tables' newest row is the last data point: {answer}");

    assert!(!app.stored_in_plain_text(&key).await, "stored encrypted, and in no audit line or outgoing event");
    assert!(!app.audit_text().await.contains(&key));
    assert!(!app.get("/api/connections", Some(&admin())).send().await.unwrap().text().await.unwrap().contains(&key));

    // The same account again (a new key) replaces the key of the same row.
    let id = answer["id"].as_str().unwrap().to_owned();
    let second = app.pipeline_key("pl-3001").await;
    let response = app.paste_key("pipeline", json!({ "key": second })).await;
    assert_eq!(response.status(), 200);
    let replaced: Value = response.json().await.unwrap();
    assert_eq!((replaced["id"].as_str(), replaced["outcome"].as_str()), (Some(id.as_str()), Some("renewed")));
    assert!(app.audit_text().await.contains("Connected with a Pipeline CRM key"));
}

#[tokio::test]
async fn a_wrong_key_is_refused_with_the_reason_and_nothing_is_stored() {
    let app = spawn_with_keys().await;
    // Not of the configured form: refused before any call.
    let body = assert_problem(app.paste_key("pipeline", json!({ "key": "sk_live_notapipelinekey123456" })).await, 422, "key_refused").await;
    assert!(body["detail"].as_str().unwrap().contains("does not have the form"), "{body}");
    assert!(!body.to_string().contains("sk_live_notapipelinekey123456"), "{body}");
    // Well formed, but not a key the source issued.
    let wrong = "pl_WrongKeyWrongKeyWrongKey1";
    let body = assert_problem(app.paste_key("pipeline", json!({ "key": wrong })).await, 422, "key_refused").await;
    assert!(body["detail"].as_str().unwrap().contains("Pipeline CRM refused the key"), "{body}");
    let tables: Vec<&str> = body["tables"].as_array().unwrap().iter().map(|t| t["access"].as_str().unwrap()).collect();
    assert_eq!(tables, ["token_refused", "token_refused"], "{body}");
    assert!(!body.to_string().contains(wrong));

    assert_eq!(app.count("connections").await, 0, "nothing stored");
    assert!(!app.stored_in_plain_text(wrong).await);
    let audit = app.audit_text().await;
    assert!(audit.contains("refused the key") && !audit.contains(wrong), "the failure is audited without the key: {audit}");
    // Not a key-based source, an empty key: malformed requests.
    assert_problem(app.paste_key("stripe-key", json!({ "key": "" })).await, 422, "key_refused").await;
    assert_problem(app.paste_key("pipeline", json!({})).await, 400, "invalid_request").await;
}

#[tokio::test]
async fn a_key_missing_one_table_is_stored_with_that_table_permission_missing_and_one_missing_all_is_not() {
    let app = spawn_with_keys().await;
    let key = app.pipeline_key("pl-3002").await;
    app.standin_control(&format!("keys/{key}/refuse-table"), json!({ "table": "contacts" })).await;
    let response = app.paste_key("pipeline", json!({ "key": key })).await;
    assert_eq!(response.status(), 201);
    let answer: Value = response.json().await.unwrap();
    let contacts = &answer["tables"][1];
    assert_eq!((contacts["table"].as_str(), contacts["access"].as_str()), (Some("Contacts"), Some("permission_missing")), "{answer}");
    assert!(contacts["reason"].as_str().unwrap().contains("does not include it"), "in our words: {contacts}");
    let detail: Value = app.get(&format!("/api/connections/{}", answer["id"].as_str().unwrap()), Some(&admin())).send().await.unwrap().json().await.unwrap();
    assert!(detail.to_string().contains("permission_missing"), "the check is kept with the connection: {detail}");

    let none = app.pipeline_key("pl-3001").await;
    for table in ["deals", "contacts"] {
        app.standin_control(&format!("keys/{none}/refuse-table"), json!({ "table": table })).await;
    }
    let body = assert_problem(app.paste_key("pipeline", json!({ "key": none })).await, 422, "key_refused").await;
    assert!(body["detail"].as_str().unwrap().contains("none of the data"), "{body}");
    assert_eq!(app.count("connections").await, 1, "only the first key is stored");
}

#[tokio::test]
async fn a_stripe_restricted_key_connects_in_its_mode_and_a_secret_key_is_refused() {
    let app = spawn_with_keys().await;
    let key = app.stripe_key("test", "restricted").await;
    let response = app.paste_key("stripe-key", json!({ "key": key })).await;
    assert_eq!(response.status(), 201);
    let answer: Value = response.json().await.unwrap();
    assert_eq!((answer["account_id"].as_str(), answer["livemode"].as_bool()), (Some(ACME), Some(false)), "{answer}");
    assert_eq!(answer["tables"].as_array().unwrap().iter().filter(|t| t["access"] == "readable").count(), 7);

    let live = app.stripe_key("live", "restricted").await;
    let answer: Value = app.paste_key("stripe-key", json!({ "key": live })).await.json().await.unwrap();
    assert_eq!(answer["livemode"].as_bool(), Some(true), "the mode is the key's: {answer}");

    let secret = app.stripe_key("test", "secret").await;
    let body = assert_problem(app.paste_key("stripe-key", json!({ "key": secret })).await, 422, "key_refused").await;
    assert!(body["detail"].as_str().unwrap().contains("secret key"), "{body}");

    // A key that may not read the account: named by the administrator, its id a fingerprint.
    let unnamed = app.stripe_key("test", "restricted").await;
    app.standin_control(&format!("keys/{unnamed}/refuse-account"), json!({})).await;
    let response = app.paste_key("stripe-key", json!({ "key": unnamed, "name": "Acme Books (test)" })).await;
    assert_eq!(response.status(), 201);
    let answer: Value = response.json().await.unwrap();
    let id = answer["account_id"].as_str().unwrap();
    assert!(id.starts_with("key_") && !unnamed.contains(&id[4..]), "{answer}");
    assert_eq!(answer["account_name"], "Acme Books (test)");
}

#[tokio::test]
async fn a_rolled_key_is_reauthentication_required_and_disconnect_says_to_roll_it() {
    let app = spawn_with_keys().await;
    let key = app.pipeline_key("pl-3001").await;
    let answer: Value = app.paste_key("pipeline", json!({ "key": key })).await.json().await.unwrap();
    let id = answer["id"].as_str().unwrap().to_owned();
    let healthy: Value = app.post(&format!("/api/connections/{id}/check"), Some(&admin()), &json!({})).send().await.unwrap().json().await.unwrap();
    assert_eq!(healthy["status"], "connected", "{healthy}");

    app.standin_control(&format!("keys/{key}/roll"), json!({})).await;
    let checked = app.post(&format!("/api/connections/{id}/check"), Some(&admin()), &json!({})).send().await.unwrap();
    let checked: Value = checked.json().await.unwrap();
    assert_eq!(checked["status"], "reauthentication_required", "{checked}");
    assert!(app.audit_text().await.contains("refused the key; replace it"));

    let response = app.post(&format!("/api/connections/{id}/disconnect"), Some(&admin()), &json!({})).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let done: Value = response.json().await.unwrap();
    assert_eq!((done["status"].as_str(), done["revocation"].as_str()), (Some("disconnected"), Some("key_to_roll")), "{done}");
    assert!(app.audit_text().await.contains("Roll the key in Pipeline CRM"));
    let record = app.state.db.connection(&id).await.unwrap().unwrap();
    assert!(record.access_token.is_none(), "the key is deleted");
}

#[tokio::test]
async fn the_service_api_hands_each_credential_with_its_type_and_where_to_put_it() {
    let app = spawn_with_keys().await;
    let key = app.pipeline_key("pl-3002").await;
    let answer: Value = app.paste_key("pipeline", json!({ "key": key })).await.json().await.unwrap();
    let id = answer["id"].as_str().unwrap();
    let response = app.http.post(format!("{}/service/v1/connections/{id}/access-token", app.url)).bearer_auth(SERVICE_KEY).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let handed: Value = response.json().await.unwrap();
    assert_eq!(handed["credential_type"], "api_key");
    assert_eq!((handed["key_placement"].as_str(), handed["key_header"].as_str()), (Some("header"), Some("x-api-key")), "{handed}");
    assert_eq!(handed["access_token"].as_str(), Some(key.as_str()));
    // A sync job uses it as told.
    let me = app
        .http
        .get(format!("{}/keyed/pipeline/api/deals", app.standin_url))
        .header("X-Api-Key", handed["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);

    let stripe = app.stripe_key("live", "restricted").await;
    let answer: Value = app.paste_key("stripe-key", json!({ "key": stripe })).await.json().await.unwrap();
    let handed: Value = app
        .http
        .post(format!("{}/service/v1/connections/{}/access-token", app.url, answer["id"].as_str().unwrap()))
        .bearer_auth(SERVICE_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((handed["credential_type"].as_str(), handed["key_placement"].as_str()), (Some("api_key"), Some("bearer")));
    assert!(handed.get("key_header").is_none());
}

impl TestApp {
    /// Makes a connect link for `provider` (a reconnect link with `connection_id`); answers its token.
    async fn key_link(&self, provider: &str, connection_id: Option<&str>) -> String {
        let body = json!({ "provider": provider, "connection_id": connection_id, "expires_in_secs": 3600 });
        let response = self.post("/api/connect-links", Some(&admin()), &body).send().await.unwrap();
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        let created: Value = response.json().await.unwrap();
        created["url"].as_str().unwrap().rsplit_once("/connect/").unwrap().1.to_owned()
    }

    async fn paste_through(&self, link_token: &str, key: &str) -> reqwest::Response {
        self.post("/api/link/keys", None, &json!({ "token": link_token, "key": key })).send().await.unwrap()
    }
}

#[tokio::test]
async fn the_account_owner_connects_a_key_source_through_a_link_with_no_session() {
    let app = spawn_with_keys().await;
    let link = app.key_link("pipeline", None).await;
    let page: Value = app.post("/api/link", None, &json!({ "token": link })).send().await.unwrap().json().await.unwrap();
    assert_eq!(page["provider"]["key"]["label"], "API key", "the link's page shows the key field: {page}");

    // A wrong key: refused per table as for an administrator, nothing stored, the link still open.
    let wrong = "pl_WrongKeyWrongKeyWrongKey1";
    let body = assert_problem(app.paste_through(&link, wrong).await, 422, "key_refused").await;
    assert_eq!(body["tables"].as_array().unwrap().len(), 2, "{body}");
    assert_eq!(app.count("connections").await, 0);

    let key = app.pipeline_key("pl-3001").await;
    let response = app.paste_through(&link, &key).await;
    assert_eq!(response.status(), 201);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(
        (answer["provider"].as_str(), answer["account_name"].as_str(), answer["outcome"].as_str()),
        (Some("pipeline"), Some("Initech"), Some("created"))
    );
    assert_eq!(answer["tables"].as_array().unwrap().len(), 2, "what the key reads: {answer}");
    assert!(answer.get("id").is_none() && !answer.to_string().contains("acme"), "nothing of the workspace: {answer}");
    // Used up with the connection: once.
    let again = app.paste_through(&link, &app.pipeline_key("pl-3002").await).await;
    assert_eq!(again.status(), 410);
    assert_eq!(app.count("connections").await, 1);
    let audit = app.audit_text().await;
    assert!(audit.contains("Connected with a Pipeline CRM key through a link made by"), "{audit}");
    assert!(!audit.contains(&key) && !app.stored_in_plain_text(&key).await);
}

#[tokio::test]
async fn a_reconnect_link_takes_a_key_of_the_same_account_only() {
    let app = spawn_with_keys().await;
    let first = app.pipeline_key("pl-3001").await;
    let stored: Value = app.paste_key("pipeline", json!({ "key": first })).await.json().await.unwrap();
    let id = stored["id"].as_str().unwrap();
    let link = app.key_link("pipeline", Some(id)).await;
    let other_account = app.pipeline_key("pl-3002").await;
    let body = assert_problem(app.paste_through(&link, &other_account).await, 409, "link_wrong_account").await;
    assert!(body["detail"].as_str().unwrap().contains("another account"), "{body}");
    assert_eq!(app.count("connections").await, 1, "nothing changed");
    let rolled = app.pipeline_key("pl-3001").await;
    let response = app.paste_through(&link, &rolled).await;
    assert_eq!(response.status(), 200, "the same account's new key replaces the old");
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["outcome"], "renewed");
}

#[tokio::test]
async fn a_key_known_only_by_its_fingerprint_gets_no_reconnect_link() {
    let app = spawn_with_keys().await;
    let unnamed = app.stripe_key("test", "restricted").await;
    app.standin_control(&format!("keys/{unnamed}/refuse-account"), json!({})).await;
    let stored: Value = app.paste_key("stripe-key", json!({ "key": unnamed, "name": "Acme Books (test)" })).await.json().await.unwrap();
    let body = json!({ "provider": "stripe-key", "connection_id": stored["id"], "expires_in_secs": 3600 });
    let refused = assert_problem(app.post("/api/connect-links", Some(&admin()), &body).send().await.unwrap(), 400, "invalid_request").await;
    assert!(refused["detail"].as_str().unwrap().contains("known here only by its key"), "{refused}");
}
