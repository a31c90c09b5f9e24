//! What every dialect's HTTP calls share: one client per provider (no redirects, its timeout), answers
//! read up to a limit, failures in the provider's name, and the data lists of the data-access check.

use url::Url;

use super::ProviderError;
use crate::secret::Secret;

/// The most of a provider's answer that is read: token, account, list and error answers are a few
/// KiB; a larger one is refused, not held in memory.
pub const MAX_PROVIDER_ANSWER_BYTES: usize = 1024 * 1024;

/// The last second of the year 9999 (`9999-12-31T23:59:59Z`).
pub const LAST_SECOND_OF_9999: i64 = 253_402_300_799;

/// Where a request carries the credential: `Authorization: Bearer` (OAuth access tokens, most API
/// keys), HTTP Basic with the key as user name and an empty password, or a header of its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    Bearer,
    Basic,
    Header(http::HeaderName),
}

impl Placement {
    /// `bearer`, `basic` or `header`, as the providers file and the service API write it.
    pub(crate) fn as_str(&self) -> &'static str {
        match self {
            Placement::Bearer => "bearer",
            Placement::Basic => "basic",
            Placement::Header(_) => "header",
        }
    }

    /// The header's name, for `header`.
    pub(crate) fn header(&self) -> Option<&str> {
        match self {
            Placement::Header(name) => Some(name.as_str()),
            _ => None,
        }
    }

    fn apply(&self, request: reqwest::RequestBuilder, credential: &Secret<String>) -> reqwest::RequestBuilder {
        match self {
            Placement::Bearer => request.bearer_auth(credential.expose()),
            Placement::Basic => request.basic_auth(credential.expose(), Some("")),
            Placement::Header(name) => {
                let mut value = http::HeaderValue::from_str(credential.expose()).unwrap_or_else(|_| http::HeaderValue::from_static(""));
                value.set_sensitive(true);
                request.header(name.clone(), value)
            }
        }
    }
}

/// One provider's HTTP client, and the id and name its failures are told under.
#[derive(Clone)]
pub(crate) struct Http {
    pub id: String,
    pub name: String,
    pub client: reqwest::Client,
}

impl Http {
    pub(crate) fn new(id: &str, name: &str, timeout: std::time::Duration) -> Self {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            // OAuth endpoints must not redirect; following one could send a code or secret elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("connections/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("TLS backend initialises");
        Http { id: id.to_owned(), name: name.to_owned(), client }
    }

    /// A transport failure, in the provider's name, with its cause kept for the log.
    pub(crate) fn unavailable(&self, error: reqwest::Error) -> ProviderError {
        let reason = if error.is_timeout() { "it did not answer in time" } else { "the connection to it failed" };
        ProviderError::Unavailable { provider: self.name.clone(), reason: reason.into(), source: Some(Box::new(error)) }
    }

    pub(crate) fn server_error(&self, status: reqwest::StatusCode) -> ProviderError {
        ProviderError::Unavailable { provider: self.name.clone(), reason: format!("it answered {status}"), source: None }
    }

    pub(crate) fn too_large(&self) -> ProviderError {
        tracing::warn!(provider = %self.id, limit = MAX_PROVIDER_ANSWER_BYTES, "a provider's answer is larger than the limit; not read");
        ProviderError::Unavailable { provider: self.name.clone(), reason: "its answer was larger than 1 MiB".into(), source: None }
    }

    pub(crate) fn malformed(&self, detail: String) -> ProviderError {
        ProviderError::Malformed { provider: self.name.clone(), detail }
    }

    /// [`read_body`], failures in the provider's terms.
    pub(crate) async fn read_answer(&self, response: reqwest::Response) -> Result<Vec<u8>, ProviderError> {
        read_body(response).await.map_err(|error| match error {
            BodyError::Http(error) => self.unavailable(error),
            BodyError::TooLarge => self.too_large(),
        })
    }

    /// `GET` a protected resource with the connected account's access token (RFC 6750). A transport
    /// failure or a 5xx is `Unavailable`, a 401 `TokenRefused`; any other answer is the caller's to
    /// read.
    pub(crate) async fn get_with_token(&self, access_token: &Secret<String>, url: &Url) -> Result<(reqwest::StatusCode, Vec<u8>), ProviderError> {
        self.get_with(&Placement::Bearer, access_token, url).await
    }

