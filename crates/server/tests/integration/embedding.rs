//! A host page on another origin, named in CONNECTIONS_EMBED_URLS: it may load the app and call the
//! API (CORS), frame the app, and be returned to by Stripe. No other origin gains anything.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{admin, assert_problem, spawn_app, spawn_app_with};

const HOST: &str = "http://localhost:9911";
const ELSEWHERE: &str = "http://localhost:9912";

async fn app_for_host() -> crate::support::TestApp {
    spawn_app_with(&[&format!("--embed-urls={HOST}/admin/connections/")]).await
}

fn preflight(app: &crate::support::TestApp, origin: &str) -> reqwest::RequestBuilder {
    app.http
        .request(Method::OPTIONS, format!("{}/api/providers/stripe/attempts", app.url))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization,content-type")
}

#[tokio::test]
async fn a_host_page_may_call_the_api_and_no_other_origin_may() {
    let app = app_for_host().await;
    let allowed = preflight(&app, HOST).send().await.unwrap();
    assert!(allowed.status().is_success(), "{}", allowed.status());
    assert_eq!(allowed.headers()["access-control-allow-origin"], HOST);
    assert_eq!(allowed.headers()["access-control-allow-credentials"], "true");
    let methods = allowed.headers()["access-control-allow-methods"].to_str().unwrap().to_owned();
    assert!(methods.contains("POST"), "{methods}");
    let refused = preflight(&app, ELSEWHERE).send().await.unwrap();
    assert!(!refused.headers().contains_key("access-control-allow-origin"), "another origin got CORS");

    // The real request, as a browser sends it from a page on the same site but another origin.
    let attempt_from = |origin: &'static str, state: &str| {
        let body = json!({ "state": state.repeat(43), "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256" });
        app.post("/api/providers/stripe/attempts", Some(&admin()), &body).header("origin", origin).header("sec-fetch-site", "same-site").send()
    };
    let from_host = attempt_from(HOST, "h").await.unwrap();
    assert_eq!(from_host.status(), 201, "{}", from_host.text().await.unwrap());
    assert_problem(attempt_from(ELSEWHERE, "e").await.unwrap(), 403, "cross_site_request").await;
}

#[tokio::test]
async fn the_host_page_is_a_return_address_and_may_frame_the_app() {
    let app = app_for_host().await;
    let providers: Value = app.get("/api/providers", Some(&admin())).send().await.unwrap().json().await.unwrap();
    let uris = &providers["providers"][0]["redirect_uris"];
    assert_eq!(uris[0], format!("{}/connections/stripe/callback", app.url));
    assert_eq!(uris[1], format!("{HOST}/admin/connections/stripe/callback"));
    let page = app.get("/connections", None).send().await.unwrap();
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.ends_with(&format!("frame-ancestors 'self' {HOST}")), "{csp}");
}

#[tokio::test]
async fn without_host_pages_nothing_is_opened_up() {
    let app = spawn_app().await;
    let response = preflight(&app, HOST).send().await.unwrap();
    assert!(!response.headers().contains_key("access-control-allow-origin"));
    let providers: Value = app.get("/api/providers", Some(&admin())).send().await.unwrap().json().await.unwrap();
    assert_eq!(providers["providers"][0]["redirect_uris"].as_array().unwrap().len(), 1);
    let csp = app.get("/connections", None).send().await.unwrap().headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.ends_with("frame-ancestors 'self'"), "{csp}");
    // A fixture index.html without Trunk's loader: there is no app to embed, and /embed.js says so.
    assert_eq!(app.get("/embed.js", None).send().await.unwrap().status(), 404);
}
