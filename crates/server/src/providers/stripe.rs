//! Stripe's two ways in: Stripe Apps OAuth 2.0 and Connect OAuth. Both take the secret key as HTTP
//! Basic user name, answer the same token fields (`stripe_user_id`, `livemode`, …) and read the
//! account at `GET /v1/account`. They differ in lifetimes (Apps: 1-hour access tokens and a refresh
//! token rolled on every refresh; Connect: no expiry) and in undoing (Connect has
//! `/oauth/deauthorize`; Apps documents no call, the admin uninstalls in the Dashboard).

use connections_wire::{AuthorizationCode, Dialect, PkceVerifier};
use serde::Deserialize;

use super::{read_answer, server_error, unavailable, AccountInfo, ProviderError, ProviderSpec, Revocation, TokenGrant, WebhookError, WebhookEvent};
use crate::secret::Secret;

/// The list endpoint of one of Stripe's data tables (`Customers` → `/v1/customers?limit=1`).
pub fn list_url(spec: &ProviderSpec, table: &str) -> Option<url::Url> {
    const LISTS: [&str; 7] = ["customers", "charges", "coupons", "invoices", "plans", "subscriptions", "events"];
    let path = table.trim().to_ascii_lowercase();
    let path = LISTS.iter().find(|list| **list == path)?;
    // `account_url` is `<api base>/v1/account`: its sibling.
    let mut url = spec.account_url.join(path).ok()?;
    url.set_query(Some("limit=1"));
    Some(url)
}

/// Stripe Apps access tokens last one hour; the token answer does not say so (no `expires_in`).
pub const APPS_ACCESS_TOKEN_SECS: i64 = 3600;

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

