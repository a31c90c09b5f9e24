//! The `oauth2` dialect: any standards-following provider. RFC 6749 code flow with PKCE (RFC 7636)
//! on both legs, `redirect_uri` at the token endpoint, `expires_in`, rotating refresh tokens, and RFC
//! 7009 revocation. Exchange and refresh go through the `oauth2` crate with our own HTTP client.

use std::borrow::Cow;

use ::oauth2::basic::{BasicClient, BasicErrorResponse, BasicTokenResponse};
use ::oauth2::{
    AuthType, ClientId, ClientSecret, EndpointNotSet, EndpointSet, HttpRequest, HttpResponse, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError,
    TokenResponse, TokenUrl,
};
use async_trait::async_trait;
use connections_wire::{AuthorizationCode, PkceVerifier};
use serde::Deserialize;
use url::Url;

use super::dialect::{Consent, Dialect, Refresh, Revoke};
use super::spec::{self, Common, DialectSpec, Env, KeyProblem, ProviderSpec};
use super::transport::{read_body, BodyError, Http};
use super::{AccountInfo, ProviderError, Revocation, TokenGrant};
use crate::secret::Secret;

/// How the client authenticates at the token endpoint (RFC 6749 §2.3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ClientAuth {
    /// HTTP Basic with `client_id:client_secret`.
    Basic,
    /// `client_id` and `client_secret` as form fields.
    Body,
}

/// An `oauth2` entry of the providers file, as written (beside the keys every entry has).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Oauth2File {
    authorize_url: Option<String>,
    token_url: Option<String>,
    revoke_url: Option<String>,
    account_url: Option<String>,
    account_id_pointer: Option<String>,
    account_name_pointer: Option<String>,
    scopes: Option<Vec<String>>,
    scope_separator: Option<String>,
    client_auth: Option<String>,
    client_id: String,
    client_secret_env: String,
    #[serde(default)]
    authorize_params: toml::Table,
    /// `{ "<table>" = "<list endpoint URL>" }` for tables listed in `data`.
    #[serde(default)]
    data_urls: toml::Table,
}

/// An `oauth2` source, checked.
#[derive(Clone, Debug)]
pub struct Oauth2Spec {
    pub authorize_url: Url,
    pub token_url: Url,
    /// RFC 7009 revocation; `None`: no such call.
    pub revoke_url: Option<Url>,
    /// `GET` with the access token: the account.
    pub account_url: Url,
    pub account_id_pointer: String,
    pub account_name_pointer: String,
    pub scopes: Vec<String>,
    pub scope_separator: String,
    pub(crate) client_auth: ClientAuth,
    pub client_id: String,
    pub client_secret: Secret<String>,
    pub authorize_params: Vec<(String, String)>,
    /// The list endpoint of each data table, for the data-access check.
    pub data_urls: Vec<(String, Url)>,
}

impl Oauth2Spec {
    pub(crate) fn client(self, http: Http) -> Box<dyn Dialect> {
        Box::new(Oauth2::new(self, http))
    }
}

impl Oauth2File {
    pub(crate) fn check(self, common: Common, env: Env<'_>) -> Result<ProviderSpec, KeyProblem> {
        let client_id = spec::client_id(&self.client_id)?;
        let authorize_params = spec::authorize_params(&self.authorize_params)?;
        let client_secret = spec::secret_from_env("client_secret_env", &self.client_secret_env, env)?;
        let data = common.data.clone().unwrap_or_default();
        let mut data_urls = Vec::new();
        for (table, url) in &self.data_urls {
            if !data.contains(table) {
                return Err(("data_urls", format!("{table:?} is not one of the tables listed in data")));
            }
            let url = url.as_str().ok_or(("data_urls", format!("{table:?} must be a URL string")))?;
            data_urls.push((table.clone(), spec::url_at("data_urls", url)?));
        }
        let client_auth = match self.client_auth.as_deref() {
            None | Some("basic") => ClientAuth::Basic,
            Some("body") => ClientAuth::Body,
            Some(other) => return Err(("client_auth", format!("{other:?} must be basic or body"))),
        };
        let scopes = self.scopes.unwrap_or_default();
        if scopes.iter().any(|s| s.is_empty() || s.contains([' ', '"', '\\'])) {
            return Err(("scopes", "each scope must be non-empty, without spaces or quotes".into()));
        }
        let oauth2 = Oauth2Spec {
            authorize_url: spec::required_url("authorize_url", &self.authorize_url)?,
            token_url: spec::required_url("token_url", &self.token_url)?,
            revoke_url: spec::optional_url("revoke_url", &self.revoke_url)?,
            account_url: spec::required_url("account_url", &self.account_url)?,
            account_id_pointer: spec::pointer("account_id_pointer", &self.account_id_pointer)?,
            account_name_pointer: spec::pointer("account_name_pointer", &self.account_name_pointer)?,
            scopes,
            scope_separator: self.scope_separator.unwrap_or_else(|| " ".into()),
            client_auth,
            client_id,
            client_secret,
            authorize_params,
            data_urls,
        };
        let mut base = ProviderSpec::bare(&common.id, &common.name, DialectSpec::Oauth2(oauth2));
        base.access_summary = format!("Read access to your {} data, as listed below.", common.name);
        Ok(common.over(base))
    }
}

