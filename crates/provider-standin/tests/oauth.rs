//! The stand-in against Stripe's documented OAuth rules, over real HTTP.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use provider_standin::{Standin, StandinConfig, DEMO_EMAIL, DEMO_PASSWORD};
use serde_json::Value;
use sha2::{Digest, Sha256};

const CLIENT_ID: &str = "ca_Test";
const SECRET: &str = "sk_test_platform";
const REDIRECT: &str = "http://127.0.0.1:9/connections/stripe/callback";

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

fn location_params(response: &reqwest::Response) -> HashMap<String, String> {
    let location = response.headers()["location"].to_str().unwrap();
    assert!(location.starts_with(REDIRECT), "redirected to {location}");
    url::Url::parse(location).unwrap().query_pairs().into_owned().collect()
}

impl Harness {
    async fn decide(&self, extra: &[(&str, &str)]) -> reqwest::Response {
        let mut form = vec![("client_id", CLIENT_ID), ("redirect_uri", REDIRECT), ("state", "st4te"), ("scope", "read_only")];
        form.extend_from_slice(extra);
        self.http.post(format!("{}/oauth/authorize", self.url)).form(&form).send().await.unwrap()
    }

    /// Signs in and allows; returns the code.
    async fn code(&self, challenge: Option<&str>) -> String {
        let mut extra = vec![("decision", "allow"), ("email", DEMO_EMAIL), ("password", DEMO_PASSWORD)];
        if let Some(challenge) = challenge {
            extra.push(("code_challenge", challenge));
            extra.push(("code_challenge_method", "S256"));
        }
        let response = self.decide(&extra).await;
        assert!(response.status().is_redirection());
        location_params(&response)["code"].clone()
    }

    async fn token(&self, form: &[(&str, &str)]) -> (u16, Value) {
        let response = self.http.post(format!("{}/oauth/token", self.url)).basic_auth(SECRET, None::<&str>).form(form).send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    async fn account_status(&self, access_token: &str) -> u16 {
        self.http.get(format!("{}/v1/account", self.url)).bearer_auth(access_token).send().await.unwrap().status().as_u16()
    }
}

#[tokio::test]
async fn consent_page_is_shown_only_for_a_registered_client_and_redirect_uri() {
    let h = start().await;
    let page = |query: String| h.http.get(format!("{}/oauth/authorize?{query}", h.url)).send();
    let ok = page(format!("response_type=code&client_id={CLIENT_ID}&scope=read_only&state=s&redirect_uri={REDIRECT}")).await.unwrap();
    assert_eq!(ok.status(), 200);
    let html = ok.text().await.unwrap();
    assert!(html.contains("read-only access") && html.contains("Connect my Stripe account"));

    let unknown_client = page("response_type=code&client_id=ca_Other&state=s".into()).await.unwrap();
    assert_eq!(unknown_client.status(), 400, "an unknown client is never redirected");
    let foreign_redirect = page(format!("response_type=code&client_id={CLIENT_ID}&state=s&redirect_uri=https://evil.example/cb")).await.unwrap();
    assert_eq!(foreign_redirect.status(), 400, "an unregistered redirect_uri is never used");

    let bad_scope = page(format!("response_type=code&client_id={CLIENT_ID}&scope=admin&state=s")).await.unwrap();
    assert_eq!(location_params(&bad_scope)["error"], "invalid_scope");
    let plain_pkce = page(format!("response_type=code&client_id={CLIENT_ID}&state=s&code_challenge=abc&code_challenge_method=plain")).await.unwrap();
    assert_eq!(location_params(&plain_pkce)["error"], "invalid_request");
}

#[tokio::test]
async fn allowing_redirects_with_code_scope_and_state_and_denying_with_access_denied() {
    let h = start().await;
    let allowed = h.decide(&[("decision", "allow"), ("email", DEMO_EMAIL), ("password", DEMO_PASSWORD)]).await;
    let params = location_params(&allowed);
    assert!(params["code"].starts_with("ac_"));
    assert_eq!(params["scope"], "read_only");
    assert_eq!(params["state"], "st4te");

    let denied = h.decide(&[("decision", "deny")]).await;
    let params = location_params(&denied);
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["error_description"], "The user denied your request");
    assert_eq!(params["state"], "st4te");

    let wrong_password = h.decide(&[("decision", "allow"), ("email", DEMO_EMAIL), ("password", "nope")]).await;
    assert_eq!(wrong_password.status(), 401);
    assert!(wrong_password.text().await.unwrap().contains("Incorrect email or password"));
}

#[tokio::test]
async fn a_code_exchanges_once_for_stripes_token_fields() {
    let h = start().await;
    let code = h.code(None).await;
    let (status, token) = h.token(&[("grant_type", "authorization_code"), ("code", &code)]).await;
    assert_eq!(status, 200, "{token}");
    for field in ["access_token", "refresh_token", "token_type", "livemode", "stripe_publishable_key", "stripe_user_id", "scope"] {
        assert!(token.get(field).is_some(), "missing {field}");
    }
    assert_eq!(token["token_type"], "bearer");
    assert_eq!(token["stripe_user_id"], "acct_1DemoAcmeBooks00");
    assert_eq!(token["livemode"], false);
    let access_token = token["access_token"].as_str().unwrap();
    assert_eq!(h.account_status(access_token).await, 200);

    // Reuse: invalid_grant, and the token issued from that code is revoked.
    let (status, error) = h.token(&[("grant_type", "authorization_code"), ("code", &code)]).await;
    assert_eq!(status, 400);
    assert_eq!(error["error"], "invalid_grant");
    assert!(error["error_description"].as_str().unwrap().contains(&code));
    assert_eq!(h.account_status(access_token).await, 401);
    assert_eq!(h.standin.token_requests(), 2);
}

