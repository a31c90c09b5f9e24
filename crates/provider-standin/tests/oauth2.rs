//! The generic realms against RFC 6749, RFC 7636, RFC 7009 and RFC 9700's refresh token rotation, over
//! real HTTP.

use std::collections::HashMap;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use provider_standin::{ClientAuth, Realm, Standin, StandinConfig, TokenFault, DEMO_PASSWORD};
use serde_json::Value;
use sha2::{Digest, Sha256};

const REDIRECT: &str = "http://127.0.0.1:9/connections/crm/callback";
const CRM_ID: &str = "crm-client";
const CRM_SECRET: &str = "crm-secret";
const ADS_ID: &str = "ads-client";
const ADS_SECRET: &str = "ads-secret";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const SALES: &str = "sales@northwind.test";

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

struct Harness {
    url: String,
    standin: Standin,
    http: reqwest::Client,
}

async fn start_with(crm: Realm) -> Harness {
    let config = StandinConfig::demo("ca_Test", "sk_test_platform", REDIRECT).with_realm(crm).with_realm(Realm::demo_ads(ADS_ID, ADS_SECRET, REDIRECT));
    let standin = Standin::new(config);
    let url = provider_standin::spawn(standin.clone(), ([127, 0, 0, 1], 0).into()).await.unwrap();
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    Harness { url, standin, http }
}

async fn start() -> Harness {
    start_with(Realm::demo_crm(CRM_ID, CRM_SECRET, REDIRECT)).await
}

fn location_params(response: &reqwest::Response) -> HashMap<String, String> {
    assert!(response.status().is_redirection(), "{}", response.status());
    let location = response.headers()["location"].to_str().unwrap();
    assert!(location.starts_with(REDIRECT), "redirected to {location}");
    url::Url::parse(location).unwrap().query_pairs().into_owned().collect()
}

/// A complete, valid authorization request for the CRM, as pairs to edit.
fn crm_request() -> Vec<(&'static str, String)> {
    vec![
        ("response_type", "code".into()),
        ("client_id", CRM_ID.into()),
        ("redirect_uri", REDIRECT.into()),
        ("scope", "contacts.read deals.read".into()),
        ("state", "st4te".into()),
        ("code_challenge", challenge(VERIFIER)),
        ("code_challenge_method", "S256".into()),
    ]
}

fn without(mut pairs: Vec<(&'static str, String)>, name: &str) -> Vec<(&'static str, String)> {
    pairs.retain(|(n, _)| *n != name);
    pairs
}

fn with(mut pairs: Vec<(&'static str, String)>, name: &'static str, value: &str) -> Vec<(&'static str, String)> {
    pairs.retain(|(n, _)| *n != name);
    pairs.push((name, value.into()));
    pairs
}

impl Harness {
    async fn authorize_page(&self, realm: &str, pairs: &[(&str, String)]) -> reqwest::Response {
        self.http.get(format!("{}/oauth2/{realm}/authorize", self.url)).query(pairs).send().await.unwrap()
    }

    async fn decide(&self, realm: &str, pairs: &[(&str, String)]) -> reqwest::Response {
        self.http.post(format!("{}/oauth2/{realm}/authorize", self.url)).form(pairs).send().await.unwrap()
    }

    /// Signs in to the CRM as `email` and allows; returns the code.
    async fn crm_code(&self, email: &str) -> String {
        let mut pairs = crm_request();
        pairs.extend([("decision", "allow".into()), ("email", email.into()), ("password", DEMO_PASSWORD.into())]);
        location_params(&self.decide("crm", &pairs).await)["code"].clone()
    }

    /// `POST /oauth2/crm/token` with HTTP Basic, as the CRM requires.
    async fn crm_token(&self, form: &[(&str, &str)]) -> (u16, HashMap<String, String>, Value) {
        let request = self.http.post(format!("{}/oauth2/crm/token", self.url)).basic_auth(CRM_ID, Some(CRM_SECRET)).form(form);
        answer(request).await
    }

    async fn crm_exchange(&self, code: &str) -> Value {
        let (status, _, token) = self.crm_token(&exchange_form(code)).await;
        assert_eq!(status, 200, "{token}");
        token
    }

    async fn crm_refresh(&self, refresh_token: &str) -> (u16, Value) {
        let (status, _, body) = self.crm_token(&[("grant_type", "refresh_token"), ("refresh_token", refresh_token)]).await;
        (status, body)
    }

    async fn crm_refresh_scoped(&self, refresh_token: &str, scope: &str) -> (u16, Value) {
        let (status, _, body) = self.crm_token(&[("grant_type", "refresh_token"), ("refresh_token", refresh_token), ("scope", scope)]).await;
        (status, body)
    }

    async fn me(&self, realm: &str, access_token: &str) -> (u16, HashMap<String, String>, Value) {
        answer(self.http.get(format!("{}/oauth2/{realm}/api/me", self.url)).bearer_auth(access_token)).await
    }
}

/// Status, headers (lower-case names) and JSON body (`null` when empty).
async fn answer(request: reqwest::RequestBuilder) -> (u16, HashMap<String, String>, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().iter().map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned())).collect();
    let body = response.text().await.unwrap();
    (status, headers, if body.is_empty() { Value::Null } else { serde_json::from_str(&body).unwrap() })
}