/// Account ids come from the provider's JSON: printable, bounded.
pub(crate) fn is_account_id(id: &str) -> bool {
    (1..=200).contains(&id.len()) && !id.chars().any(char::is_control)
}

/// The account in a JSON answer: its id and name at two JSON pointers (the name falls back to the id).
pub(super) fn read_account(http: &Http, body: &[u8], id_pointer: &str, name_pointer: &str) -> Result<AccountInfo, ProviderError> {
    let json: serde_json::Value = serde_json::from_slice(body).map_err(|e| http.malformed(format!("account: {e}")))?;
    let text = |pointer: &str| match json.pointer(pointer) {
        Some(serde_json::Value::String(s)) => Some(s.trim().to_owned()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let id = text(id_pointer).filter(|id| is_account_id(id)).ok_or_else(|| http.malformed(format!("no account id at {id_pointer}")))?;
    let display_name = text(name_pointer).filter(|n| !n.is_empty()).map(|n| n.chars().take(200).collect()).unwrap_or_else(|| id.clone());
    Ok(AccountInfo { id, display_name })
}

/// An `oauth2` source and its HTTP client.
pub(crate) struct Oauth2 {
    spec: Oauth2Spec,
    http: Http,
}

impl Oauth2 {
    pub(crate) fn new(spec: Oauth2Spec, http: Http) -> Self {
        Oauth2 { spec, http }
    }

    fn scope_of(&self, scopes: &[String]) -> String {
        scopes.join(&self.spec.scope_separator)
    }

    fn map_error(&self, error: RequestTokenError<Transport, BasicErrorResponse>) -> ProviderError {
        let http = &self.http;
        match error {
            RequestTokenError::ServerResponse(response) => ProviderError::Rejected {
                provider: http.name.clone(),
                error: response.error().to_string(),
                description: response.error_description().cloned().unwrap_or_default(),
            },
            RequestTokenError::Request(Transport::Http(error)) => http.unavailable(error),
            RequestTokenError::Request(Transport::Status(status)) => http.server_error(status),
            RequestTokenError::Request(Transport::TooLarge) => http.too_large(),
            RequestTokenError::Request(Transport::Response(detail)) | RequestTokenError::Other(detail) => http.malformed(detail),
            RequestTokenError::Parse(error, _) => http.malformed(format!("token response: {error}")),
        }
    }

    fn grant(&self, token: &BasicTokenResponse) -> TokenGrant {
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
                .map(|scopes| scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(&self.spec.scope_separator))
                .unwrap_or_else(|| self.scope_of(&self.spec.scopes)),
            livemode: None,
            publishable_key: None,
        }
    }

    fn client(&self) -> BasicClient<EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet> {
        BasicClient::new(ClientId::new(self.spec.client_id.clone()))
            .set_client_secret(ClientSecret::new(self.spec.client_secret.expose().clone()))
            .set_auth_type(match self.spec.client_auth {
                ClientAuth::Basic => AuthType::BasicAuth,
                ClientAuth::Body => AuthType::RequestBody,
            })
            .set_token_uri(TokenUrl::from_url(self.spec.token_url.clone()))
    }
}

#[async_trait]
impl Dialect for Oauth2 {
    fn kind(&self) -> connections_wire::Dialect {
        connections_wire::Dialect::Oauth2
    }

    fn scope(&self) -> String {
        self.scope_of(&self.spec.scopes)
    }

    fn is_account_id(&self, id: &str) -> bool {
        is_account_id(id)
    }

    /// `GET account_url` with the token as Bearer; id and name found by their JSON pointers.
    async fn fetch_account(&self, access_token: &Secret<String>) -> Result<AccountInfo, ProviderError> {
        let spec = &self.spec;
        let (status, body) = self.http.get_with_token(access_token, &spec.account_url).await?;
        if !status.is_success() {
            return Err(ProviderError::Rejected { provider: self.http.name.clone(), error: status.as_u16().to_string(), description: String::new() });
        }
        read_account(&self.http, &body, &spec.account_id_pointer, &spec.account_name_pointer)
    }

    fn data_url(&self, table: &str) -> Option<Url> {
        self.spec.data_urls.iter().find(|(name, _)| name == table).map(|(_, url)| url.clone())
    }

    fn consent(&self) -> Option<&dyn Consent> {
        Some(self)
    }

    fn refresh(&self) -> Option<&dyn Refresh> {
        Some(self)
    }

    fn revocation(&self) -> Option<&dyn Revoke> {
        self.spec.revoke_url.is_some().then_some(self as &dyn Revoke)
    }
}

#[async_trait]
impl Consent for Oauth2 {
    fn authorize_url(&self, state: &str, code_challenge: &str, redirect_uri: &str) -> Url {
        let spec = &self.spec;
        let mut url = spec.authorize_url.clone();
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("response_type", "code").append_pair("client_id", &spec.client_id);
            query.append_pair("redirect_uri", redirect_uri);
            if !spec.scopes.is_empty() {
                query.append_pair("scope", &self.scope());
            }
            query.append_pair("state", state);
            query.append_pair("code_challenge", code_challenge).append_pair("code_challenge_method", "S256");
            for (name, value) in &spec.authorize_params {
                query.append_pair(name, value);
            }
        }
        url
    }

    async fn exchange_code(&self, code: &AuthorizationCode, verifier: Option<&PkceVerifier>, redirect_uri: &str) -> Result<TokenGrant, ProviderError> {
        let redirect = RedirectUrl::new(redirect_uri.to_owned()).map_err(|e| self.http.malformed(format!("redirect_uri: {e}")))?;
        let client = self.client();
        let mut request = client.exchange_code(::oauth2::AuthorizationCode::new(code.secret().to_owned())).set_redirect_uri(Cow::Owned(redirect));
        if let Some(verifier) = verifier {
            request = request.set_pkce_verifier(PkceCodeVerifier::new(verifier.secret().to_owned()));
        }
        let token = request.request_async(&OAuthHttp(&self.http.client)).await.map_err(|e| self.map_error(e))?;
        Ok(self.grant(&token))
    }
}

