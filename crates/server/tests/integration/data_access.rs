//! The data-access check: one page of each data table read with the connection's access, right
//! after connecting and on demand, with a refused table shown as refused.

use crate::support;

use serde_json::{json, Value};
use support::{admin, assert_problem, spawn_app_with, spawn_app_with_providers, TestApp};

const ACME: &str = "acct_1DemoAcmeBooks00";

async fn detail(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/api/connections/{id}"), Some(&admin())).send().await.unwrap().json().await.unwrap()
}

fn accesses(check: &Value) -> Vec<(String, String)> {
    check["tables"].as_array().unwrap().iter().map(|t| (t["table"].as_str().unwrap().to_owned(), t["access"].as_str().unwrap().to_owned())).collect()
}

#[tokio::test]
async fn a_refused_table_is_shown_as_refused_and_the_others_with_their_last_data_point() {
    let app = spawn_app_with(&["--stripe-oauth=apps"]).await;
    app.standin.refuse_list(ACME, "charges", true);
    let (status, connection) = app.connect_to("stripe", &admin(), provider_standin::DEMO_EMAIL).await;
    assert_eq!(status, 201);
    let id = connection["id"].as_str().unwrap().to_owned();
    // Checked before the grant answered: the answer already has the last data point.
    let last_data_at = chrono::DateTime::parse_from_rfc3339(connection["last_data_at"].as_str().expect("a last data point")).unwrap();
    let age = chrono::Utc::now().timestamp() - last_data_at.timestamp();
    assert!((0..=300).contains(&age), "the stand-in's newest object is a minute old: {age}");
    assert_eq!(app.connections().await[0]["last_data_at"], connection["last_data_at"], "and the table shows it");

    let check = detail(&app, &id).await["data_check"].clone();
    let expected: Vec<(String, String)> = ["Customers", "Charges", "Coupons", "Invoices", "Plans", "Subscriptions", "Events"]
        .iter()
        .map(|t| (t.to_string(), if *t == "Charges" { "permission_missing" } else { "readable" }.to_owned()))
        .collect();
    assert_eq!(accesses(&check), expected);
    let charges = &check["tables"][1];
    assert_eq!(charges["reason"], "Stripe refused to list Charges: the access granted does not include it (permission_denied)");
    assert!(charges.get("newest_at").is_none());
    assert!(check["tables"][0]["newest_at"].is_string());
    assert!(!check.to_string().contains("rak_"), "the provider's own words stay in the log: {check}");
    // The automatic check is not an admin's action: no audit line for it.
    assert!(detail(&app, &id).await["history"].as_array().unwrap().iter().all(|e| e["action"] != "data_check"));

    // The permission granted at Stripe, an admin tests again.
    app.standin.refuse_list(ACME, "charges", false);
    let response = app.post(&format!("/api/connections/{id}/data-check"), Some(&admin()), &json!({})).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let again: Value = response.json().await.unwrap();
    assert!(accesses(&again).iter().all(|(_, access)| access == "readable"), "{again}");
    let history = detail(&app, &id).await["history"].clone();
    assert_eq!(history[0]["action"], "data_check");
    assert_eq!(history[0]["detail"], "7 of 7 data tables readable");
    assert_eq!(history[0]["actor"], "admin-1 name");
}

#[tokio::test]
async fn a_lapsed_token_makes_every_table_unreadable_and_a_viewer_cannot_test() {
    let app = spawn_app_with(&[]).await;
    let connection = app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    let id = connection["id"].as_str().unwrap().to_owned();
    app.standin.revoke_access(ACME);
    let check: Value = app.post(&format!("/api/connections/{id}/data-check"), Some(&admin()), &json!({})).send().await.unwrap().json().await.unwrap();
    assert!(accesses(&check).iter().all(|(_, access)| access == "token_refused"), "{check}");
    assert_eq!(check["tables"][0]["reason"], "Stripe refused the connection's token");
    // The last data point from the check that worked is kept.
    assert_eq!(app.connections().await[0]["last_data_at"], connection["last_data_at"]);

    let viewer = app.post(&format!("/api/connections/{id}/data-check"), Some(&support::token("viewer", "v")), &json!({})).send().await.unwrap();
    assert_problem(viewer, 403, "admin_required").await;
    app.post(&format!("/api/connections/{id}/disconnect"), Some(&admin()), &json!({})).send().await.unwrap();
    let ended = app.post(&format!("/api/connections/{id}/data-check"), Some(&admin()), &json!({})).send().await.unwrap();
    assert_problem(ended, 400, "invalid_request").await;
}

