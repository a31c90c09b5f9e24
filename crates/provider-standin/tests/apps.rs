//! The stand-in against Stripe Apps' documented OAuth 2.0 rules, over real HTTP.

use std::collections::HashMap;
use std::time::Duration;

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use provider_standin::{Standin, StandinConfig, TokenFault, DEMO_EMAIL, DEMO_PASSWORD};
use serde_json::Value;
use sha2::Sha256;
use tokio::sync::mpsc;

const CLIENT_ID: &str = "ca_TestApp";
const SECRET: &str = "sk_test_app";
const REDIRECT: &str = "http://127.0.0.1:9/connections/stripe/callback";
const ACME: &str = "acct_1DemoAcmeBooks00";

struct Harness {
    url: String,
    standin: Standin,
    http: reqwest::Client,
}

async fn start() -> Harness {
    let standin = Standin::new(StandinConfig::demo(CLIENT_ID, SECRET, REDIRECT));
    let url = provider_standin::spawn(standin.clone(), ([127, 0, 0, 1], 0).into()).await.unwrap();
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    Harness { url, standin, http }
}

fn params_of(location: &str) -> HashMap<String, String> {
    assert!(location.starts_with(REDIRECT), "redirected to {location}");
    url::Url::parse(location).unwrap().query_pairs().into_owned().collect()
}

fn location_params(response: &reqwest::Response) -> HashMap<String, String> {
    params_of(response.headers()["location"].to_str().unwrap())
}

impl Harness {
    async fn decide(&self, form: &[(&str, &str)]) -> reqwest::Response {
        self.http.post(format!("{}/apps/oauth/v2/authorize", self.url)).form(form).send().await.unwrap()
    }

    /// Installs the app on the demo account with `state`; returns the redirect's parameters.
    async fn install(&self, state: &str) -> HashMap<String, String> {
        let form = [("client_id", CLIENT_ID), ("state", state), ("decision", "allow"), ("email", DEMO_EMAIL), ("password", DEMO_PASSWORD)];
        let response = self.decide(&form).await;
        assert!(response.status().is_redirection(), "{}", response.status());
        location_params(&response)
    }

    async fn code(&self) -> String {
        self.install("st4te").await["code"].clone()
    }

    async fn token(&self, form: &[(&str, &str)]) -> (u16, Value) {
        let response = self.http.post(format!("{}/v1/oauth/token", self.url)).basic_auth(SECRET, None::<&str>).form(form).send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    async fn exchange(&self, code: &str) -> Value {
        let (status, token) = self.token(&[("grant_type", "authorization_code"), ("code", code)]).await;
        assert_eq!(status, 200, "{token}");
        token
    }

    async fn refresh(&self, refresh_token: &str) -> (u16, Value) {
        self.token(&[("grant_type", "refresh_token"), ("refresh_token", refresh_token)]).await
    }

    async fn account(&self, access_token: &str) -> (u16, Value) {
        let response = self.http.get(format!("{}/v1/account", self.url)).bearer_auth(access_token).send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }
}

fn text(value: &Value, field: &str) -> String {
    value[field].as_str().unwrap_or_else(|| panic!("no {field} in {value}")).to_owned()
}

#[tokio::test]
async fn the_install_page_checks_only_the_app_and_its_redirect_uri() {
    let h = start().await;
    let page = |query: String| h.http.get(format!("{}/apps/oauth/v2/authorize?{query}", h.url)).send();
    // No response_type or scope is needed; a PKCE challenge is ignored, even a `plain` one.
    let ok = page(format!("client_id={CLIENT_ID}&state=s&code_challenge=abc&code_challenge_method=plain")).await.unwrap();
    assert_eq!(ok.status(), 200);
    let html = ok.text().await.unwrap();
    assert!(html.contains("install the app") && html.contains("Connections (demo)"), "{html}");
    assert!(html.contains("action=\"/apps/oauth/v2/authorize\""));
    assert!(html.contains(&format!("name=\"redirect_uri\" value=\"{REDIRECT}\"")), "the first redirect URI is the default");
    assert!(!html.contains("code_challenge"));
    let explicit = page(format!("client_id={CLIENT_ID}&redirect_uri={REDIRECT}")).await.unwrap();
    assert_eq!(explicit.status(), 200);

    let unknown_client = page("client_id=ca_Other&state=s".into()).await.unwrap();
    assert_eq!(unknown_client.status(), 400, "an unknown app is never redirected");
    let foreign = page(format!("client_id={CLIENT_ID}&redirect_uri=https://evil.example/cb")).await.unwrap();
    assert_eq!(foreign.status(), 400, "a redirect URI outside allowed_redirect_uris is never used");
    let forged = h.decide(&[("client_id", CLIENT_ID), ("redirect_uri", "https://evil.example/cb"), ("decision", "allow")]).await;
    assert_eq!(forged.status(), 400, "the decision is validated again");
}

#[tokio::test]
async fn allowing_redirects_with_code_and_state_and_denying_with_access_denied() {
    let h = start().await;
    let params = h.install("st4te").await;
    assert!(params["code"].starts_with("ac_"));
    assert_eq!(params["state"], "st4te");
    assert!(!params.contains_key("scope"));
    assert!(!h.install("").await.contains_key("state"), "no empty state");

    let denied = h.decide(&[("client_id", CLIENT_ID), ("state", "st4te"), ("decision", "deny")]).await;
    let params = location_params(&denied);
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["error_description"], "The user denied your request");
    assert_eq!(params["state"], "st4te");

