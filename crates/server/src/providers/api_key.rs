//! The `api-key` dialect: any source read with an API key an administrator pastes. No consent page,
//! no renewal, no revocation: the key is checked against `key_pattern`, tested (the account at
//! `account_url`, one page of each table at `data_urls`) before it is stored, and sent where
//! `key_placement` says (`Authorization: Bearer`, HTTP Basic user name, or the `key_header` header).

use async_trait::async_trait;
use connections_wire::{Dialect as Kind, KeyField};
use serde::Deserialize;
use url::Url;

use super::dialect::{Dialect, PastedKey};
use super::spec::{self, Common, DialectSpec, Env, KeyProblem, ProviderSpec};
use super::transport::{Http, Placement};
use super::{AccountInfo, ProviderError};
use crate::secret::Secret;

/// An `api-key` entry of the providers file, as written (beside the keys every entry has).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApiKeyFile {
    key_label: Option<String>,
    key_pattern: Option<String>,
    key_help_url: Option<String>,
    key_placement: Option<String>,
    key_header: Option<String>,
    account_url: Option<String>,
    account_id_pointer: Option<String>,
    account_name_pointer: Option<String>,
    /// `{ "<table>" = "<list endpoint URL>" }` for tables listed in `data`.
    #[serde(default)]
    data_urls: toml::Table,
}

/// Where the account is read, and its id and name in the answer.
#[derive(Clone, Debug)]
pub(crate) struct AccountRead {
    pub url: Url,
    pub id_pointer: String,
    pub name_pointer: String,
}

/// An `api-key` source, checked.
#[derive(Clone, Debug)]
pub struct ApiKeySpec {
    pub label: String,
    /// Anchored to the whole key.
    pub pattern: Option<regex::Regex>,
    pub help_url: Option<Url>,
    pub placement: Placement,
    pub(crate) account: Option<AccountRead>,
    pub data_urls: Vec<(String, Url)>,
}

impl ApiKeySpec {
    pub(crate) fn client(self, http: Http) -> Box<dyn Dialect> {
        Box::new(ApiKey { spec: self, http })
    }
}

/// The tables of `data_urls`, checked against `data`.
pub(crate) fn data_urls(table: &toml::Table, data: &[String]) -> Result<Vec<(String, Url)>, KeyProblem> {
    let mut urls = Vec::new();
    for (name, url) in table {
        if !data.contains(name) {
            return Err(("data_urls", format!("{name:?} is not one of the tables listed in data")));
        }
        let url = url.as_str().ok_or(("data_urls", format!("{name:?} must be a URL string")))?;
        urls.push((name.clone(), spec::url_at("data_urls", url)?));
    }
    Ok(urls)
}

