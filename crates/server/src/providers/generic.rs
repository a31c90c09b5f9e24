//! The `oauth2` dialect: any standards-following provider. RFC 6749 code flow with PKCE (RFC 7636)
//! on both legs, `redirect_uri` at the token endpoint, `expires_in`, rotating refresh tokens, and RFC
//! 7009 revocation. Exchange and refresh go through the `oauth2` crate with our own HTTP client.

use std::borrow::Cow;

use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, AuthorizationCode, ClientId, ClientSecret, HttpRequest, HttpResponse, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError,
    TokenResponse, TokenUrl,
};

use super::{server_error, unavailable, AccountInfo, ClientAuth, ProviderError, ProviderSpec, Revocation, TokenGrant};
use crate::secret::Secret;

/// What the HTTP client hands the `oauth2` crate when no usable answer came: a 5xx is "unavailable",
/// not an OAuth error to parse.
#[derive(Debug, thiserror::Error)]
enum Transport {
    #[error(transparent)]
    Http(#[from] reqwest::Error),
    #[error("status {0}")]
    Status(reqwest::StatusCode),
    #[error("{0}")]
    Response(String),
    #[error("the answer is larger than the limit")]
    TooLarge,
}

/// Account ids come from the provider's JSON: printable, bounded.
pub fn is_account_id(id: &str) -> bool {
    (1..=200).contains(&id.len()) && !id.chars().any(char::is_control)
}

pub struct GenericClient {
    http: reqwest::Client,
}

/// Our reqwest client, for the `oauth2` crate. A named type with a boxed `Send` future: a closure
/// here would make every future above it fail to prove `Send` for all lifetimes.
struct Http<'a>(&'a reqwest::Client);

impl<'c> oauth2::AsyncHttpClient<'c> for Http<'_> {
    type Error = Transport;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<HttpResponse, Transport>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(send(self.0, request))
    }
}

async fn send(http: &reqwest::Client, request: HttpRequest) -> Result<HttpResponse, Transport> {
    let (parts, body) = request.into_parts();
    let response = http.request(parts.method, parts.uri.to_string()).headers(parts.headers).body(body).send().await?;
    let status = response.status();
    if status.is_server_error() {
        return Err(Transport::Status(status));
    }
    let headers = response.headers().clone();
    let body = super::read_body(response).await.map_err(|error| match error {
        super::BodyError::Http(error) => Transport::Http(error),
        super::BodyError::TooLarge => Transport::TooLarge,
    })?;
    let body = body.to_vec();
    let mut built = http::Response::builder().status(status);
    if let Some(map) = built.headers_mut() {
        *map = headers;
    }
    built.body(body).map_err(|e| Transport::Response(e.to_string()))
}

impl GenericClient {
    pub fn new(http: reqwest::Client) -> Self {
        GenericClient { http }
    }

    fn map_error(spec: &ProviderSpec, error: RequestTokenError<Transport, oauth2::basic::BasicErrorResponse>) -> ProviderError {
        match error {
            RequestTokenError::ServerResponse(response) => ProviderError::Rejected {
                provider: spec.name.clone(),
                error: response.error().to_string(),
                description: response.error_description().cloned().unwrap_or_default(),
            },
            RequestTokenError::Request(Transport::Http(error)) => unavailable(spec, error),
            RequestTokenError::Request(Transport::Status(status)) => server_error(spec, status),
            RequestTokenError::Request(Transport::TooLarge) => super::too_large(spec),
            RequestTokenError::Request(Transport::Response(detail)) | RequestTokenError::Other(detail) => {
                ProviderError::Malformed { provider: spec.name.clone(), detail }
            }
            RequestTokenError::Parse(error, _) => ProviderError::Malformed { provider: spec.name.clone(), detail: format!("token response: {error}") },
        }
    }