/// Account ids are `acct_` and alphanumerics; anything else from the wire is refused before storing.
pub fn is_account_id(id: &str) -> bool {
    id.len() <= 64 && id.strip_prefix("acct_").is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

pub struct StripeClient {
    http: reqwest::Client,
}

impl StripeClient {
    pub fn new(http: reqwest::Client) -> Self {
        StripeClient { http }
    }

    pub async fn exchange_code(&self, spec: &ProviderSpec, code: &AuthorizationCode, verifier: Option<&PkceVerifier>) -> Result<TokenGrant, ProviderError> {
        let mut form = vec![("grant_type", "authorization_code"), ("code", code.secret())];
        // Stripe documents no PKCE; Connect is sent the verifier (harmless, and checked by the
        // stand-in), Apps is sent exactly what its docs list.
        if let (Some(verifier), Dialect::StripeConnect) = (verifier, spec.dialect) {
            form.push(("code_verifier", verifier.secret()));
        }
        self.token_request(spec, &form).await
    }

    pub async fn refresh(&self, spec: &ProviderSpec, refresh_token: &Secret<String>) -> Result<TokenGrant, ProviderError> {
        self.token_request(spec, &[("grant_type", "refresh_token"), ("refresh_token", refresh_token.expose())]).await
    }

    async fn token_request(&self, spec: &ProviderSpec, form: &[(&str, &str)]) -> Result<TokenGrant, ProviderError> {
        let response = self
            .http
            .post(spec.token_url.clone())
            .basic_auth(spec.client_secret.expose(), None::<&str>)
            .form(form)
            .send()
            .await
            .map_err(|e| unavailable(spec, e))?;
        let status = response.status();
        let body = read_answer(spec, response).await?;
        if status.is_server_error() {
            return Err(server_error(spec, status));
        }
        let malformed = |detail: String| ProviderError::Malformed { provider: spec.name.clone(), detail };
        if !status.is_success() {
            return Err(match serde_json::from_slice::<OAuthErrorBody>(&body) {
                Ok(e) => ProviderError::Rejected { provider: spec.name.clone(), error: e.error, description: e.error_description },
                Err(_) => malformed(format!("status {status} without an OAuth error body")),
            });
        }
        let token: TokenResponseBody = serde_json::from_slice(&body).map_err(|e| malformed(format!("token response: {e}")))?;
        if token.access_token.is_empty() || !is_account_id(&token.stripe_user_id) {
            return Err(malformed("token response without an access token or account id".into()));
        }
        let now = chrono::Utc::now().timestamp();
        Ok(TokenGrant {
            access_token: Secret::new(token.access_token),
            refresh_token: token.refresh_token.filter(|t| !t.is_empty()).map(Secret::new),
            access_expires_at: (spec.dialect == Dialect::StripeApps).then_some(now + APPS_ACCESS_TOKEN_SECS),
            account_id: Some(token.stripe_user_id),
            scope: token.scope.unwrap_or_else(|| spec.scopes.join(" ")),
            livemode: Some(token.livemode),
            publishable_key: token.stripe_publishable_key,
        })
    }

    /// `GET /v1/account` with the connected account's access token.
    pub async fn fetch_account(&self, spec: &ProviderSpec, access_token: &Secret<String>) -> Result<AccountInfo, ProviderError> {
        let (status, body) = super::get_with_token(&self.http, spec, access_token, &spec.account_url).await?;
        let malformed = |detail: String| ProviderError::Malformed { provider: spec.name.clone(), detail };
        if !status.is_success() {
            return Err(match serde_json::from_slice::<ApiErrorBody>(&body) {
                Ok(e) => ProviderError::Rejected {
                    provider: spec.name.clone(),
                    error: e.error.code.or(e.error.kind).unwrap_or_else(|| status.as_u16().to_string()),
                    description: e.error.message,
                },
                Err(_) => malformed(format!("status {status} without an API error body")),
            });
        }
        let account: AccountBody = serde_json::from_slice(&body).map_err(|e| malformed(format!("account: {e}")))?;
        if !is_account_id(&account.id) {
            return Err(malformed("account without a valid id".into()));
        }
        let non_empty = |name: Option<String>| name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
        let display_name = non_empty(account.business_profile.and_then(|p| p.name))
            .or_else(|| non_empty(account.settings.and_then(|s| s.dashboard).and_then(|d| d.display_name)))
            .or_else(|| non_empty(account.email))
            .unwrap_or_else(|| account.id.clone());
        Ok(AccountInfo { id: account.id, display_name })
    }

    /// Connect: `POST /oauth/deauthorize`. Apps: Stripe documents no call by which an app uninstalls
    /// itself.
    pub async fn deauthorize(&self, spec: &ProviderSpec, account_id: &str) -> Result<Revocation, ProviderError> {
        let Some(url) = spec.revoke_url.clone().filter(|_| spec.dialect == Dialect::StripeConnect) else {
            return Ok(Revocation::NotSupported);
        };
        let response = self
            .http
            .post(url)
            .basic_auth(spec.client_secret.expose(), None::<&str>)
            .form(&[("client_id", spec.client_id.as_str()), ("stripe_user_id", account_id)])
            .send()
            .await
            .map_err(|e| unavailable(spec, e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(Revocation::Revoked);
        }
        let body = read_answer(spec, response).await?;
        if status.is_server_error() {
            return Err(server_error(spec, status));
        }
        match serde_json::from_slice::<OAuthErrorBody>(&body) {
            // Stripe's answer when the app is no longer connected to the account: the goal is reached.
            Ok(e) if e.error == "invalid_client" && e.error_description.contains("not connected") => Ok(Revocation::AlreadyRevoked),
            Ok(e) => Err(ProviderError::Rejected { provider: spec.name.clone(), error: e.error, description: e.error_description }),
            Err(_) => Err(ProviderError::Malformed { provider: spec.name.clone(), detail: format!("deauthorize: status {status}") }),
        }
    }
}

#[derive(Deserialize)]
struct Event {
    #[serde(default)]
    id: String,
    #[serde(rename = "type")]
    kind: String,
    /// The connected account the event is about.
    account: Option<String>,
    /// Unix seconds; Stripe always sends it.
    created: Option<i64>,
}

/// Verifies `Stripe-Signature` and reads what the event means.
pub fn webhook_event(spec: &ProviderSpec, headers: &http::HeaderMap, body: &[u8], now: i64) -> Result<WebhookEvent, WebhookError> {
    let secret = spec.webhook_secret.as_ref().ok_or(WebhookError::NotConfigured)?;
    let signature = headers.get("stripe-signature").and_then(|v| v.to_str().ok()).unwrap_or("");
    crate::stripe_signature::verify(secret.expose(), signature, body, now).map_err(|e| WebhookError::Signature(e.to_string()))?;
    let event: Event = serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    let account = || event.account.clone().filter(|id| is_account_id(id)).ok_or_else(|| WebhookError::Malformed(format!("{} without an account", event.kind)));
    Ok(match event.kind.as_str() {
        "account.application.deauthorized" => WebhookEvent::Revoked {
            account_id: account()?,
            event_id: event.id.clone(),
            created: event.created.and_then(|at| super::provider_time(at, "a webhook event's creation time")),
        },
        "account.application.authorized" => WebhookEvent::Authorized { account_id: account()? },
        _ => WebhookEvent::Ignored { kind: event.kind },
    })
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