    let wrong_password = h.decide(&[("client_id", CLIENT_ID), ("decision", "allow"), ("email", DEMO_EMAIL), ("password", "nope")]).await;
    assert_eq!(wrong_password.status(), 401);
    assert!(wrong_password.text().await.unwrap().contains("Incorrect email or password"));
}

#[tokio::test]
async fn install_token_expiry_and_refresh_tokens_that_roll() {
    let h = start().await;
    let token = h.exchange(&h.code().await).await;
    for field in ["access_token", "refresh_token", "token_type", "livemode", "scope", "stripe_publishable_key", "stripe_user_id"] {
        assert!(token.get(field).is_some(), "missing {field} in {token}");
    }
    assert!(token.get("expires_in").is_none(), "Stripe Apps answers no expires_in");
    assert_eq!(token["scope"], "stripe_apps");
    assert_eq!(token["token_type"], "bearer");
    assert_eq!(token["stripe_user_id"], ACME);
    assert_eq!(token["livemode"], false);
    let access = text(&token, "access_token");
    let (status, account) = h.account(&access).await;
    assert_eq!((status, account["id"].as_str()), (200, Some(ACME)));

    h.standin.advance_clock(provider_standin::APPS_ACCESS_TOKEN_LIFETIME_SECS + 1);
    let (status, error) = h.account(&access).await;
    assert_eq!(status, 401, "an access token lasts an hour");
    assert_eq!(error["error"]["type"], "invalid_request_error");
    assert!(!h.standin.token_is_active(&access));

    let first_refresh = text(&token, "refresh_token");
    let (status, renewed) = h.refresh(&first_refresh).await;
    assert_eq!(status, 200, "{renewed}");
    assert!(renewed.get("expires_in").is_none());
    let second_refresh = text(&renewed, "refresh_token");
    assert_ne!(second_refresh, first_refresh, "the refresh token rolls");
    assert_eq!(h.account(&text(&renewed, "access_token")).await.0, 200);

    let (status, error) = h.refresh(&first_refresh).await;
    assert_eq!((status, error["error"].as_str()), (400, Some("invalid_grant")), "the old refresh token stops working");
    assert!(error["error_description"].is_string());
    assert_eq!(h.account(&text(&renewed, "access_token")).await.0, 200, "refusing an old refresh token revokes nothing");

    let (status, again) = h.refresh(&second_refresh).await;
    assert_eq!(status, 200, "{again}");
    assert_ne!(text(&again, "refresh_token"), second_refresh);
    assert_eq!(h.account(&text(&renewed, "access_token")).await.0, 200, "earlier access tokens work until they expire");
}

#[tokio::test]
async fn refresh_tokens_expire_after_a_year() {
    let h = start().await;
    let token = h.exchange(&h.code().await).await;
    h.standin.advance_clock(provider_standin::APPS_REFRESH_TOKEN_LIFETIME_SECS + 1);
    let (status, error) = h.refresh(&text(&token, "refresh_token")).await;
    assert_eq!((status, error["error"].as_str()), (400, Some("invalid_grant")));
}

#[tokio::test]
async fn a_reused_code_revokes_its_tokens_and_codes_expire() {
    let h = start().await;
    let code = h.code().await;
    let token = h.exchange(&code).await;
    let (_, renewed) = h.refresh(&text(&token, "refresh_token")).await;
    let (status, error) = h.token(&[("grant_type", "authorization_code"), ("code", &code)]).await;
    assert_eq!((status, error["error"].as_str()), (400, Some("invalid_grant")));
    assert!(text(&error, "error_description").contains(&code));
    assert_eq!(h.account(&text(&token, "access_token")).await.0, 401);
    assert_eq!(h.account(&text(&renewed, "access_token")).await.0, 401, "the whole grant is revoked");
    assert_eq!(h.refresh(&text(&renewed, "refresh_token")).await.0, 400);

    let code = h.code().await;
    h.standin.advance_clock(provider_standin::CODE_LIFETIME_SECS + 1);
    let (status, error) = h.token(&[("grant_type", "authorization_code"), ("code", &code)]).await;
    assert_eq!((status, error["error"].as_str()), (400, Some("invalid_grant")));
    assert!(text(&error, "error_description").contains("expired"));
}

