//! Stripe Apps' modes over real HTTP: each mode's install link issues codes that only that mode's
//! secret key exchanges and refreshes, with `livemode` to match.

use std::collections::HashMap;

use provider_standin::{Standin, StandinConfig, StripeMode, DEMO_EMAIL, DEMO_PASSWORD};
use serde_json::Value;

const CLIENT_ID: &str = "ca_ModesApp";
const LIVE: &str = "sk_live_app";
const TEST: &str = "sk_test_app";
const SANDBOX: &str = "sk_test_sandbox_app";
const REDIRECT: &str = "http://127.0.0.1:9/connections/stripe/callback";

struct Harness {
    url: String,
    http: reqwest::Client,
}

async fn start() -> Harness {
    let config = StandinConfig::demo(CLIENT_ID, LIVE, REDIRECT).with_app_mode_key(StripeMode::Test, TEST).with_app_mode_key(StripeMode::Sandbox, SANDBOX);
    let url = provider_standin::spawn(Standin::new(config), ([127, 0, 0, 1], 0).into()).await.unwrap();
    Harness { url, http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap() }
}

impl Harness {
    /// Installs through `link` (e.g. `/apps/oauth/v2/test/authorize`) on the demo account; answers the code.
    async fn code(&self, link: &str) -> String {
        let form = [("client_id", CLIENT_ID), ("state", "s"), ("decision", "allow"), ("email", DEMO_EMAIL), ("password", DEMO_PASSWORD)];
        let response = self.http.post(format!("{}{link}", self.url)).form(&form).send().await.unwrap();
        assert!(response.status().is_redirection(), "{}", response.status());
        let location = response.headers()["location"].to_str().unwrap();
        let params: HashMap<String, String> = url::Url::parse(location).unwrap().query_pairs().into_owned().collect();
        params["code"].clone()
    }

    async fn token(&self, key: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let response = self.http.post(format!("{}/v1/oauth/token", self.url)).basic_auth(key, None::<&str>).form(form).send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    async fn exchange(&self, key: &str, code: &str) -> (u16, Value) {
        self.token(key, &[("grant_type", "authorization_code"), ("code", code)]).await
    }
}

#[tokio::test]
async fn each_mode_has_its_own_install_link_saying_so() {
    let h = start().await;
    for mode in ["live", "test", "sandbox"] {
        let page = h.http.get(format!("{}/apps/oauth/v2/{mode}/authorize?client_id={CLIENT_ID}", h.url)).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains(&format!("action=\"/apps/oauth/v2/{mode}/authorize\"")), "{html}");
        assert!(html.contains(&format!("({mode} mode)")), "{html}");
    }
    let unknown = h.http.get(format!("{}/apps/oauth/v2/staging/authorize?client_id={CLIENT_ID}", h.url)).send().await.unwrap();
    assert_eq!(unknown.status(), 400);
}

#[tokio::test]
async fn a_code_is_exchanged_only_with_the_key_of_its_mode() {
    let h = start().await;
    let cases = [("test", TEST, LIVE, false), ("live", LIVE, TEST, true), ("sandbox", SANDBOX, TEST, false)];
    for (mode, right, wrong, livemode) in cases {
        let code = h.code(&format!("/apps/oauth/v2/{mode}/authorize")).await;
        let (status, refused) = h.exchange(wrong, &code).await;
        assert_eq!(status, 400, "{mode}: {refused}");
        assert_eq!(refused["error"], "invalid_grant");
        assert_eq!(refused["error_description"], "Authorization code provided does not belong to you");
        let (status, token) = h.exchange(right, &code).await;
        assert_eq!(status, 200, "{mode}: the refusal left the code usable: {token}");
        assert_eq!(token["livemode"], livemode, "{mode}");
        let prefix = if livemode { "sk_live_" } else { "sk_test_" };
        assert!(token["access_token"].as_str().unwrap().starts_with(prefix), "{token}");

        let refresh_token = token["refresh_token"].as_str().unwrap();
        let (status, refused) = h.token(wrong, &[("grant_type", "refresh_token"), ("refresh_token", refresh_token)]).await;
        assert_eq!((status, refused["error"].as_str()), (400, Some("invalid_grant")), "{mode}: {refused}");
        let (status, refreshed) = h.token(right, &[("grant_type", "refresh_token"), ("refresh_token", refresh_token)]).await;
        assert_eq!(status, 200, "{mode}: {refreshed}");
        assert_eq!(refreshed["livemode"], livemode);
    }
}

#[tokio::test]
async fn the_mode_less_link_is_live_keyed_and_an_unknown_key_is_no_client() {
    let h = start().await;
    let code = h.code("/apps/oauth/v2/authorize").await;
    let (status, refused) = h.exchange(TEST, &code).await;
    assert_eq!((status, refused["error_description"].as_str()), (400, Some("Authorization code provided does not belong to you")));
    let (status, token) = h.exchange(LIVE, &code).await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["livemode"], false, "the mode-less link keeps the account's own flag (the demo account is a test one)");

    let code = h.code("/apps/oauth/v2/test/authorize").await;
    let (status, refused) = h.exchange("sk_test_unknown", &code).await;
    assert_eq!((status, refused["error"].as_str()), (401, Some("invalid_client")));
}

