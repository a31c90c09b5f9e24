//! API keys over real HTTP: Stripe's secret and restricted keys per account and mode against
//! `GET /v1/account` and the lists, and a made-up key-based source reading its key by bearer, basic
//! or a named header. Keys are issued, refused tables or the account, and rolled through the JSON
//! controls (`/standin/api/…`) and the controls page.

use provider_standin::{KeyPlacement, KeyedSource, Standin, StandinConfig};
use serde_json::{json, Value};

const ACME: &str = "acct_1DemoAcmeBooks00";
const REDIRECT: &str = "http://127.0.0.1:9/connections/stripe/callback";
const LISTS: [&str; 7] = ["customers", "charges", "coupons", "invoices", "plans", "subscriptions", "events"];

struct Harness {
    url: String,
    http: reqwest::Client,
}

async fn start(placement: KeyPlacement) -> Harness {
    let config = StandinConfig::demo("ca_Keys", "sk_test_platform", REDIRECT).with_keyed_source(KeyedSource::demo_pipeline(placement));
    let url = provider_standin::spawn(Standin::new(config), ([127, 0, 0, 1], 0).into()).await.unwrap();
    Harness { url, http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap() }
}

impl Harness {
    async fn control(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self.http.post(format!("{}/standin/api/{path}", self.url)).json(&body).send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    async fn stripe_key(&self, mode: &str, kind: &str) -> String {
        let (status, issued) = self.control("stripe-keys", json!({ "account": ACME, "mode": mode, "kind": kind })).await;
        assert_eq!(status, 200, "{issued}");
        issued["key"].as_str().unwrap().to_owned()
    }

    async fn get(&self, path: &str, key: &str) -> (u16, Value) {
        let response = self.http.get(format!("{}{path}", self.url)).bearer_auth(key).send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }
}

fn message(answer: &Value) -> &str {
    answer["error"]["message"].as_str().unwrap_or_else(|| panic!("no error message in {answer}"))
}

#[tokio::test]
async fn stripe_keys_look_like_stripe_s_and_read_the_account_and_lists_in_their_mode() {
    let h = start(KeyPlacement::Bearer).await;
    for (mode, kind, prefix, livemode) in [
        ("test", "restricted", "rk_test_", false),
        ("live", "restricted", "rk_live_", true),
        ("test", "secret", "sk_test_", false),
        ("live", "secret", "sk_live_", true),
        ("sandbox", "restricted", "rk_test_", false),
    ] {
        let key = h.stripe_key(mode, kind).await;
        assert!(key.starts_with(prefix) && key.len() == prefix.len() + 99, "{key}");
        assert!(key[prefix.len()..].chars().all(|c| c.is_ascii_alphanumeric()), "{key}");
        let (status, account) = h.get("/v1/account", &key).await;
        assert_eq!((status, account["id"].as_str()), (200, Some(ACME)), "{account}");
        for list in LISTS {
            let (status, page) = h.get(&format!("/v1/{list}?limit=2"), &key).await;
            assert_eq!(status, 200, "{list}: {page}");
            assert_eq!(page["object"], "list");
            assert_eq!(page["data"][0]["livemode"], livemode, "{mode} {list}");
        }
    }
    let (status, refused) = h.control("stripe-keys", json!({ "account": "acct_nobody", "mode": "test", "kind": "restricted" })).await;
    assert_eq!(status, 404, "{refused}");
    let (status, _) = h.control("stripe-keys", json!({ "account": ACME, "mode": "staging", "kind": "restricted" })).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_stripe_key_is_taken_as_the_basic_user_name_too() {
    let h = start(KeyPlacement::Bearer).await;
    let key = h.stripe_key("test", "restricted").await;
    let response = h.http.get(format!("{}/v1/customers", h.url)).basic_auth(&key, None::<&str>).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let response = h.http.get(format!("{}/v1/account", h.url)).basic_auth(&key, Some("")).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn an_unknown_key_is_refused_as_stripe_does() {
    let h = start(KeyPlacement::Bearer).await;
    for path in ["/v1/account", "/v1/charges"] {
        let (status, answer) = h.get(path, "rk_test_51NotIssuedByTheStandInabcd").await;
        assert_eq!(status, 401);
        assert_eq!(answer["error"]["type"], "invalid_request_error");
        assert_eq!(message(&answer), "Invalid API Key provided: rk_test_****abcd");
    }
    let pipeline = h.control("keyed/pipeline/keys", json!({ "account": "pl-3001" })).await.1["key"].as_str().unwrap().to_owned();
    let (status, _) = h.get("/v1/account", &pipeline).await;
    assert_eq!(status, 401, "another source's key is no Stripe key");
}

#[tokio::test]
async fn a_table_refused_to_a_key_answers_stripe_s_permission_error_and_the_others_still_read() {
    let h = start(KeyPlacement::Bearer).await;
    let key = h.stripe_key("test", "restricted").await;
    let (status, done) = h.control(&format!("keys/{key}/refuse-table"), json!({ "table": "charges" })).await;
    assert_eq!((status, done["refused"].as_bool()), (200, Some(true)), "{done}");
    let (status, answer) = h.get("/v1/charges", &key).await;
    assert_eq!(status, 403);
    assert_eq!(answer["error"]["type"], "invalid_request_error");
    let text = message(&answer);
    assert!(text.starts_with(&format!("The provided key 'rk_test_****{}' does not have the required permissions", &key[key.len() - 4..])), "{text}");
    assert!(
        text.contains(&format!("on account '{ACME}'")) && text.contains("Having the 'rak_charge_read' permission would allow this request to continue."),
        "{text}"
    );
    assert_eq!(h.get("/v1/customers", &key).await.0, 200);
    assert_eq!(h.get("/v1/account", &key).await.0, 200);
    let other = h.stripe_key("test", "restricted").await;
    assert_eq!(h.get("/v1/charges", &other).await.0, 200, "only that key lacks it");

    h.control(&format!("keys/{key}/refuse-table"), json!({ "table": "charges", "refused": false })).await;
    assert_eq!(h.get("/v1/charges", &key).await.0, 200);
}

#[tokio::test]
async fn a_restricted_key_can_be_refused_the_account_and_a_secret_key_cannot() {
    let h = start(KeyPlacement::Bearer).await;
    let key = h.stripe_key("live", "restricted").await;
    let (status, done) = h.control(&format!("keys/{key}/refuse-account"), json!({})).await;
    assert_eq!(status, 200, "{done}");
    let (status, answer) = h.get("/v1/account", &key).await;
    assert_eq!(status, 403);
    assert!(message(&answer).contains("does not have the required permissions") && message(&answer).contains("'rak_account_read'"), "{answer}");
    assert_eq!(h.get("/v1/invoices", &key).await.0, 200, "the lists still read");

    let secret = h.stripe_key("live", "secret").await;
    let (status, _) = h.control(&format!("keys/{secret}/refuse-account"), json!({})).await;
    assert_eq!(status, 400);
    let (status, _) = h.control("keys/rk_test_unknown/refuse-account", json!({})).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_rolled_key_stops_working_and_its_successor_keeps_its_permissions() {
    let h = start(KeyPlacement::Bearer).await;
    let key = h.stripe_key("test", "restricted").await;
    h.control(&format!("keys/{key}/refuse-table"), json!({ "table": "plans" })).await;
    let (status, rolled) = h.control(&format!("keys/{key}/roll"), json!({})).await;
    assert_eq!((status, rolled["rolled"].as_str()), (200, Some(key.as_str())), "{rolled}");
    let new_key = rolled["key"].as_str().unwrap();
    assert!(new_key.starts_with("rk_test_") && new_key != key);
    let (status, answer) = h.get("/v1/account", &key).await;
    assert_eq!(status, 401);
    assert!(message(&answer).starts_with("Invalid API Key provided: rk_test_****"));
    assert_eq!(h.get("/v1/account", new_key).await.0, 200);
    assert_eq!(h.get("/v1/plans", new_key).await.0, 403, "the permissions go with the key");
    assert_eq!(h.control(&format!("keys/{key}/roll"), json!({})).await.0, 404, "a rolled key is rolled once");
}

/// Sends `key` to the Pipeline source's `path` the way `placement` says.
async fn keyed_get(h: &Harness, path: &str, key: &str, placement: &KeyPlacement) -> (u16, Value) {
    let request = h.http.get(format!("{}/keyed/pipeline/api/{path}", h.url));
    let request = match placement {
        KeyPlacement::Bearer => request.bearer_auth(key),
        KeyPlacement::Basic => request.basic_auth(key, Some("")),
        KeyPlacement::Header(name) => request.header(name.as_str(), key),
    };
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn a_keyed_source_reads_its_key_only_where_it_is_configured_to() {
    let placements = [KeyPlacement::Bearer, KeyPlacement::Basic, KeyPlacement::Header("X-Api-Key".into())];
    for placement in &placements {
        let h = start(placement.clone()).await;
        let (status, issued) = h.control("keyed/pipeline/keys", json!({ "account": "pl-3001" })).await;
        assert_eq!(status, 200, "{issued}");
        let key = issued["key"].as_str().unwrap();
        assert!(key.starts_with("pl_") && key.len() >= 23 && key[3..].chars().all(|c| c.is_ascii_alphanumeric()), "{key}");

        let (status, me) = keyed_get(&h, "me", key, placement).await;
        assert_eq!(status, 200, "{placement:?}: {me}");
        assert_eq!(me, json!({ "id": "pl-3001", "company": "Initech" }));
        for table in ["deals", "contacts"] {
            let (status, rows) = keyed_get(&h, table, key, placement).await;
            assert_eq!(status, 200, "{placement:?} {table}: {rows}");
            let rows = rows.as_array().expect("a JSON list");
            assert!(!rows.is_empty() && rows.iter().all(|row| row["id"].is_string() && row["created_at"].is_string()), "{rows:?}");
        }
        for other in placements.iter().filter(|other| *other != placement) {
            let (status, refused) = keyed_get(&h, "me", key, other).await;
            assert_eq!(status, 401, "{placement:?} configured, key sent as {other:?}: {refused}");
            assert_eq!(refused["error"]["code"], "unauthorized");
        }
        let (status, refused) = keyed_get(&h, "me", "pl_WrongKeyWrongKeyWrongKey1", placement).await;
        assert_eq!((status, refused["error"]["message"].as_str()), (401, Some("Invalid API key.")));
        assert_eq!(keyed_get(&h, "invoices", key, placement).await.0, 404, "not one of its tables");
    }
    let h = start(KeyPlacement::Basic).await;
    let key = h.control("keyed/pipeline/keys", json!({ "account": "pl-3002" })).await.1["key"].as_str().unwrap().to_owned();
    let with_password = h.http.get(format!("{}/keyed/pipeline/api/me", h.url)).basic_auth(&key, Some("secret")).send().await.unwrap();
    assert_eq!(with_password.status(), 401, "the password must be empty");
    assert_eq!(h.control("keyed/pipeline/keys", json!({ "account": "pl-9999" })).await.0, 404);
    assert_eq!(h.control("keyed/nowhere/keys", json!({ "account": "pl-3001" })).await.0, 404);
}

#[tokio::test]
async fn a_keyed_source_s_key_can_be_refused_a_table_and_rolled() {
    let placement = KeyPlacement::Header("X-Api-Key".into());
    let h = start(placement.clone()).await;
    let key = h.control("keyed/pipeline/keys", json!({ "account": "pl-3002" })).await.1["key"].as_str().unwrap().to_owned();
    h.control(&format!("keys/{key}/refuse-table"), json!({ "table": "contacts" })).await;
    let (status, refused) = keyed_get(&h, "contacts", &key, &placement).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (403, Some("forbidden")), "{refused}");
    assert_eq!(keyed_get(&h, "deals", &key, &placement).await.0, 200);
    assert_eq!(keyed_get(&h, "me", &key, &placement).await.1["company"], "Umbrella Corp");

    let (_, rolled) = h.control(&format!("keys/{key}/roll"), json!({})).await;
    let new_key = rolled["key"].as_str().unwrap();
    assert!(new_key.starts_with("pl_") && new_key.len() == key.len());
    assert_eq!(keyed_get(&h, "me", &key, &placement).await.0, 401, "the rolled key");
    assert_eq!(keyed_get(&h, "me", new_key, &placement).await.0, 200);
    assert_eq!(keyed_get(&h, "contacts", new_key, &placement).await.0, 403);
}

#[tokio::test]
async fn the_controls_page_issues_refuses_and_rolls_keys() {
    let h = start(KeyPlacement::Bearer).await;
    let page = || async { h.http.get(format!("{}/standin", h.url)).send().await.unwrap().text().await.unwrap() };
    let html = page().await;
    assert!(html.contains("Issue a restricted test-mode key for Acme Books Ltd") && html.contains("Issue a Pipeline CRM key for Initech"), "{html}");

    let issued =
        h.http.post(format!("{}/standin/stripe-keys", h.url)).form(&[("account", ACME), ("mode", "test"), ("kind", "restricted")]).send().await.unwrap();
    assert!(issued.status().is_redirection());
    let issued = h.http.post(format!("{}/standin/keyed/pipeline/keys", h.url)).form(&[("account", "pl-3001")]).send().await.unwrap();
    assert!(issued.status().is_redirection());
    let html = page().await;
    let key_after = |prefix: &str| {
        let start = html.find(&format!("<code>{prefix}")).unwrap_or_else(|| panic!("no {prefix} key on {html}")) + 6;
        html[start..start + html[start..].find('<').unwrap()].to_owned()
    };
    let (stripe, pipeline) = (key_after("rk_test_"), key_after("pl_"));
    assert_eq!(h.get("/v1/account", &stripe).await.0, 200);

    let refuse = h.http.post(format!("{}/standin/keys/{stripe}/refuse-table", h.url)).form(&[("table", "events")]).send().await.unwrap();
    assert!(refuse.status().is_redirection());
    assert_eq!(h.get("/v1/events", &stripe).await.0, 403);
    h.http.post(format!("{}/standin/keys/{stripe}/refuse-account", h.url)).send().await.unwrap();
    assert_eq!(h.get("/v1/account", &stripe).await.0, 403);
    h.http.post(format!("{}/standin/keys/{pipeline}/roll", h.url)).send().await.unwrap();
    assert_eq!(h.get("/keyed/pipeline/api/me", &pipeline).await.0, 401);
    assert!(!page().await.contains(&pipeline), "the rolled key is gone from the page");
}
