//! The connect flow as the SPA and the user walk it: a fresh state and PKCE pair registered with the
//! server, then signing in and allowing at the stand-in.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use connections_server::pkce;
use rand::RngCore;
use serde_json::{json, Value};

/// `bytes` random bytes, base64url without padding (how the SPA makes state and the verifier).
pub fn random_b64url(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// What the SPA makes on "Connect with …": `state` and a PKCE pair.
pub struct Attempt {
    pub state: String,
    pub verifier: String,
    pub challenge: String,
}

impl Attempt {
    pub fn new() -> Self {
        let verifier = random_b64url(32);
        Attempt { state: random_b64url(32), challenge: pkce::s256_challenge(&verifier), verifier }
    }

    /// The body that registers it (`POST /api/providers/{id}/attempts`).
    pub fn body(&self) -> Value {
        json!({ "state": self.state, "code_challenge": self.challenge, "code_challenge_method": "S256" })
    }

    /// The grant's body for the `code` the provider sent back (`POST /api/providers/{id}/grants`).
    pub fn grant(&self, code: &str) -> Value {
        json!({ "code": code, "state": self.state, "code_verifier": self.verifier })
    }
}

impl Default for Attempt {
    fn default() -> Self {
        Self::new()
    }
}

/// Registers a fresh attempt at `provider` on the server at `base` with the session `token`
/// (bearer); answers the attempt and the server's answer (201 checked).
pub async fn start_attempt(http: &reqwest::Client, base: &str, provider: &str, token: &str) -> (Attempt, Value) {
    let attempt = Attempt::new();
    let response = http.post(format!("{base}/api/providers/{provider}/attempts")).bearer_auth(token).json(&attempt.body()).send().await.unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    (attempt, response.json().await.unwrap())
}

/// What the user does at the provider's authorize page: sign in as `email` and allow. The page's
/// form posts back what the page was given, plus the decision. Answers the redirect's address.
pub async fn allow_at(http: &reqwest::Client, authorize_url: &url::Url, email: &str) -> String {
    let mut form: Vec<(String, String)> = authorize_url.query_pairs().into_owned().collect();
    form.push(("email".into(), email.into()));
    form.push(("password".into(), provider_standin::DEMO_PASSWORD.into()));
    form.push(("decision".into(), "allow".into()));
    let mut target = authorize_url.clone();
    target.set_query(None);
    let response = http.post(target.as_str()).form(&form).send().await.unwrap();
    let location = response.headers().get("location").unwrap_or_else(|| panic!("no redirect from {target}: {}", response.status()));
    location.to_str().unwrap().to_owned()
}

/// Signs in as `email` at the stand-in's Connect OAuth page (`standin_url/oauth/authorize`) for the
/// demo's platform and allows, with the attempt's state and challenge; with no attempt, as a user
/// who began at Stripe (no `state`, no PKCE). Answers the redirect's address.
pub async fn allow_at_connect(http: &reqwest::Client, standin_url: &str, redirect_uri: &str, attempt: Option<&Attempt>, email: &str) -> String {
    let mut form = vec![
        ("client_id", connections_server::demo::DEMO_CLIENT_ID.to_owned()),
        ("redirect_uri", redirect_uri.to_owned()),
        ("scope", "read_only".to_owned()),
        ("email", email.to_owned()),
        ("password", provider_standin::DEMO_PASSWORD.to_owned()),
        ("decision", "allow".to_owned()),
    ];
    if let Some(attempt) = attempt {
        form.push(("state", attempt.state.clone()));
        form.push(("code_challenge", attempt.challenge.clone()));
        form.push(("code_challenge_method", "S256".to_owned()));
    }
    let response = http.post(format!("{standin_url}/oauth/authorize")).form(&form).send().await.unwrap();
    response.headers()["location"].to_str().unwrap().to_owned()
}

/// The query parameters of a redirect's address.
pub fn query_of(location: &str) -> HashMap<String, String> {
    url::Url::parse(location).unwrap().query_pairs().into_owned().collect()
}