#[async_trait]
impl Refresh for Oauth2 {
    async fn refresh(&self, refresh_token: &Secret<String>) -> Result<TokenGrant, ProviderError> {
        let client = self.client();
        let refresh = RefreshToken::new(refresh_token.expose().clone());
        let token = client.exchange_refresh_token(&refresh).request_async(&OAuthHttp(&self.http.client)).await.map_err(|e| self.map_error(e))?;
        Ok(self.grant(&token))
    }
}

#[async_trait]
impl Revoke for Oauth2 {
    /// RFC 7009, with the refresh token where there is one. Written out rather than through the
    /// `oauth2` crate, which refuses a revocation URL that is not https (the local stand-in is plain
    /// http on loopback).
    async fn revoke(
        &self,
        _account_id: &str,
        refresh_token: Option<&Secret<String>>,
        access_token: Option<&Secret<String>>,
    ) -> Result<Revocation, ProviderError> {
        let spec = &self.spec;
        let (Some(url), Some(token)) = (spec.revoke_url.clone(), refresh_token.or(access_token)) else {
            return Ok(Revocation::NotSupported);
        };
        let mut form = vec![("token", token.expose().as_str())];
        let mut request = self.http.client.post(url);
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
        let response = request.form(&form).send().await.map_err(|e| self.http.unavailable(e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(Revocation::Revoked);
        }
        if status.is_server_error() {
            return Err(self.http.server_error(status));
        }
        let body = self.http.read_answer(response).await?;
        let error = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_owned))
            .unwrap_or_else(|| status.as_u16().to_string());
        Err(ProviderError::Rejected { provider: self.http.name.clone(), error, description: String::new() })
    }
}

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

/// Our reqwest client, for the `oauth2` crate. A named type with a boxed `Send` future: a closure
/// here would make every future above it fail to prove `Send` for all lifetimes.
struct OAuthHttp<'a>(&'a reqwest::Client);

impl<'c> ::oauth2::AsyncHttpClient<'c> for OAuthHttp<'_> {
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
    let body = read_body(response).await.map_err(|error| match error {
        BodyError::Http(error) => Transport::Http(error),
        BodyError::TooLarge => Transport::TooLarge,
    })?;
    let mut built = http::Response::builder().status(status);
    if let Some(map) = built.headers_mut() {
        *map = headers;
    }
    built.body(body).map_err(|e| Transport::Response(e.to_string()))
}