    fn grant(spec: &ProviderSpec, token: &oauth2::basic::BasicTokenResponse) -> TokenGrant {
        let now = chrono::Utc::now().timestamp();
        TokenGrant {
            access_token: Secret::new(token.access_token().secret().clone()),
            refresh_token: token.refresh_token().map(|t| Secret::new(t.secret().clone())),
            access_expires_at: token.expires_in().and_then(|d| {
                super::provider_time(now.saturating_add(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)), "the access token's expiry (expires_in)")
            }),
            account_id: None,
            // RFC 6749 §5.1: scope is omitted when it is what was asked.
            scope: token
                .scopes()
                .map(|scopes| scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(&spec.scope_separator))
                .unwrap_or_else(|| spec.scopes.join(&spec.scope_separator)),
            livemode: None,
            publishable_key: None,
        }
    }

    fn client(
        spec: &ProviderSpec,
    ) -> oauth2::basic::BasicClient<oauth2::EndpointNotSet, oauth2::EndpointNotSet, oauth2::EndpointNotSet, oauth2::EndpointNotSet, oauth2::EndpointSet> {
        BasicClient::new(ClientId::new(spec.client_id.clone()))
            .set_client_secret(ClientSecret::new(spec.client_secret.expose().clone()))
            .set_auth_type(match spec.client_auth {
                ClientAuth::Basic => AuthType::BasicAuth,
                ClientAuth::Body => AuthType::RequestBody,
            })
            .set_token_uri(TokenUrl::from_url(spec.token_url.clone()))
    }

    pub async fn exchange_code(
        &self,
        spec: &ProviderSpec,
        code: &connections_wire::AuthorizationCode,
        verifier: Option<&connections_wire::PkceVerifier>,
        redirect_uri: &str,
    ) -> Result<TokenGrant, ProviderError> {
        let redirect = RedirectUrl::new(redirect_uri.to_owned())
            .map_err(|e| ProviderError::Malformed { provider: spec.name.clone(), detail: format!("redirect_uri: {e}") })?;
        let client = Self::client(spec);
        let mut request = client.exchange_code(AuthorizationCode::new(code.secret().to_owned())).set_redirect_uri(Cow::Owned(redirect));
        if let Some(verifier) = verifier {
            request = request.set_pkce_verifier(PkceCodeVerifier::new(verifier.secret().to_owned()));
        }
        let token = request.request_async(&Http(&self.http)).await.map_err(|e| Self::map_error(spec, e))?;
        Ok(Self::grant(spec, &token))
    }

    pub async fn refresh(&self, spec: &ProviderSpec, refresh_token: &Secret<String>) -> Result<TokenGrant, ProviderError> {
        let client = Self::client(spec);
        let refresh = RefreshToken::new(refresh_token.expose().clone());
        let token = client.exchange_refresh_token(&refresh).request_async(&Http(&self.http)).await.map_err(|e| Self::map_error(spec, e))?;
        Ok(Self::grant(spec, &token))
    }

    /// `GET account_url` with the token as Bearer; id and name found by their JSON pointers.
    pub async fn fetch_account(&self, spec: &ProviderSpec, access_token: &Secret<String>) -> Result<AccountInfo, ProviderError> {
        let (status, body) = super::get_with_token(&self.http, spec, access_token, &spec.account_url).await?;
        let malformed = |detail: String| ProviderError::Malformed { provider: spec.name.clone(), detail };
        if !status.is_success() {
            return Err(ProviderError::Rejected { provider: spec.name.clone(), error: status.as_u16().to_string(), description: String::new() });
        }
        let json: serde_json::Value = serde_json::from_slice(&body).map_err(|e| malformed(format!("account: {e}")))?;
        let text = |pointer: &str| match json.pointer(pointer) {
            Some(serde_json::Value::String(s)) => Some(s.trim().to_owned()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let id =
            text(&spec.account_id_pointer).filter(|id| is_account_id(id)).ok_or_else(|| malformed(format!("no account id at {}", spec.account_id_pointer)))?;
        let display_name = text(&spec.account_name_pointer).filter(|n| !n.is_empty()).map(|n| n.chars().take(200).collect()).unwrap_or_else(|| id.clone());
        Ok(AccountInfo { id, display_name })
    }

    /// RFC 7009. Written out rather than through the `oauth2` crate, which refuses a revocation URL
    /// that is not https (the local stand-in is plain http on loopback).
    pub async fn revoke(&self, spec: &ProviderSpec, token: Option<&Secret<String>>) -> Result<Revocation, ProviderError> {
        let (Some(url), Some(token)) = (spec.revoke_url.clone(), token) else {
            return Ok(Revocation::NotSupported);
        };
        let mut form = vec![("token", token.expose().as_str())];
        let mut request = self.http.post(url);
        match spec.client_auth {
            ClientAuth::Basic => {
                // RFC 6749 §2.3.1: both parts form-urlencoded before Basic encoding.
                let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
                request = request.basic_auth(encode(&spec.client_id), Some(encode(spec.client_secret.expose())));
            }
            ClientAuth::Body => {
                form.push(("client_id", spec.client_id.as_str()));
                form.push(("client_secret", spec.client_secret.expose().as_str()));
            }
        }
        let response = request.form(&form).send().await.map_err(|e| unavailable(spec, e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(Revocation::Revoked);
        }
        if status.is_server_error() {
            return Err(server_error(spec, status));
        }
        let body = super::read_answer(spec, response).await?;
        let error = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_owned))
            .unwrap_or_else(|| status.as_u16().to_string());
        Err(ProviderError::Rejected { provider: spec.name.clone(), error, description: String::new() })
    }
}
