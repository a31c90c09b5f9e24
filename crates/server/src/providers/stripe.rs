//! The production client for Stripe's OAuth and account endpoints. Every URL comes from configuration,
//! so the same code talks to Stripe or to the local stand-in.

use serde::Deserialize;

use crate::config::StripeConfig;
use crate::secret::Secret;

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// Network failure, timeout, or a 5xx: trying again later may work.
    #[error("{0}")]
    Unavailable(String),
    /// Stripe answered with an OAuth or API error.
    #[error("{error}: {description}")]
    Rejected { error: String, description: String },
    /// A success status with a body that is not what Stripe documents.
    #[error("unexpected response: {0}")]
    Malformed(String),
    /// The connected account's token was refused (401): access was revoked or expired.
    #[error("the token was refused: {0}")]
    TokenRefused(String),
}

/// How a deauthorization ended; both mean the platform is no longer connected.
#[derive(Debug, PartialEq, Eq)]
pub enum Deauthorized {
    Now,
    /// Stripe says the app was not connected to that account (any more).
    Already,
}

/// What `POST /oauth/token` grants.
#[derive(Debug)]
pub struct TokenGrant {
    pub access_token: Secret<String>,
    pub refresh_token: Option<Secret<String>>,
    pub livemode: bool,
    pub account_id: String,
    pub scope: String,
    pub publishable_key: Option<String>,
}

#[derive(Deserialize)]
struct TokenResponseBody {
    access_token: String,
    refresh_token: Option<String>,
    livemode: bool,
    stripe_user_id: String,
    scope: Option<String>,
    stripe_publishable_key: Option<String>,
}

#[derive(Deserialize)]
struct OAuthErrorBody {
    error: String,
    #[serde(default)]
    error_description: String,
}

#[derive(Deserialize)]
struct ApiErrorBody {
    error: ApiErrorDetail,
}