impl ApiKeyFile {
    pub(crate) fn check(self, common: Common, _env: Env<'_>) -> Result<ProviderSpec, KeyProblem> {
        let data = common.data.clone().unwrap_or_default();
        let data_urls = data_urls(&self.data_urls, &data)?;
        let placement = match (self.key_placement.as_deref(), &self.key_header) {
            (None | Some("bearer"), None) => Placement::Bearer,
            (Some("basic"), None) => Placement::Basic,
            (Some("header"), Some(name)) => {
                Placement::Header(http::HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| ("key_header", format!("{name:?} is not a header name")))?)
            }
            (Some("header"), None) => return Err(("key_header", "is required with key_placement = \"header\"".into())),
            (None | Some("bearer" | "basic"), Some(_)) => return Err(("key_header", "is only used with key_placement = \"header\"".into())),
            (Some(other), _) => return Err(("key_placement", format!("{other:?} must be bearer, basic or header"))),
        };
        if let Placement::Header(name) = &placement {
            if [http::header::HOST, http::header::CONTENT_LENGTH, http::header::COOKIE].contains(name) {
                return Err(("key_header", format!("{name} cannot carry a key")));
            }
        }
        let pattern = match &self.key_pattern {
            None => None,
            Some(pattern) => {
                // The whole key must match, whatever anchors the pattern has.
                Some(regex::Regex::new(&format!("^(?:{pattern})$")).map_err(|e| ("key_pattern", format!("is not a regular expression: {e}")))?)
            }
        };
        let account = match self.account_url {
            None => {
                if self.account_id_pointer.is_some() || self.account_name_pointer.is_some() {
                    return Err(("account_url", "is required with account_id_pointer and account_name_pointer".into()));
                }
                None
            }
            Some(url) => Some(AccountRead {
                url: spec::url_at("account_url", &url)?,
                id_pointer: spec::pointer("account_id_pointer", &self.account_id_pointer)?,
                name_pointer: match &self.account_name_pointer {
                    None => spec::pointer("account_id_pointer", &self.account_id_pointer)?,
                    some => spec::pointer("account_name_pointer", some)?,
                },
            }),
        };
        if account.is_none() && data_urls.is_empty() {
            return Err(("data_urls", "a key must be testable: give account_url or at least one of data_urls".into()));
        }
        let label = match self.key_label.as_deref().map(str::trim) {
            None => "API key".to_owned(),
            Some(label) if (1..=60).contains(&label.len()) => label.to_owned(),
            Some(_) => return Err(("key_label", "must be 1 to 60 characters".into())),
        };
        let api_key = ApiKeySpec { label, pattern, help_url: spec::optional_url("key_help_url", &self.key_help_url)?, placement, account, data_urls };
        let mut base = ProviderSpec::bare(&common.id, &common.name, DialectSpec::ApiKey(api_key));
        base.access_summary = format!("Read access to your {} data with an API key you create there, as listed below.", common.name);
        Ok(common.over(base))
    }
}

/// A source read with a pasted key, and its HTTP client.
pub(crate) struct ApiKey {
    spec: ApiKeySpec,
    http: Http,
}

/// A key is at most this long, printable ASCII without spaces.
pub(crate) fn check_key_text(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("No key was entered".into());
    }
    if key.len() > 512 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("A key is at most 512 characters without spaces".into());
    }
    Ok(())
}

#[async_trait]
impl Dialect for ApiKey {
    fn kind(&self) -> Kind {
        Kind::ApiKey
    }

    fn scope(&self) -> String {
        String::new()
    }

    fn is_account_id(&self, id: &str) -> bool {
        super::oauth2::is_account_id(id)
    }

    /// The account at `account_url`; without one, the key has no account to read (`Rejected`).
    async fn fetch_account(&self, key: &Secret<String>) -> Result<AccountInfo, ProviderError> {
        let Some(account) = &self.spec.account else {
            return Err(ProviderError::Rejected { provider: self.http.name.clone(), error: "no_account_url".into(), description: String::new() });
        };
        let (status, body) = self.http.get_with(&self.spec.placement, key, &account.url).await?;
        if status == reqwest::StatusCode::FORBIDDEN {
            return Err(ProviderError::PermissionMissing { provider: self.http.name.clone(), error: "403".into(), description: String::new() });
        }
        if !status.is_success() {
            return Err(ProviderError::Rejected { provider: self.http.name.clone(), error: status.as_u16().to_string(), description: String::new() });
        }
        super::oauth2::read_account(&self.http, &body, &account.id_pointer, &account.name_pointer)
    }

    fn data_url(&self, table: &str) -> Option<Url> {
        self.spec.data_urls.iter().find(|(name, _)| name == table).map(|(_, url)| url.clone())
    }

    fn pasted_key(&self) -> Option<&dyn PastedKey> {
        Some(self)
    }
}

impl PastedKey for ApiKey {
    fn field(&self) -> KeyField {
        KeyField {
            label: self.spec.label.clone(),
            pattern: self.spec.pattern.as_ref().map(|p| p.as_str().to_owned()),
            help_url: self.spec.help_url.as_ref().map(Url::to_string),
            secret_keys_allowed: false,
        }
    }

    fn check_form(&self, key: &str) -> Result<Option<bool>, String> {
        check_key_text(key)?;
        match &self.spec.pattern {
            Some(pattern) if !pattern.is_match(key) => Err(format!("This is not a {} {}: it does not have the form of one", self.http.name, self.spec.label)),
            _ => Ok(None),
        }
    }

    fn placement(&self) -> Placement {
        self.spec.placement.clone()
    }