/// A correct `authorization_code` exchange of the CRM's code.
fn exchange_form(code: &str) -> [(&str, &str); 4] {
    [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", REDIRECT), ("code_verifier", VERIFIER)]
}

fn text(value: &Value, field: &str) -> String {
    value[field].as_str().unwrap_or_else(|| panic!("no {field} in {value}")).to_owned()
}

#[tokio::test]
async fn authorize_refuses_client_and_redirect_uri_errors_on_a_page() {
    let h = start().await;
    let ok = h.authorize_page("crm", &with(crm_request(), "access_type", "offline")).await;
    assert_eq!(ok.status(), 200, "extra parameters are ignored");
    let html = ok.text().await.unwrap();
    assert!(html.contains("Northwind CRM") && html.contains("contacts.read, deals.read"), "{html}");
    assert!(html.contains("action=\"/oauth2/crm/authorize\""));

    for (case, pairs) in [
        ("no redirect_uri", without(crm_request(), "redirect_uri")),
        ("unregistered redirect_uri", with(crm_request(), "redirect_uri", "http://127.0.0.1:9/connections/crm/callback/")),
        ("unknown client", with(crm_request(), "client_id", ADS_ID)),
        ("repeated redirect_uri", [crm_request(), vec![("redirect_uri", REDIRECT.into())]].concat()),
    ] {
        let response = h.authorize_page("crm", &pairs).await;
        assert_eq!(response.status(), 400, "{case} is shown, never redirected");
    }
    assert_eq!(h.authorize_page("nowhere", &crm_request()).await.status(), 404);
}

#[tokio::test]
async fn authorize_requires_pkce_s256_a_code_response_and_known_scopes() {
    let h = &start().await;
    let error = |pairs: Vec<(&'static str, String)>| async move {
        let params = location_params(&h.authorize_page("crm", &pairs).await);
        assert_eq!(params["state"], "st4te", "errors carry the state back");
        (params["error"].clone(), params.get("error_description").cloned().unwrap_or_default())
    };
    let (code, description) = error(without(crm_request(), "code_challenge")).await;
    assert_eq!(code, "invalid_request");
    assert!(description.contains("PKCE is required"), "{description}");
    assert_eq!(error(with(crm_request(), "code_challenge_method", "plain")).await.0, "invalid_request");
    assert_eq!(error(without(crm_request(), "code_challenge_method")).await.0, "invalid_request", "absent means plain");
    assert_eq!(error(with(crm_request(), "code_challenge", "too-short")).await.0, "invalid_request");
    assert_eq!(error(without(crm_request(), "response_type")).await.0, "invalid_request");
    assert_eq!(error(with(crm_request(), "response_type", "token")).await.0, "unsupported_response_type");
    assert_eq!(error(with(crm_request(), "scope", "contacts.read contacts.write")).await.0, "invalid_scope");
    assert_eq!(error(without(crm_request(), "scope")).await.0, "invalid_scope");
    assert_eq!(error([crm_request(), vec![("scope", "deals.read".into())]].concat()).await.0, "invalid_request", "a repeated parameter");
    let crm_scopes_at_ads = with(crm_request(), "client_id", ADS_ID);
    assert_eq!(location_params(&h.authorize_page("ads", &crm_scopes_at_ads).await)["error"], "invalid_scope", "scopes are per realm");
}

#[tokio::test]
async fn consent_redirects_with_code_and_state_or_access_denied() {
    let h = start().await;
    let code = h.crm_code(SALES).await;
    assert!(code.len() >= 32);
    let mut allow = crm_request();
    allow.extend([("decision", "allow".into()), ("email", SALES.into()), ("password", DEMO_PASSWORD.into())]);
    let params = location_params(&h.decide("crm", &allow).await);
    assert_eq!(params["state"], "st4te");
    assert_eq!(params.len(), 2, "only code and state: {params:?}");

    let denied = location_params(&h.decide("crm", &with(crm_request(), "decision", "deny")).await);
    assert_eq!((denied["error"].as_str(), denied["state"].as_str()), ("access_denied", "st4te"));

    let repeated = h.decide("crm", &[allow, vec![("password", "nope".into())]].concat()).await;
    assert_eq!(location_params(&repeated)["error"], "invalid_request", "a repeated parameter is refused before signing in");
    let mut wrong = crm_request();
    wrong.extend([("decision", "allow".into()), ("email", SALES.into()), ("password", "nope".into())]);
    assert_eq!(h.decide("crm", &wrong).await.status(), 401);
    let forged = h.decide("crm", &with(with(crm_request(), "decision", "allow"), "redirect_uri", "https://evil.example/cb")).await;
    assert_eq!(forged.status(), 400, "the decision is validated again");
}

#[tokio::test]
async fn the_code_exchange_requires_the_same_redirect_uri_and_the_verifier() {
    let h = &start().await;
    let refused = |form: Vec<(&'static str, String)>| async move {
        let code = h.crm_code(SALES).await;
        let mut form = form;
        form.push(("code", code));
        let pairs: Vec<(&str, &str)> = form.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let (status, _, error) = h.crm_token(&pairs).await;
        assert_eq!(status, 400, "{error}");
        text(&error, "error")
    };
    let base = || vec![("grant_type", "authorization_code".to_owned()), ("redirect_uri", REDIRECT.into()), ("code_verifier", VERIFIER.into())];
    assert_eq!(refused(without(base(), "redirect_uri")).await, "invalid_grant", "redirect_uri is required");
    assert_eq!(refused(with(base(), "redirect_uri", "http://127.0.0.1:9/other")).await, "invalid_grant");
    assert_eq!(refused(without(base(), "code_verifier")).await, "invalid_grant", "code_verifier is required");
    assert_eq!(refused(with(base(), "code_verifier", &VERIFIER.replace('d', "e"))).await, "invalid_grant");
    assert_eq!(refused(with(base(), "grant_type", "password")).await, "unsupported_grant_type");

    let code = h.crm_code(SALES).await;
    let (status, headers, token) = h.crm_token(&exchange_form(&code)).await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], 3600);
    assert_eq!(token["scope"], "contacts.read deals.read");
    assert!(token["access_token"].is_string() && token["refresh_token"].is_string());
    assert_eq!(h.standin.realm_token_requests("crm"), 6);
    assert_eq!(h.standin.realm_token_requests("ads"), 0);
    assert_eq!(h.standin.token_requests(), 0, "realms are counted apart from Stripe");
}