#[tokio::test]
async fn a_marketplace_install_in_a_mode_returns_to_the_address_asked_with_a_code_of_that_mode() {
    let test_return = "http://127.0.0.1:9/connections/stripe/callback/test";
    let standin = Standin::new(StandinConfig::demo(CLIENT_ID, LIVE, REDIRECT).with_app_mode_key(StripeMode::Test, TEST));
    standin.register_redirect_uri(test_return);
    let url = provider_standin::spawn(standin.clone(), ([127, 0, 0, 1], 0).into()).await.unwrap();
    let h = Harness { url, http: reqwest::Client::new() };

    assert!(standin.marketplace_install_in(DEMO_EMAIL, StripeMode::Test, Some("https://evil.example/cb")).is_none(), "only allowed_redirect_uris");
    let location = standin.marketplace_install_in(DEMO_EMAIL, StripeMode::Test, Some(test_return)).unwrap();
    assert!(location.starts_with(&format!("{test_return}?code=")) && !location.contains("state="), "{location}");
    let code = location.split("code=").nth(1).unwrap();
    assert_eq!(h.exchange(LIVE, code).await.0, 400);
    let (status, token) = h.exchange(TEST, code).await;
    assert_eq!((status, token["livemode"].as_bool()), (200, Some(false)), "{token}");

    let location = standin.marketplace_install_in(DEMO_EMAIL, StripeMode::Live, None).unwrap();
    assert!(location.starts_with(REDIRECT), "the first allowed redirect URI by default");
    let (status, token) = h.exchange(LIVE, location.split("code=").nth(1).unwrap()).await;
    assert_eq!((status, token["livemode"].as_bool()), (200, Some(true)));
}

#[tokio::test]
async fn uninstalling_in_one_mode_ends_that_mode_s_grants_only_and_tells_that_mode_s_webhook() {
    use axum::routing::post;
    let (events, mut received) = tokio::sync::mpsc::unbounded_channel::<(String, Value)>();
    let receiver = axum::Router::new().route(
        "/{mode}",
        post(move |axum::extract::Path(mode): axum::extract::Path<String>, body: String| {
            let events = events.clone();
            async move {
                events.send((mode, serde_json::from_str(&body).unwrap())).unwrap();
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hooks = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, receiver).await });

    let standin = Standin::new(StandinConfig::demo(CLIENT_ID, LIVE, REDIRECT).with_app_mode_key(StripeMode::Test, TEST));
    standin.set_apps_webhook(&format!("{hooks}/default"), "whsec_default");
    standin.set_apps_mode_webhook(StripeMode::Test, &format!("{hooks}/test"), "whsec_test");
    let url = provider_standin::spawn(standin.clone(), ([127, 0, 0, 1], 0).into()).await.unwrap();
    let h = Harness { url, http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap() };

    let test_code = h.code("/apps/oauth/v2/test/authorize").await;
    let (mode, installed) = received.recv().await.unwrap();
    assert_eq!((mode.as_str(), installed["type"].as_str(), installed["livemode"].as_bool()), ("test", Some("account.application.authorized"), Some(false)));
    let live_code = h.code("/apps/oauth/v2/live/authorize").await;
    let (mode, installed) = received.recv().await.unwrap();
    assert_eq!((mode.as_str(), installed["livemode"].as_bool()), ("default", Some(true)), "live has no webhook of its own here");
    let test_token = h.exchange(TEST, &test_code).await.1["access_token"].as_str().unwrap().to_owned();
    let live_token = h.exchange(LIVE, &live_code).await.1["access_token"].as_str().unwrap().to_owned();

    assert_eq!(standin.owner_uninstalls_app_in("acct_1DemoAcmeBooks00", StripeMode::Test).await, Some(200));
    let (mode, event) = received.recv().await.unwrap();
    assert_eq!((mode.as_str(), event["type"].as_str(), event["livemode"].as_bool()), ("test", Some("account.application.deauthorized"), Some(false)));
    assert!(!standin.token_is_active(&test_token));
    assert!(standin.token_is_active(&live_token), "the live install stays");
}

#[tokio::test]
async fn the_controls_page_installs_from_the_marketplace_in_test_mode() {
    let h = start().await;
    let page = h.http.get(format!("{}/standin", h.url)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Install the app from the Marketplace in test mode"), "{page}");
    let installed = h.http.post(format!("{}/standin/accounts/acct_1DemoGlobexCorp0/marketplace-install-test", h.url)).send().await.unwrap();
    assert_eq!(installed.status(), 200);
    let html = installed.text().await.unwrap();
    let code = html.split("code=").nth(1).and_then(|rest| rest.split('"').next()).unwrap_or_else(|| panic!("{html}")).to_owned();
    assert_eq!(h.exchange(LIVE, &code).await.0, 400, "a test-mode install");
    let (status, token) = h.exchange(TEST, &code).await;
    assert_eq!((status, token["livemode"].as_bool()), (200, Some(false)), "a live account's test-mode install is not live: {token}");
    let unknown = h.http.post(format!("{}/standin/accounts/acct_1DemoGlobexCorp0/marketplace-install-staging", h.url)).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
}