#[tokio::test]
async fn a_generic_source_is_checked_through_its_configured_list_endpoints() {
    let data_urls = r#"data = ["Contacts", "Deals", "Companies"]
data_urls = { Contacts = "{{STANDIN}}/oauth2/acme/api/data/contacts", Deals = "{{STANDIN}}/oauth2/acme/api/data/deals", Companies = "{{STANDIN}}/oauth2/acme/api/data/companies" }"#;
    let text = crate::providers::ACME_FILE.replace(r#"data = ["Contacts", "Deals", "Companies"]"#, data_urls);
    assert_ne!(text, crate::providers::ACME_FILE);
    let app = spawn_app_with_providers(&text, &[]).await;
    // The realm knows a companies.read scope this source does not ask for.
    let mut realm = app.standin.config().realms.into_iter().find(|r| r.id == "acme").unwrap();
    realm.scopes.push("companies.read".into());
    app.standin.add_realm(realm);

    let (status, connection) = app.connect_to("acme", &admin(), crate::providers::ACME_EMAIL).await;
    assert_eq!(status, 201, "{connection}");
    assert!(connection["last_data_at"].is_string(), "{connection}");
    let check = detail(&app, connection["id"].as_str().unwrap()).await["data_check"].clone();
    assert_eq!(
        accesses(&check),
        [("Contacts".into(), "readable".into()), ("Deals".into(), "readable".into()), ("Companies".into(), "permission_missing".into())]
    );
    assert_eq!(check["tables"][2]["reason"], "Acme CRM refused to list Companies: the access granted does not include it (insufficient_scope)");
}

#[tokio::test]
async fn a_slow_provider_does_not_hold_the_grant_and_its_check_lands_later() {
    let app = spawn_app_with(&[]).await;
    app.standin.slow_lists(Some(std::time::Duration::from_secs(5)));
    let started = std::time::Instant::now();
    let connection = app.connect(&admin(), provider_standin::DEMO_EMAIL).await;
    let waited = started.elapsed();
    assert!(waited < std::time::Duration::from_secs(5), "the grant waited for the slow lists: {waited:?}");
    assert!(connection.get("last_data_at").is_none(), "{connection}");
    // The check finishes in the background; the table has it at its next read.
    for _ in 0..100 {
        if app.connections().await[0]["last_data_at"].is_string() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the background check never stored its result");
}

/// One provider timestamp must not break every tenant: a list item's `created` past the year 9999 is
/// ignored where it enters; a row stored before that check (or otherwise unreadable) is logged and
/// skipped by the reads of whole tables, never failing them.
#[tokio::test]
async fn a_time_past_the_year_9999_breaks_no_list_and_no_health_round() {
    let keys = crate::service_api::service_keys_arg();
    let app = spawn_app_with(&["--stripe-oauth=apps", "--metrics-addr=127.0.0.1:0", &keys]).await;
    let year_10000 = connections_server::providers::LAST_SECOND_OF_9999 + 1;
    app.standin.list_created(Some(year_10000));
    let (status, connection) = app.connect_to("stripe", &admin(), provider_standin::DEMO_EMAIL).await;
    assert_eq!(status, 201, "{connection}");
    let id = connection["id"].as_str().unwrap().to_owned();
    // The newest object's time (the one read: a page of one) was ignored, the tables still readable.
    assert!(connection.get("last_data_at").is_none_or(Value::is_null), "{connection}");
    let stored: Option<i64> = sqlx::query_scalar("SELECT last_data_at FROM connections").fetch_one(app.state.db.pool()).await.unwrap();
    assert_eq!(stored, None);
    let check = detail(&app, &id).await["data_check"].clone();
    assert!(accesses(&check).iter().all(|(_, access)| access == "readable"), "{check}");
    assert!(check["tables"].as_array().unwrap().iter().all(|t| t.get("newest_at").is_none_or(Value::is_null)), "{check}");
    // Back to times a calendar holds, the next check has a last data point again.
    app.standin.list_created(None);
    let again: Value = app.post(&format!("/api/connections/{id}/data-check"), Some(&admin()), &json!({})).send().await.unwrap().json().await.unwrap();
    assert!(again["tables"][0]["newest_at"].is_string(), "{again}");

    // What an older build stored: the same account connected in a second workspace, its last data
    // point past 9999, and the first's status a word no build knows.
    let globex = support::token_in("globex", "admin", "admin-globex");
    let (status, shared) = app.connect_to("stripe", &globex, provider_standin::DEMO_EMAIL).await;
    assert_eq!(status, 201, "{shared}");
    let shared_id = shared["id"].as_str().unwrap().to_owned();
    // Beyond chrono's range, as the issue measured it.
    let beyond_chrono = 100_000_000_000_000_000_i64;
    assert!(chrono::DateTime::from_timestamp(beyond_chrono, 0).is_none());
    app.sql(&format!("UPDATE connections SET last_data_at = {beyond_chrono}, last_checked_at = NULL WHERE id = '{shared_id}'")).await;
    // Acme's second connection: a copy of the first under another id, whose status cannot be read.
    app.sql(&format!("UPDATE connections SET last_checked_at = NULL WHERE id = '{id}'")).await;
    let broken = "conn_unreadable";
    let columns: Vec<String> = if support::is_postgres() {
        sqlx::query_scalar("SELECT column_name::text FROM information_schema.columns WHERE table_name = 'connections' ORDER BY ordinal_position")
            .fetch_all(app.state.db.pool())
            .await
            .unwrap()
    } else {
        sqlx::query_scalar("SELECT name FROM pragma_table_info('connections') ORDER BY cid").fetch_all(app.state.db.pool()).await.unwrap()
    };
    let copied: Vec<String> = columns
        .iter()
        .map(|c| match c.as_str() {
            "id" => format!("'{broken}'"),
            "account_id" => "'acct_unreadable'".into(),
            "status" => "'no_such_status'".into(),
            other => other.to_owned(),
        })
        .collect();
    app.sql(&format!("INSERT INTO connections ({}) SELECT {} FROM connections WHERE id = '{id}'", columns.join(", "), copied.join(", "))).await;

    // Each workspace's list still answers, with what can be read.
    let acme = app.connections().await;
    assert_eq!(acme.iter().map(|c| c["id"].as_str().unwrap()).collect::<Vec<_>>(), [id.as_str()], "{acme:?}");
    let response = app.get("/api/connections", Some(&globex)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let list: Value = response.json().await.unwrap();
    let shown = &list["connections"][0];
    assert_eq!(shown["id"], shared_id.as_str());
    assert!(shown.get("last_data_at").is_none_or(Value::is_null), "an impossible time is shown as unknown: {shown}");

    // The service API's listing, one page or several.
    let all: Value =
        app.http.get(format!("{}/service/v1/connections", app.url)).bearer_auth(crate::service_api::SERVICE_KEY).send().await.unwrap().json().await.unwrap();
    let mut ids: Vec<&str> = all["data"].as_array().expect("a page").iter().map(|c| c["id"].as_str().unwrap()).collect();
    ids.sort();
    let mut expected = vec![id.as_str(), shared_id.as_str()];
    expected.sort();
    assert_eq!(ids, expected, "{all}");
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(cursor) => format!("{}/service/v1/connections?limit=1&cursor={cursor}", app.url),
            None => format!("{}/service/v1/connections?limit=1", app.url),
        };
        let page: Value = app.http.get(url).bearer_auth(crate::service_api::SERVICE_KEY).send().await.unwrap().json().await.unwrap();
        paged.extend(page["data"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    paged.sort();
    assert_eq!(paged, expected, "a skipped row does not end the paging early");

    // The health round checks every readable connection.
    connections_server::services::lifecycle::check_all(&app.state).await;
    for checked in [&id, &shared_id] {
        let at: Option<i64> =
            sqlx::query_scalar("SELECT last_checked_at FROM connections WHERE id = $1").bind(checked).fetch_one(app.state.db.pool()).await.unwrap();
        assert!(at.is_some(), "{checked} was checked");
    }
    // And the metrics still read the table.
    let addr = app.state.metrics_addr.unwrap();
    let metrics = app.http.get(format!("http://{addr}/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(metrics.text().await.unwrap().contains("connections_connections{"));
}

/// A provider's answer is read up to 1 MiB: one larger is refused with a clear reason, not held in
/// memory; one just under it is read.
#[tokio::test]
async fn a_provider_answer_larger_than_one_mib_is_refused_with_a_clear_reason() {
    let app = spawn_app_with(&["--stripe-oauth=apps"]).await;
    let (status, connection) = app.connect_to("stripe", &admin(), provider_standin::DEMO_EMAIL).await;
    assert_eq!(status, 201, "{connection}");
    let id = connection["id"].as_str().unwrap().to_owned();
    let test =
        || async { app.post(&format!("/api/connections/{id}/data-check"), Some(&admin()), &json!({})).send().await.unwrap().json::<Value>().await.unwrap() };

    app.standin.pad_lists(Some(connections_server::providers::MAX_PROVIDER_ANSWER_BYTES));
    let refused = test().await;
    assert!(accesses(&refused).iter().all(|(_, access)| access == "unavailable"), "{refused}");
    assert_eq!(refused["tables"][0]["reason"], "Stripe could not be reached: its answer was larger than 1 MiB");

    app.standin.pad_lists(Some(connections_server::providers::MAX_PROVIDER_ANSWER_BYTES - 4096));
    let read = test().await;
    assert!(accesses(&read).iter().all(|(_, access)| access == "readable"), "{read}");
}