#[tokio::test]
async fn codes_expire_after_five_minutes() {
    let h = start().await;
    let code = h.code(None).await;
    h.standin.advance_clock(provider_standin::CODE_LIFETIME_SECS + 1);
    let (status, error) = h.token(&[("grant_type", "authorization_code"), ("code", &code)]).await;
    assert_eq!((status, error["error"].as_str()), (400, Some("invalid_grant")));
    assert!(error["error_description"].as_str().unwrap().contains("expired"));
}

#[tokio::test]
async fn pkce_is_checked_when_a_challenge_was_sent() {
    let h = start().await;
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let code = h.code(Some(&challenge)).await;
    let (status, error) = h.token(&[("grant_type", "authorization_code"), ("code", &code), ("code_verifier", &verifier.replace('d', "e"))]).await;
    assert_eq!((status, error["error"].as_str()), (400, Some("invalid_grant")));

    let code = h.code(Some(&challenge)).await;
    let (status, _) = h.token(&[("grant_type", "authorization_code"), ("code", &code), ("code_verifier", verifier)]).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn the_secret_key_is_accepted_three_ways_and_required() {
    let h = start().await;
    let url = format!("{}/oauth/token", h.url);
    let code = h.code(None).await;
    let as_field = h.http.post(&url).form(&[("grant_type", "authorization_code"), ("code", code.as_str()), ("client_secret", SECRET)]);
    assert_eq!(as_field.send().await.unwrap().status(), 200);
    let code = h.code(None).await;
    let as_bearer = h.http.post(&url).bearer_auth(SECRET).form(&[("grant_type", "authorization_code"), ("code", code.as_str())]);
    assert_eq!(as_bearer.send().await.unwrap().status(), 200);

    let code = h.code(None).await;
    let without = h.http.post(&url).form(&[("grant_type", "authorization_code"), ("code", code.as_str())]).send().await.unwrap();
    assert_eq!(without.status(), 401);
    assert_eq!(without.json::<Value>().await.unwrap()["error"], "invalid_client");
    let (status, error) = h.token(&[("grant_type", "password")]).await;
    assert_eq!((status, error["error"].as_str()), (400, Some("unsupported_grant_type")));
    let (status, error) = h.token(&[("grant_type", "authorization_code"), ("code", "ac_doesnotexist")]).await;
    assert_eq!((status, error["error"].as_str()), (400, Some("invalid_grant")));
}

#[tokio::test]
async fn refresh_and_deauthorize() {
    let h = start().await;
    let code = h.code(None).await;
    let (_, token) = h.token(&[("grant_type", "authorization_code"), ("code", &code)]).await;
    let refresh = token["refresh_token"].as_str().unwrap();
    let (status, renewed) = h.token(&[("grant_type", "refresh_token"), ("refresh_token", refresh)]).await;
    assert_eq!(status, 200);
    assert_ne!(renewed["access_token"], token["access_token"]);

    let deauthorize = || {
        h.http
            .post(format!("{}/oauth/deauthorize", h.url))
            .basic_auth(SECRET, None::<&str>)
            .form(&[("client_id", CLIENT_ID), ("stripe_user_id", "acct_1DemoAcmeBooks00")])
            .send()
    };
    let first = deauthorize().await.unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(first.json::<Value>().await.unwrap()["stripe_user_id"], "acct_1DemoAcmeBooks00");
    assert_eq!(h.account_status(renewed["access_token"].as_str().unwrap()).await, 401);
    let again = deauthorize().await.unwrap();
    assert_eq!(again.status(), 401);
    assert_eq!(again.json::<Value>().await.unwrap()["error"], "invalid_client");
}

#[tokio::test]
async fn account_with_the_platform_key_and_stripe_account_header() {
    let h = start().await;
    let code = h.code(None).await;
    h.token(&[("grant_type", "authorization_code"), ("code", &code)]).await;
    let response = h.http.get(format!("{}/v1/account", h.url)).bearer_auth(SECRET).header("Stripe-Account", "acct_1DemoAcmeBooks00").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let account: Value = response.json().await.unwrap();
    assert_eq!(account["business_profile"]["name"], "Acme Books Ltd");
    assert_eq!(h.account_status("sk_test_unknown").await, 401);
}

/// The controls for a provider misbehaving in its lists: a `created` no calendar holds on the newest
/// object, and answers padded far beyond what was asked.
#[tokio::test]
async fn lists_can_carry_any_created_time_and_padding() {
    let h = start().await;
    let code = h.code(None).await;
    let (_, token) = h.token(&[("grant_type", "authorization_code"), ("code", &code)]).await;
    let access_token = token["access_token"].as_str().unwrap().to_owned();
    let list = || async {
        let response = h.http.get(format!("{}/v1/charges?limit=2", h.url)).bearer_auth(&access_token).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.json::<Value>().await.unwrap()
    };
    let plain = list().await;
    let now = plain["data"][0]["created"].as_i64().unwrap();
    assert!(plain.get("padding").is_none());

    h.standin.list_created(Some(i64::MAX));
    h.standin.pad_lists(Some(10_000));
    let odd = list().await;
    assert_eq!(odd["data"][0]["created"], i64::MAX, "the newest object");
    assert_eq!(odd["data"][1]["created"], now - 3600, "the others keep their times");
    assert_eq!(odd["padding"].as_str().unwrap().len(), 10_000);

    h.standin.list_created(None);
    h.standin.pad_lists(None);
    assert_eq!(list().await, plain);
}
