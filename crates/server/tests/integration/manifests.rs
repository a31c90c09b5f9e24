//! The Stripe App manifests in `examples/stripe-app/` against what this server does: the permissions
//! cover exactly the tables the Stripe providers read (their data-access check and sync), and the
//! OAuth app's `allowed_redirect_uris` are the return addresses the server sends (`PUBLIC_URL`'s,
//! then one per `CONNECTIONS_EMBED_URLS` page).

use serde_json::Value;

use crate::keys::spawn_with_keys;
use crate::support::{admin, spawn_app_with, TestApp};

fn manifest(path: &str) -> Value {
    let path = format!("{}/../../examples/stripe-app/{path}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))).unwrap()
}

async fn provider(app: &TestApp, id: &str) -> Value {
    let body: Value = app.get("/api/providers", Some(&admin())).send().await.unwrap().json().await.unwrap();
    body["providers"].as_array().unwrap().iter().find(|p| p["id"] == id).unwrap_or_else(|| panic!("no {id} in {body}")).clone()
}

/// `Customers` → `customer_read`: Stripe's read permission of a list.
fn permission_of(table: &str) -> String {
    format!("{}_read", table.to_ascii_lowercase().trim_end_matches('s'))
}

fn assert_permissions_cover(manifest: &Value, provider: &Value) {
    let mut granted: Vec<&str> = manifest["permissions"].as_array().unwrap().iter().map(|p| p["permission"].as_str().unwrap()).collect();
    let mut needed: Vec<String> = provider["data_synced"].as_array().unwrap().iter().map(|t| permission_of(t.as_str().unwrap())).collect();
    granted.sort();
    needed.sort();
    assert_eq!(granted, needed, "a read permission for each table {} reads, and no other", provider["name"]);
}

#[tokio::test]
async fn the_oauth_app_s_manifest_asks_what_the_server_reads_and_returns_where_it_sends() {
    let app =
        spawn_app_with(&["--stripe-oauth=apps", "--public-url=https://connections.example.com", "--embed-urls=https://portal.example.com/admin/connections"])
            .await;
    let stripe = provider(&app, "stripe").await;
    assert_eq!(stripe["dialect"], "stripe-apps");
    let manifest = manifest("stripe-app.json");
    assert_eq!(manifest["stripe_api_access_type"], "oauth");
    assert_permissions_cover(&manifest, &stripe);
    assert_eq!(manifest["allowed_redirect_uris"], stripe["redirect_uris"], "the first is the default Stripe returns to");
}

#[tokio::test]
async fn the_restricted_key_app_s_manifest_asks_what_the_key_dialect_reads() {
    let app = spawn_with_keys().await;
    let stripe_key = provider(&app, "stripe-key").await;
    let manifest = manifest("restricted-key/stripe-app.json");
    assert_eq!(manifest["stripe_api_access_type"], "restricted_api_key");
    assert_permissions_cover(&manifest, &stripe_key);
}