    /// [`Http::get_with_token`], the credential where `placement` says.
    pub(crate) async fn get_with(
        &self,
        placement: &Placement,
        credential: &Secret<String>,
        url: &Url,
    ) -> Result<(reqwest::StatusCode, Vec<u8>), ProviderError> {
        let response = placement
            .apply(self.client.get(url.clone()), credential)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| self.unavailable(e))?;
        let status = response.status();
        if status.is_server_error() {
            return Err(self.server_error(status));
        }
        if status == reqwest::StatusCode::UNAUTHORIZED {
            return Err(ProviderError::TokenRefused { provider: self.name.clone() });
        }
        let body = self.read_answer(response).await?;
        Ok((status, body))
    }

    /// `GET` a list endpoint with the access token. Stripe's lists (`{"data": [{"created": …}]}`,
    /// newest first) and the common shapes of others (a top-level array, or `items` / `results`,
    /// with `created`, `created_at` or `updated_at` as unix seconds or RFC 3339) are read.
    pub(crate) async fn read_list(&self, placement: &Placement, access_token: &Secret<String>, url: &Url) -> Result<Option<i64>, ProviderError> {
        let (status, body) = self.get_with(placement, access_token, url).await?;
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
        if !status.is_success() {
            // Stripe: {"error": {"code", "type", "message"}}; OAuth-style: {"error", "error_description"}.
            let error = &value["error"];
            let code = error["code"].as_str().or(error["type"].as_str()).or(error.as_str()).map_or_else(|| status.as_u16().to_string(), str::to_owned);
            let description = error["message"].as_str().or(value["error_description"].as_str()).unwrap_or_default().to_owned();
            return Err(if status == reqwest::StatusCode::FORBIDDEN {
                ProviderError::PermissionMissing { provider: self.name.clone(), error: code, description }
            } else {
                ProviderError::Rejected { provider: self.name.clone(), error: code, description }
            });
        }
        newest_in_list(&value).ok_or_else(|| self.malformed("a list answer without a list".into()))
    }
}

/// Why an answer's body was not read.
#[derive(Debug)]
pub(crate) enum BodyError {
    Http(reqwest::Error),
    TooLarge,
}

/// Reads an answer's body, up to [`MAX_PROVIDER_ANSWER_BYTES`]: refused at once when its
/// `Content-Length` says more, or as soon as more has come.
pub(crate) async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, BodyError> {
    if response.content_length().is_some_and(|length| length > MAX_PROVIDER_ANSWER_BYTES as u64) {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Http)? {
        if body.len() + chunk.len() > MAX_PROVIDER_ANSWER_BYTES {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The newest creation time in a list answer; `Some(None)` for an empty list, `None` when the answer
/// is not a list at all. A time outside the years 1970 to 9999 is ignored (and logged): it is stored
/// and shown, and no calendar of ours holds it.
fn newest_in_list(value: &serde_json::Value) -> Option<Option<i64>> {
    let items = value.as_array().or_else(|| ["data", "items", "results"].iter().find_map(|key| value[*key].as_array()))?;
    let time = |item: &serde_json::Value| {
        ["created", "created_at", "updated_at"].iter().find_map(|key| match &item[*key] {
            serde_json::Value::Number(n) => n.as_i64(),
            serde_json::Value::String(s) => chrono::DateTime::parse_from_rfc3339(s).ok().map(|t| t.timestamp()),
            _ => None,
        })
    };
    Some(items.iter().filter_map(time).filter_map(|at| provider_time(at, "a list item's creation time")).max())
}

/// A time a provider sent (unix seconds), checked where it enters: from 1970 to the end of 9999, or
/// `None`, logged, so that nothing stored is a time no calendar here can hold.
pub fn provider_time(secs: i64, what: &str) -> Option<i64> {
    if (0..=LAST_SECOND_OF_9999).contains(&secs) {
        Some(secs)
    } else {
        tracing::warn!(secs, what, "a provider sent a time outside the years 1970 to 9999; it is ignored");
        None
    }
}

#[cfg(test)]
mod tests {
    use super::newest_in_list;
    use serde_json::json;

    #[test]
    fn lists_of_every_common_shape_give_their_newest_time() {
        assert_eq!(newest_in_list(&json!({"object": "list", "data": [{"created": 1700000000}, {"created": 1600000000}]})), Some(Some(1700000000)));
        assert_eq!(newest_in_list(&json!([{"created_at": "2026-11-30T10:00:00Z"}])), Some(Some(1796032800)));
        assert_eq!(newest_in_list(&json!({"items": [{"updated_at": 5}], "next": null})), Some(Some(5)));
        assert_eq!(newest_in_list(&json!({"data": []})), Some(None));
        assert_eq!(newest_in_list(&json!({"id": "acct_1"})), None);
    }

    #[test]
    fn times_outside_the_years_1970_to_9999_are_ignored() {
        let beyond = super::LAST_SECOND_OF_9999 + 1;
        assert_eq!(newest_in_list(&json!({"data": [{"created": beyond}, {"created": 1700000000}]})), Some(Some(1700000000)));
        assert_eq!(newest_in_list(&json!({"data": [{"created": i64::MAX}]})), Some(None));
        assert_eq!(newest_in_list(&json!({"data": [{"created": -1}]})), Some(None));
        assert_eq!(newest_in_list(&json!({"data": [{"created": super::LAST_SECOND_OF_9999}]})), Some(Some(super::LAST_SECOND_OF_9999)));
        assert_eq!(chrono::DateTime::from_timestamp(super::LAST_SECOND_OF_9999, 0).unwrap().to_rfc3339(), "9999-12-31T23:59:59+00:00");
    }
}
