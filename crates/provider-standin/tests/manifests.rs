//! The Stripe App manifests in `examples/stripe-app/` against what the stand-in (like Stripe) serves:
//! Stripe's required fields, one read permission with a purpose per list, and redirect URIs that are
//! the server's callback path.

use provider_standin::STRIPE_LISTS;
use serde_json::Value;

fn manifest(path: &str) -> Value {
    let path = format!("{}/../../examples/stripe-app/{path}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// What both manifests must say, as Stripe's manifest schema requires and the product needs.
fn check_common(manifest: &Value, dir: &str) {
    for field in ["id", "version", "name", "icon"] {
        assert!(manifest[field].as_str().is_some_and(|v| !v.is_empty()), "{dir}: {field}");
    }
    assert!(manifest["id"].as_str().unwrap().chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c)));
    let icon = manifest["icon"].as_str().unwrap();
    assert!(icon.starts_with("./") && icon.ends_with(".png"));
    let icon_path = format!("{}/../../examples/stripe-app/{dir}{}", env!("CARGO_MANIFEST_DIR"), &icon[1..]);
    assert!(std::fs::read(&icon_path).is_ok_and(|png| png.starts_with(b"\x89PNG")), "{icon_path}");
    assert!(manifest["ui_extension"].is_object(), "{dir}: ui_extension is required");
    assert_eq!(manifest["distribution_type"], "public");
    assert_eq!(manifest["sandbox_install_compatible"], true);

    let permissions = manifest["permissions"].as_array().expect("permissions");
    let mut names: Vec<&str> = permissions.iter().map(|p| p["permission"].as_str().unwrap()).collect();
    for permission in permissions {
        assert!(permission["purpose"].as_str().is_some_and(|p| !p.trim().is_empty()), "{permission}");
        assert_eq!(permission.as_object().unwrap().len(), 2, "only permission and purpose: {permission}");
    }
    let mut wanted: Vec<String> = STRIPE_LISTS.iter().map(|list| format!("{}_read", list.trim_end_matches('s'))).collect();
    names.sort();
    wanted.sort();
    assert_eq!(names, wanted, "{dir}: exactly a read permission per table");
}

#[test]
fn the_oauth_app_returns_to_the_server_s_callback() {
    let manifest = manifest("stripe-app.json");
    check_common(&manifest, "");
    assert_eq!(manifest["stripe_api_access_type"], "oauth");
    let uris = manifest["allowed_redirect_uris"].as_array().expect("allowed_redirect_uris");
    assert!(!uris.is_empty());
    for uri in uris {
        let uri = url::Url::parse(uri.as_str().unwrap()).unwrap();
        assert_eq!(uri.scheme(), "https", "{uri}");
        assert!(uri.path().ends_with("/stripe/callback") && uri.query().is_none(), "{uri}");
    }
    assert_eq!(url::Url::parse(uris[0].as_str().unwrap()).unwrap().path(), "/connections/stripe/callback", "the first is PUBLIC_URL's");
}

#[test]
fn the_restricted_key_app_asks_the_same_permissions() {
    let manifest = manifest("restricted-key/stripe-app.json");
    check_common(&manifest, "restricted-key/");
    assert_eq!(manifest["stripe_api_access_type"], "restricted_api_key");
    assert!(manifest.get("allowed_redirect_uris").is_none(), "a restricted-key app returns nowhere");
    assert_eq!(manifest["post_install_action"]["type"], "external");
    assert_ne!(manifest["id"], self::manifest("stripe-app.json")["id"], "two apps, two ids");
}