#[derive(Deserialize)]
struct ApiErrorDetail {
    #[serde(default)]
    code: Option<String>,
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
struct AccountBody {
    id: String,
    business_profile: Option<BusinessProfile>,
    settings: Option<Settings>,
    email: Option<String>,
}

#[derive(Deserialize)]
struct BusinessProfile {
    name: Option<String>,
}

#[derive(Deserialize)]
struct Settings {
    dashboard: Option<Dashboard>,
}

#[derive(Deserialize)]
struct Dashboard {
    display_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountInfo {
    pub id: String,
    pub display_name: String,
}

pub struct StripeClient {
    http: reqwest::Client,
    config: StripeConfig,
}

fn unavailable(error: reqwest::Error) -> ProviderError {
    if error.is_timeout() {
        ProviderError::Unavailable("Stripe did not answer in time".into())
    } else {
        ProviderError::Unavailable("Stripe could not be reached".into())
    }
}

/// Account ids are `acct_` and alphanumerics; anything else from the wire is refused before storing.
fn is_account_id(id: &str) -> bool {
    id.len() <= 64 && id.strip_prefix("acct_").is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

impl StripeClient {
    pub fn new(config: StripeConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("connections/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("TLS backend initialises");
        StripeClient { http, config }
    }

    pub fn config(&self) -> &StripeConfig {
        &self.config
    }

    /// Exchanges an authorization code. Called at most once per code: Stripe revokes every token
    /// issued from a code presented twice, so this never retries.
    pub async fn exchange_code(&self, code: &str, code_verifier: Option<&str>) -> Result<TokenGrant, ProviderError> {
        let mut form = vec![("grant_type", "authorization_code"), ("code", code)];
        if let Some(verifier) = code_verifier {
            form.push(("code_verifier", verifier));
        }
        self.token_request(&form).await
    }

    /// A new access token from the refresh token Stripe issued with the connection.
    pub async fn refresh(&self, refresh_token: &Secret<String>) -> Result<TokenGrant, ProviderError> {
        self.token_request(&[("grant_type", "refresh_token"), ("refresh_token", refresh_token.expose())]).await
    }

    async fn token_request(&self, form: &[(&str, &str)]) -> Result<TokenGrant, ProviderError> {
        let response = self
            .http
            .post(self.config.token_url.clone())
            .basic_auth(self.config.secret_key.expose(), None::<&str>)
            .form(form)
            .send()
            .await
            .map_err(unavailable)?;
        let status = response.status();
        let body = response.bytes().await.map_err(unavailable)?;
        if status.is_server_error() {
            return Err(ProviderError::Unavailable(format!("Stripe answered {status}")));
        }
        if !status.is_success() {
            return Err(match serde_json::from_slice::<OAuthErrorBody>(&body) {
                Ok(e) => ProviderError::Rejected { error: e.error, description: e.error_description },
                Err(_) => ProviderError::Malformed(format!("status {status} without an OAuth error body")),
            });
        }
        let token: TokenResponseBody = serde_json::from_slice(&body).map_err(|e| ProviderError::Malformed(format!("token response: {e}")))?;
        if token.access_token.is_empty() || !is_account_id(&token.stripe_user_id) {
            return Err(ProviderError::Malformed("token response without an access token or account id".into()));
        }
        Ok(TokenGrant {
            access_token: Secret::new(token.access_token),
            refresh_token: token.refresh_token.filter(|t| !t.is_empty()).map(Secret::new),
            livemode: token.livemode,
            account_id: token.stripe_user_id,
            scope: token.scope.unwrap_or_else(|| self.config.scope.clone()),
            publishable_key: token.stripe_publishable_key,
        })
    }

    /// `GET /v1/account` with the connected account's access token.
    pub async fn fetch_account(&self, access_token: &Secret<String>) -> Result<AccountInfo, ProviderError> {
        let url = self.config.api_base.join("v1/account").map_err(|e| ProviderError::Malformed(e.to_string()))?;
        let response = self.http.get(url).bearer_auth(access_token.expose()).send().await.map_err(unavailable)?;
        let status = response.status();
        let body = response.bytes().await.map_err(unavailable)?;
        if status.is_server_error() {
            return Err(ProviderError::Unavailable(format!("Stripe answered {status}")));
        }
        if status == reqwest::StatusCode::UNAUTHORIZED {
            let message = serde_json::from_slice::<ApiErrorBody>(&body).map(|e| e.error.message).unwrap_or_default();
            return Err(ProviderError::TokenRefused(message));
        }
        if !status.is_success() {
            return Err(match serde_json::from_slice::<ApiErrorBody>(&body) {
                Ok(e) => ProviderError::Rejected {
                    error: e.error.code.or(e.error.kind).unwrap_or_else(|| status.as_u16().to_string()),
                    description: e.error.message,
                },
                Err(_) => ProviderError::Malformed(format!("status {status} without an API error body")),
            });
        }
        let account: AccountBody = serde_json::from_slice(&body).map_err(|e| ProviderError::Malformed(format!("account: {e}")))?;
        if !is_account_id(&account.id) {
            return Err(ProviderError::Malformed("account without a valid id".into()));
        }
        let non_empty = |name: Option<String>| name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
        let display_name = non_empty(account.business_profile.and_then(|p| p.name))
            .or_else(|| non_empty(account.settings.and_then(|s| s.dashboard).and_then(|d| d.display_name)))
            .or_else(|| non_empty(account.email))
            .unwrap_or_else(|| account.id.clone());
        Ok(AccountInfo { id: account.id, display_name })
    }

    /// `POST /oauth/deauthorize`: disconnects the account from the platform at Stripe.
    pub async fn deauthorize(&self, account_id: &str) -> Result<Deauthorized, ProviderError> {
        let response = self
            .http
            .post(self.config.deauthorize_url.clone())
            .basic_auth(self.config.secret_key.expose(), None::<&str>)
            .form(&[("client_id", self.config.client_id.as_str()), ("stripe_user_id", account_id)])
            .send()
            .await
            .map_err(unavailable)?;
        let status = response.status();
        if status.is_success() {
            return Ok(Deauthorized::Now);
        }
        let body = response.bytes().await.map_err(unavailable)?;
        if status.is_server_error() {
            return Err(ProviderError::Unavailable(format!("Stripe answered {status}")));
        }
        match serde_json::from_slice::<OAuthErrorBody>(&body) {
            // Stripe's answer when the app is no longer connected to the account: the goal is reached.
            Ok(e) if e.error == "invalid_client" && e.error_description.contains("not connected") => Ok(Deauthorized::Already),
            Ok(e) => Err(ProviderError::Rejected { error: e.error, description: e.error_description }),
            Err(_) => Err(ProviderError::Malformed(format!("status {status}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_account_id;

    #[test]
    fn account_ids_are_checked_before_they_are_stored() {
        assert!(is_account_id("acct_1DemoAcmeBooks00"));
        assert!(!is_account_id("acct_"));
        assert!(!is_account_id("acct_<script>"));
        assert!(!is_account_id("cus_123"));
    }
}