#[tokio::test]
async fn the_secret_key_is_sent_as_basic_user_or_bearer() {
    let h = start().await;
    let url = format!("{}/v1/oauth/token", h.url);
    let code = h.code().await;
    let bearer = h.http.post(&url).bearer_auth(SECRET).form(&[("grant_type", "authorization_code"), ("code", code.as_str())]);
    assert_eq!(bearer.send().await.unwrap().status(), 200);

    let code = h.code().await;
    let form = [("grant_type", "authorization_code"), ("code", code.as_str())];
    let bad_key = h.http.post(&url).basic_auth("sk_test_other", None::<&str>).form(&form).send().await.unwrap();
    assert_eq!(bad_key.status(), 401);
    assert_eq!(bad_key.json::<Value>().await.unwrap()["error"], "invalid_client");
    let as_field = h.http.post(&url).form(&[("grant_type", "authorization_code"), ("code", &code), ("client_secret", SECRET)]);
    assert_eq!(as_field.send().await.unwrap().status(), 401, "only HTTP authentication is documented");
    assert_eq!(h.token(&form).await.0, 200, "refused requests did not use the code");

    let (status, error) = h.token(&[("grant_type", "password")]).await;
    assert_eq!((status, error["error"].as_str()), (400, Some("unsupported_grant_type")));
    let (status, error) = h.token(&[("grant_type", "authorization_code")]).await;
    assert_eq!((status, error["error"].as_str()), (400, Some("invalid_request")));
    let (status, error) = h.token(&[("grant_type", "authorization_code"), ("code", "ac_doesnotexist")]).await;
    assert_eq!((status, error["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(h.standin.apps_token_requests(), 7);
    assert_eq!(h.standin.token_requests(), 7, "token_requests counts both Stripe token endpoints");
}

#[tokio::test]
async fn token_faults_apply_to_the_apps_token_endpoint() {
    let h = start().await;
    h.standin.set_token_fault(Some(TokenFault::ServerError));
    let (status, body) = h.token(&[("grant_type", "authorization_code"), ("code", &h.code().await)]).await;
    assert_eq!((status, body["error"]["type"].as_str()), (500, Some("api_error")));
    h.standin.set_token_fault(Some(TokenFault::Slow(Duration::from_millis(50))));
    h.exchange(&h.code().await).await;
    h.standin.set_token_fault(None);
    assert_eq!(h.standin.apps_token_requests(), 2);
}

#[tokio::test]
async fn a_late_answer_has_rolled_the_refresh_token_before_it_leaves() {
    let h = start().await;
    let first = h.exchange(&h.code().await).await;
    h.standin.set_token_fault(Some(TokenFault::AnswerLate(Duration::from_millis(1500))));
    // A client that gives up before the answer: the refresh token it sent is spent all the same.
    let impatient = reqwest::Client::builder().timeout(Duration::from_millis(300)).build().unwrap();
    let spent = text(&first, "refresh_token");
    let form = [("grant_type", "refresh_token"), ("refresh_token", spent.as_str())];
    let gave_up = impatient.post(format!("{}/v1/oauth/token", h.url)).basic_auth(SECRET, None::<&str>).form(&form).send().await;
    assert!(gave_up.is_err(), "the answer was held back past the client's patience");
    h.standin.set_token_fault(None);
    let (status, refused) = h.refresh(&text(&first, "refresh_token")).await;
    assert_eq!((status, refused["error"].as_str()), (400, Some("invalid_grant")), "rolled at once, not when the answer left");
    assert_eq!(h.standin.apps_token_requests(), 3);

    // A client that waits gets a working pair, late.
    let second = h.exchange(&h.code().await).await;
    h.standin.set_token_fault(Some(TokenFault::AnswerLate(Duration::from_millis(300))));
    let (status, renewed) = h.refresh(&text(&second, "refresh_token")).await;
    assert_eq!(status, 200, "{renewed}");
    h.standin.set_token_fault(None);
    assert_eq!(h.account(&text(&renewed, "access_token")).await.0, 200);
    assert_eq!(h.refresh(&text(&renewed, "refresh_token")).await.0, 200, "the answered refresh token is the one that works");
}

#[tokio::test]
async fn connect_and_apps_tokens_do_not_cross() {
    let h = start().await;
    let apps = h.exchange(&h.code().await).await;
    let connect = h
        .http
        .post(format!("{}/oauth/token", h.url))
        .basic_auth(SECRET, None::<&str>)
        .form(&[("grant_type", "refresh_token"), ("refresh_token", &text(&apps, "refresh_token"))])
        .send()
        .await
        .unwrap();
    assert_eq!(connect.status(), 400, "an Apps refresh token is unknown to Connect");

    assert_eq!(h.standin.owner_disconnects_app(ACME).await, None, "no Connect webhook set");
    assert_eq!(h.account(&text(&apps, "access_token")).await.0, 200, "disconnecting the Connect platform leaves the app installed");
    assert_eq!(h.standin.active_tokens(), 1);
    assert_eq!(h.standin.expire_access_tokens(ACME), 1);
    let (_, renewed) = h.refresh(&text(&apps, "refresh_token")).await;
    assert_eq!(h.standin.revoke_access(ACME), 2);
    assert_eq!(h.account(&text(&renewed, "access_token")).await.0, 401);
    assert_eq!(h.refresh(&text(&renewed, "refresh_token")).await.0, 400);
}

/// A webhook endpoint that hands every delivery (headers, body) to the test.
async fn receiver() -> (String, mpsc::UnboundedReceiver<(HeaderMap, String)>) {
    let (sender, deliveries) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let sender = sender.clone();
            async move {
                sender.send((headers, body)).unwrap();
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, deliveries)
}

/// Checks `Stripe-Signature` as Stripe's libraries do; answers the event.
fn verified(headers: &HeaderMap, body: &str, secret: &str) -> Value {
    let signature = headers["stripe-signature"].to_str().unwrap();
    let parts: HashMap<&str, &str> = signature.split(',').filter_map(|part| part.split_once('=')).collect();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{}.{body}", parts["t"]).as_bytes());
    let expected = hex::encode(mac.finalize().into_bytes());
    assert_eq!(parts["v1"], expected, "signature of {body}");
    serde_json::from_str(body).unwrap()
}

#[tokio::test]
async fn install_and_uninstall_send_signed_events() {
    let h = start().await;
    let (url, mut deliveries) = receiver().await;
    h.standin.set_apps_webhook(&url, "whsec_apps");
    let token = h.exchange(&h.code().await).await;

    let (headers, body) = tokio::time::timeout(Duration::from_secs(5), deliveries.recv()).await.unwrap().unwrap();
    let event = verified(&headers, &body, "whsec_apps");
    assert_eq!(event["type"], "account.application.authorized");
    assert_eq!(event["account"], ACME);
    assert_eq!(event["object"], "event");
    assert!(text(&event, "id").starts_with("evt_"));
    assert_eq!(event["data"]["object"]["id"], CLIENT_ID);

    assert_eq!(h.standin.owner_uninstalls_app(ACME).await, Some(200));
    let (headers, body) = deliveries.recv().await.unwrap();
    let event = verified(&headers, &body, "whsec_apps");
    assert_eq!(event["type"], "account.application.deauthorized");
    assert_eq!(event["account"], ACME);
    assert_eq!(h.account(&text(&token, "access_token")).await.0, 401, "uninstalling revokes every Apps token");
    assert_eq!(h.refresh(&text(&token, "refresh_token")).await.0, 400);
}

#[tokio::test]
async fn a_marketplace_install_gives_a_code_without_state() {
    let h = start().await;
    let (url, mut deliveries) = receiver().await;
    h.standin.set_apps_webhook(&url, "whsec_apps");
    let location = h.standin.marketplace_install("OWNER@acme.test").expect("a known account");
    let params = params_of(&location);
    assert!(!params.contains_key("state"));
    assert_eq!(h.exchange(&params["code"]).await["stripe_user_id"], ACME);
    let (headers, body) = tokio::time::timeout(Duration::from_secs(5), deliveries.recv()).await.unwrap().unwrap();
    assert_eq!(verified(&headers, &body, "whsec_apps")["type"], "account.application.authorized");
    assert_eq!(h.standin.marketplace_install("nobody@example.test"), None);
}

#[tokio::test]
async fn the_controls_page_offers_marketplace_installs_and_uninstalls() {
    let h = start().await;
    let page = h.http.get(format!("{}/standin", h.url)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&format!("/standin/accounts/{ACME}/marketplace-install")));
    assert!(page.contains(&format!("/standin/accounts/{ACME}/uninstall-app")));

    let shown = h.http.post(format!("{}/standin/accounts/{ACME}/marketplace-install", h.url)).send().await.unwrap();
    assert_eq!(shown.status(), 200);
    let html = shown.text().await.unwrap();
    let href = html.split("href=\"").nth(1).unwrap().split('"').next().unwrap().replace("&amp;", "&");
    h.exchange(&params_of(&href)["code"]).await;

    let uninstalled = h.http.post(format!("{}/standin/accounts/{ACME}/uninstall-app", h.url)).send().await.unwrap();
    assert!(uninstalled.status().is_redirection());
    assert_eq!(h.standin.active_tokens(), 0);
}