    fn reads_account(&self) -> bool {
        self.spec.account.is_some()
    }
}

#[cfg(test)]
mod tests {
    use crate::providers::spec::{parse_file, DialectSpec};
    use crate::providers::Provider;

    const PIPELINE: &str = r#"
[providers.pipeline]
name = "Pipeline CRM"
dialect = "api-key"
categories = ["crm"]
key_label = "API key"
key_pattern = "^pl_[A-Za-z0-9]{20,}$"
key_help_url = "https://pipeline.example/settings/api"
key_placement = "header"
key_header = "X-Api-Key"
account_url = "https://pipeline.example/api/me"
account_id_pointer = "/id"
account_name_pointer = "/company"
data = ["Deals", "Contacts"]
data_urls = { Deals = "https://pipeline.example/api/deals", Contacts = "https://pipeline.example/api/contacts" }
docs_url = "https://pipeline.example/docs/keys"
"#;

    fn env(_: &str) -> Option<String> {
        None
    }

    fn error(text: &str) -> String {
        parse_file(text, "p.toml", &env).expect_err("should be refused").to_string()
    }

    #[test]
    fn the_issue_s_example_parses_and_its_key_field_is_what_the_page_shows() {
        let spec = parse_file(PIPELINE, "p.toml", &env).unwrap().remove(0);
        let DialectSpec::ApiKey(keyed) = &spec.dialect else { panic!("{spec:?}") };
        assert_eq!(keyed.placement.header(), Some("x-api-key"));
        assert_eq!(keyed.data_urls.len(), 2);
        let provider = Provider::new(spec);
        let info = provider.info(vec![]);
        let field = info.key.expect("a key field");
        assert_eq!((field.label.as_str(), field.help_url.as_deref()), ("API key", Some("https://pipeline.example/settings/api")));
        assert!(provider.authorize_url("s", "c", "r", None).is_none() && provider.dialect_impl().refresh().is_none());
        let pasted = provider.dialect_impl().pasted_key().unwrap();
        assert_eq!(pasted.check_form("pl_abcdefghijklmnopqrstuvwxyz"), Ok(None));
        let refused = pasted.check_form("sk_abcdefghijklmnopqrstuvwxyz").unwrap_err();
        assert!(!refused.contains("sk_abc"), "the key is never repeated: {refused}");
        assert!(pasted.check_form("pl_abcdefghijklmnopqrstuvwxyz trailing").is_err());
        assert!(pasted.check_form("").is_err());
    }

    #[test]
    fn a_bad_key_entry_names_its_key() {
        assert!(error(&PIPELINE.replace("\"header\"", "\"query\"")).contains("key key_placement"));
        assert!(error(&PIPELINE.replace("key_header = \"X-Api-Key\"\n", "")).contains("key key_header: is required"));
        assert!(error(&PIPELINE.replace("\"header\"", "\"bearer\"")).contains("key key_header: is only used"));
        assert!(error(&PIPELINE.replace("X-Api-Key", "Cookie")).contains("key key_header"));
        assert!(error(&PIPELINE.replace("^pl_[A-Za-z0-9]{20,}$", "pl_[")).contains("key key_pattern"));
        assert!(error(&PIPELINE.replace("\"/id\"", "\"id\"")).contains("key account_id_pointer"));
        assert!(error(&PIPELINE.replace("Deals = ", "Leads = ")).contains("key data_urls"));
        assert!(error(&PIPELINE.replace("https://pipeline.example/settings/api", "ftp://x")).contains("key key_help_url"));
        let untestable =
            PIPELINE.replace("account_url = \"https://pipeline.example/api/me\"\naccount_id_pointer = \"/id\"\naccount_name_pointer = \"/company\"\n", "");
        let untestable =
            untestable.replace("data_urls = { Deals = \"https://pipeline.example/api/deals\", Contacts = \"https://pipeline.example/api/contacts\" }\n", "");
        assert!(error(&untestable).contains("key data_urls: a key must be testable"));
        assert!(error(&PIPELINE.replace("key_label", "client_id = \"x\"\nkey_label")).contains("key client_id: is not used by the api-key dialect"));
    }
}