#[tokio::test]
async fn a_reused_code_or_an_expired_one_is_refused_and_reuse_revokes() {
    let h = start().await;
    let code = h.crm_code(SALES).await;
    let token = h.crm_exchange(&code).await;
    let (status, _, error) = h.crm_token(&exchange_form(&code)).await;
    assert_eq!((status, error["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(h.me("crm", &text(&token, "access_token")).await.0, 401, "what the code issued is revoked");
    assert_eq!(h.crm_refresh(&text(&token, "refresh_token")).await.0, 400);

    let code = h.crm_code(SALES).await;
    h.standin.advance_clock(provider_standin::REALM_CODE_LIFETIME_SECS + 1);
    let (status, _, error) = h.crm_token(&exchange_form(&code)).await;
    assert_eq!((status, error["error"].as_str()), (400, Some("invalid_grant")));
}

#[tokio::test]
async fn basic_client_authentication_is_form_urlencoded_and_required() {
    let secret = "s3 cr:t/+=%";
    let h = start_with(Realm::demo_crm(CRM_ID, secret, REDIRECT)).await;
    let url = format!("{}/oauth2/crm/token", h.url);
    let code = h.crm_code(SALES).await;
    let form = exchange_form(&code);
    let basic = |id: &str, secret: &str| format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")));

    let raw = answer(h.http.post(&url).header("authorization", basic(CRM_ID, secret)).form(&form)).await;
    assert_eq!(raw.0, 401, "an unencoded secret is not the secret");
    assert_eq!(raw.2["error"], "invalid_client");
    assert!(raw.1["www-authenticate"].starts_with("Basic"));
    let in_body = answer(h.http.post(&url).form(&[&form[..], &[("client_id", CRM_ID), ("client_secret", secret)]].concat())).await;
    assert_eq!((in_body.0, in_body.2["error"].as_str()), (401, Some("invalid_client")), "the other method is refused");
    assert!(in_body.1["www-authenticate"].starts_with("Basic"));
    let none = answer(h.http.post(&url).form(&form)).await;
    assert_eq!(none.0, 401);

    let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let ok = answer(h.http.post(&url).header("authorization", basic(CRM_ID, &encoded)).form(&form)).await;
    assert_eq!(ok.0, 200, "{}", ok.2);
}

#[tokio::test]
async fn body_client_authentication_refuses_http_basic() {
    let h = start().await;
    let mut pairs = with(with(crm_request(), "client_id", ADS_ID), "scope", "campaigns.read reports.read");
    pairs.extend([("decision", "allow".into()), ("email", "growth@acme.test".into()), ("password", DEMO_PASSWORD.into())]);
    let code = location_params(&h.decide("ads", &pairs).await)["code"].clone();
    let url = format!("{}/oauth2/ads/token", h.url);
    let form = exchange_form(&code);

    let basic = answer(h.http.post(&url).basic_auth(ADS_ID, Some(ADS_SECRET)).form(&form)).await;
    assert_eq!((basic.0, basic.2["error"].as_str()), (401, Some("invalid_client")));
    assert!(basic.1["www-authenticate"].starts_with("Basic"), "a client that tried HTTP authentication is challenged");
    let wrong = answer(h.http.post(&url).form(&[&form[..], &[("client_id", ADS_ID), ("client_secret", "nope")]].concat())).await;
    assert_eq!((wrong.0, wrong.2["error"].as_str()), (401, Some("invalid_client")));

    let ok = answer(h.http.post(&url).form(&[&form[..], &[("client_id", ADS_ID), ("client_secret", ADS_SECRET)]].concat())).await;
    assert_eq!(ok.0, 200, "{}", ok.2);
    let (status, _, me) = h.me("ads", &text(&ok.2, "access_token")).await;
    assert_eq!(status, 200);
    assert_eq!(me["data"]["id"], "ap-2001");
    assert_eq!(me["data"]["profile"]["company"], "Acme Books Ltd");
}

#[tokio::test]
async fn api_me_honours_expires_in_by_the_clock() {
    let h = start_with(Realm { access_token_lifetime_secs: 120, ..Realm::demo_crm(CRM_ID, CRM_SECRET, REDIRECT) }).await;
    let token = h.crm_exchange(&h.crm_code("OPS@contoso.test").await).await;
    assert_eq!(token["expires_in"], 120);
    let access = text(&token, "access_token");
    let (status, _, me) = h.me("crm", &access).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["data"]["id"], "nw-1002");
    assert_eq!(me["data"]["email"], "ops@contoso.test");
    assert_eq!(me["data"]["profile"]["company"], "Contoso Ltd");

    h.standin.advance_clock(100);
    assert_eq!(h.me("crm", &access).await.0, 200);
    h.standin.advance_clock(21);
    let (status, headers, error) = h.me("crm", &access).await;
    assert_eq!((status, error["error"].as_str()), (401, Some("invalid_token")));
    assert_eq!(headers["www-authenticate"], "Bearer error=\"invalid_token\"");
    assert!(!h.standin.token_is_active(&access));

    let anonymous = answer(h.http.get(format!("{}/oauth2/crm/api/me", h.url))).await;
    assert_eq!((anonymous.0, anonymous.1["www-authenticate"].as_str()), (401, "Bearer"));
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_refresh_token_revokes_the_family() {
    let h = start().await;
    let first = h.crm_exchange(&h.crm_code(SALES).await).await;
    let (status, second) = h.crm_refresh(&text(&first, "refresh_token")).await;
    assert_eq!(status, 200, "{second}");
    assert_ne!(second["refresh_token"], first["refresh_token"], "the refresh token rotates");
    assert_ne!(second["access_token"], first["access_token"]);
    assert_eq!(second["expires_in"], 3600);
    assert_eq!(h.me("crm", &text(&first, "access_token")).await.0, 200, "earlier access tokens live until they expire");

    let (status, narrower) = h.crm_refresh_scoped(&text(&second, "refresh_token"), "deals.read").await;
    assert_eq!((status, narrower["scope"].as_str()), (200, Some("deals.read")), "{narrower}");
    let (status, error) = h.crm_refresh_scoped(&text(&narrower, "refresh_token"), "companies.read").await;
    assert_eq!((status, error["error"].as_str()), (400, Some("invalid_scope")));

    // The first refresh token again: someone holds a copy, so the whole grant goes.
    let (status, error) = h.crm_refresh(&text(&first, "refresh_token")).await;
    assert_eq!((status, error["error"].as_str()), (400, Some("invalid_grant")));
    for access in [&first, &second, &narrower] {
        assert_eq!(h.me("crm", &text(access, "access_token")).await.0, 401);
    }
    assert_eq!(h.crm_refresh(&text(&narrower, "refresh_token")).await.0, 400, "the current refresh token is revoked too");
}

#[tokio::test]
async fn revocation_follows_rfc_7009() {
    let h = start().await;
    let url = format!("{}/oauth2/crm/revoke", h.url);
    let revoke = |token: String, hint: &'static str| {
        answer(h.http.post(&url).basic_auth(CRM_ID, Some(CRM_SECRET)).form(&[("token", token), ("token_type_hint", hint.into())]))
    };

    let unknown = revoke("no-such-token".into(), "refresh_token").await;
    assert_eq!((unknown.0, &unknown.2), (200, &Value::Null), "unknown tokens answer 200 with an empty body");

    let token = h.crm_exchange(&h.crm_code(SALES).await).await;
    assert_eq!(revoke(text(&token, "refresh_token"), "access_token").await.0, 200, "the hint is only a hint");
    assert_eq!(h.me("crm", &text(&token, "access_token")).await.0, 401, "revoking the refresh token revokes the grant");
    assert_eq!(h.crm_refresh(&text(&token, "refresh_token")).await.0, 400);

    let token = h.crm_exchange(&h.crm_code(SALES).await).await;
    assert_eq!(revoke(text(&token, "access_token"), "access_token").await.0, 200);
    assert_eq!(h.crm_refresh(&text(&token, "refresh_token")).await.0, 400, "revoking the access token revokes the grant");

    let bad = answer(h.http.post(&url).basic_auth(CRM_ID, Some("nope")).form(&[("token", "x")])).await;
    assert_eq!((bad.0, bad.2["error"].as_str()), (401, Some("invalid_client")));
    let missing = answer(h.http.post(&url).basic_auth(CRM_ID, Some(CRM_SECRET)).form(&[("token_type_hint", "access_token")])).await;
    assert_eq!((missing.0, missing.2["error"].as_str()), (400, Some("invalid_request")));
}

#[tokio::test]
async fn tokens_stay_in_their_realm_and_the_controls_reach_them() {
    let h = start().await;
    let token = h.crm_exchange(&h.crm_code(SALES).await).await;
    let access = text(&token, "access_token");
    assert_eq!(h.me("ads", &access).await.0, 401, "a CRM token is unknown to another realm");
    let stripe = h.http.get(format!("{}/v1/account", h.url)).bearer_auth(&access).send().await.unwrap();
    assert_eq!(stripe.status(), 401, "and to Stripe");

    let page = h.http.get(format!("{}/standin", h.url)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Northwind CRM") && page.contains("Adpulse") && page.contains("Northwind Traders"));
    let expire = h.http.post(format!("{}/standin/accounts/nw-1001/expire-access", h.url)).send().await.unwrap();
    assert!(expire.status().is_redirection());
    assert_eq!(h.me("crm", &access).await.0, 401);
    let (status, renewed) = h.crm_refresh(&text(&token, "refresh_token")).await;
    assert_eq!(status, 200, "an expiry leaves the refresh token working");
    assert_eq!(h.standin.revoke_access("nw-1001"), 2);
    assert_eq!(h.crm_refresh(&text(&renewed, "refresh_token")).await.0, 400);
}

#[tokio::test]
async fn faults_apply_and_redirect_uris_can_be_registered() {
    let h = start().await;
    let code = h.crm_code(SALES).await;
    h.standin.set_token_fault(Some(TokenFault::ServerError));
    let (status, _, _) = h.crm_token(&exchange_form(&code)).await;
    assert_eq!(status, 500);
    h.standin.set_token_fault(None);
    h.crm_exchange(&code).await;
    assert_eq!(h.standin.realm_token_requests("crm"), 2);

    let moved = "http://127.0.0.1:10/connections/crm/callback";
    assert_eq!(h.authorize_page("crm", &with(crm_request(), "redirect_uri", moved)).await.status(), 400);
    h.standin.register_realm_redirect_uri("crm", moved);
    assert_eq!(h.authorize_page("crm", &with(crm_request(), "redirect_uri", moved)).await.status(), 200);
    let ads = with(with(crm_request(), "client_id", ADS_ID), "scope", "reports.read");
    assert_eq!(h.authorize_page("ads", &with(ads.clone(), "redirect_uri", moved)).await.status(), 400, "only that realm");
    let everywhere = "http://127.0.0.1:11/cb";
    h.standin.register_redirect_uri(everywhere);
    assert_eq!(h.authorize_page("ads", &with(ads, "redirect_uri", everywhere)).await.status(), 200);
    assert_eq!(h.standin.config().realms[0].client_auth, ClientAuth::Basic);
}

#[tokio::test]
async fn a_realm_can_be_added_to_a_running_stand_in() {
    let h = start().await;
    let acme = |name: &str| Realm { id: "acme".into(), name: name.into(), ..Realm::demo_crm("acme_client", "acme-secret", REDIRECT) };
    let request = with(crm_request(), "client_id", "acme_client");
    assert_eq!(h.authorize_page("acme", &request).await.status(), 404);
    h.standin.add_realm(acme("Acme CRM"));
    h.standin.add_realm(acme("Acme CRM, again"));
    let page = h.authorize_page("acme", &request).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Acme CRM, again"), "the same id replaces the realm");
    assert_eq!(h.standin.config().realms.len(), 3);
}
