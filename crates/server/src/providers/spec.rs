//! Providers as configuration: the `CONNECTIONS_PROVIDERS` TOML file, or, without it, Stripe from the
//! `STRIPE_*` settings. Secrets never live in the file: it names the environment variables that hold
//! them. A bad entry stops the server at start, naming the provider and the key.
//!
//! An entry is read in two steps, so that every problem names its key: the keys every entry has
//! (`name`, `data`, …, and `dialect`), then the dialect's own keys, as the serde enum tagged by
//! `dialect` ([`FileSpec`]) whose variants are the dialects' spec structs, each in its dialect's file.

use std::time::Duration;

use connections_wire::Dialect;
use serde::Deserialize;
use url::Url;

use super::api_key::{ApiKeyFile, ApiKeySpec};
use super::dialect;
use super::oauth2::{Oauth2File, Oauth2Spec};
use super::stripe::apps::AppsFile;
use super::stripe::connect::{ConnectFile, ConnectSpec};
use super::stripe::key::{StripeKeyFile, StripeKeySpec};
use super::stripe::StripeSpec;
use super::transport::Http;
use crate::secret::Secret;

/// One configured provider, checked: what every source has, and its dialect's own spec.
#[derive(Clone, Debug)]
pub struct ProviderSpec {
    /// `[a-z0-9-]+`, used in paths.
    pub id: String,
    pub name: String,
    pub categories: Vec<String>,
    pub icon: Option<String>,
    pub access_summary: String,
    pub data: Vec<String>,
    pub docs_url: Option<Url>,
    pub uninstall_url: Option<Url>,
    pub timeout: Duration,
    pub dialect: DialectSpec,
}

impl ProviderSpec {
    /// A provider with nothing but its names and dialect; the dialect fills in its defaults.
    pub(crate) fn bare(id: &str, name: &str, dialect: DialectSpec) -> Self {
        ProviderSpec {
            id: id.to_owned(),
            name: name.to_owned(),
            categories: Vec::new(),
            icon: None,
            access_summary: String::new(),
            data: Vec::new(),
            docs_url: None,
            uninstall_url: None,
            timeout: Duration::from_secs(10),
            dialect,
        }
    }
}

/// Every dialect: its name on the wire and in the providers file, its checked spec (`DialectSpec`),
/// and the keys its entries read (`FileSpec`, the serde enum tagged by `dialect`). Each spec type
/// lives in its dialect's file, which also makes its client (`client`) and checks its entry
/// (`check`). A new dialect is its file and one line here (and its name in
/// `connections_wire::Dialect`, which the SPA shows).
macro_rules! dialects {
    ($($kind:ident($name:literal): $spec:ty, $file:ty;)*) => {
        /// Each dialect's spec, checked.
        #[derive(Clone, Debug)]
        pub enum DialectSpec {
            $($kind($spec),)*
        }

        impl DialectSpec {
            #[cfg(any(test, feature = "demo"))]
            pub(crate) fn kind(&self) -> Dialect {
                match self {
                    $(DialectSpec::$kind(_) => Dialect::$kind,)*
                }
            }

            /// The dialect that speaks to the provider, over `http`.
            pub(super) fn client(&self, http: Http) -> Box<dyn dialect::Dialect> {
                match self.clone() {
                    $(DialectSpec::$kind(spec) => spec.client(http),)*
                }
            }
        }

        /// A dialect's keys in a providers-file entry, by the value of `dialect`.
        #[derive(Deserialize)]
        #[serde(tag = "dialect")]
        enum FileSpec {
            $(#[serde(rename = $name)] $kind($file),)*
        }

        impl FileSpec {
            /// Every dialect, with the keys its entries read.
            fn dialects() -> Vec<(Dialect, &'static [&'static str])> {
                vec![$((Dialect::$kind, keys_of::<$file>()),)*]
            }

            fn check(self, common: Common, env: Env<'_>) -> Result<ProviderSpec, KeyProblem> {
                match self {
                    $(FileSpec::$kind(file) => file.check(common, env),)*
                }
            }
        }
    };
}

dialects! {
    Oauth2("oauth2"): Oauth2Spec, Oauth2File;
    StripeApps("stripe-apps"): StripeSpec, AppsFile;
    StripeConnect("stripe-connect"): ConnectSpec, ConnectFile;
    ApiKey("api-key"): ApiKeySpec, ApiKeyFile;
    StripeKey("stripe-key"): StripeKeySpec, StripeKeyFile;
}

/// The keys every entry has, whatever its dialect (beside `dialect`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommonFile {
    name: String,
    #[serde(default)]
    categories: Vec<String>,
    icon: Option<String>,
    access_summary: Option<String>,
    data: Option<Vec<String>>,
    docs_url: Option<String>,
    uninstall_url: Option<String>,
    timeout_secs: Option<u64>,
}

/// The keys every entry has, checked; what is not given, the dialect decides.
pub(crate) struct Common {
    pub id: String,
    pub name: String,
    pub categories: Vec<String>,
    pub icon: Option<String>,
    pub access_summary: Option<String>,
    pub data: Option<Vec<String>>,
    pub docs_url: Option<Url>,
    pub uninstall_url: Option<Url>,
    pub timeout: Duration,
}

impl Common {
    fn check(id: &str, file: CommonFile) -> Result<Self, KeyProblem> {
        if file.name.trim().is_empty() || file.name.len() > 80 {
            return Err(("name", "must be 1 to 80 characters".into()));
        }
        let timeout = match file.timeout_secs {
            None => Duration::from_secs(10),
            Some(secs @ 1..=120) => Duration::from_secs(secs),
            Some(secs) => return Err(("timeout_secs", format!("{secs} must be from 1 to 120"))),
        };
        for category in &file.categories {
            if category.trim().is_empty() || category.len() > 40 {
                return Err(("categories", "each must be 1 to 40 characters".into()));
            }
        }
        let docs_url = optional_url("docs_url", &file.docs_url)?;
        let uninstall_url = optional_url("uninstall_url", &file.uninstall_url)?;
        let icon = match file.icon {
            Some(icon) if icon.starts_with('/') && !icon.starts_with("//") => Some(icon),
            Some(icon) => Some(url_at("icon", &icon)?.to_string()),
            None => None,
        };
        Ok(Common {
            id: id.to_owned(),
            name: file.name.trim().to_owned(),
            categories: file.categories,
            icon,
            access_summary: file.access_summary,
            data: file.data,
            docs_url,
            uninstall_url,
            timeout,
        })
    }

    /// What the entry gives, over the dialect's defaults (`base`).
    pub(crate) fn over(self, mut base: ProviderSpec) -> ProviderSpec {
        if !self.categories.is_empty() {
            base.categories = self.categories;
        }
        if self.icon.is_some() {
            base.icon = self.icon;
        }
        if let Some(data) = self.data {
            base.data = data;
        }
        if let Some(summary) = self.access_summary {
            base.access_summary = summary;
        }
        base.docs_url = self.docs_url.or(base.docs_url);
        base.uninstall_url = self.uninstall_url.or(base.uninstall_url);
        base.timeout = self.timeout;
        base
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{location}: {problem}")]
pub struct ProvidersError {
    /// `CONNECTIONS_PROVIDERS (path): provider "acme", key token_url`, or a `STRIPE_*` setting.
    pub location: String,
    pub problem: String,
}

/// Reads environment variables: `std::env::var`, or a map in tests and the demo.
pub(crate) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Parses a providers file. `source` names it in errors.
pub(crate) fn parse_file(text: &str, source: &str, env: Env<'_>) -> Result<Vec<ProviderSpec>, ProvidersError> {
    let file_error = |problem: String| ProvidersError { location: format!("CONNECTIONS_PROVIDERS ({source})"), problem };
    let mut table: toml::Table = text.parse().map_err(|e: toml::de::Error| file_error(e.message().to_owned()))?;
    let providers = match table.remove("providers") {
        Some(toml::Value::Table(providers)) => providers,
        Some(_) => return Err(file_error("`providers` must be a table of [providers.<id>] sections".into())),
        None => return Err(file_error("no [providers.<id>] section".into())),
    };
    if let Some(key) = table.keys().next() {
        return Err(file_error(format!("unknown top-level key {key:?}; only [providers.<id>] sections are read")));
    }
    let mut specs = Vec::new();
    for (id, value) in providers {
        let at = |key: Option<&str>| match key {
            Some(key) => format!("CONNECTIONS_PROVIDERS ({source}): provider {id:?}, key {key}"),
            None => format!("CONNECTIONS_PROVIDERS ({source}): provider {id:?}"),
        };
        if !is_provider_id(&id) {
            return Err(ProvidersError { location: at(None), problem: "the id must be 1 to 40 characters of [a-z0-9-]".into() });
        }
        specs.push(parse_entry(&id, value, env).map_err(|problem| match problem {
            EntryProblem::Entry(problem) => ProvidersError { location: at(None), problem },
            EntryProblem::Key(key, problem) => ProvidersError { location: at(Some(key)), problem },
        })?);
    }
    if specs.is_empty() {
        return Err(file_error("no [providers.<id>] section".into()));
    }
    Ok(specs)
}

/// What is wrong with an entry: as a whole (serde's words: a missing or unknown key, a wrong type),
/// or one key's value.
enum EntryProblem {
    Entry(String),
    Key(&'static str, String),
}

impl From<KeyProblem> for EntryProblem {
    fn from((key, problem): KeyProblem) -> Self {
        EntryProblem::Key(key, problem)
    }
}

fn read<T: serde::de::DeserializeOwned>(value: toml::Value) -> Result<T, EntryProblem> {
    value.try_into().map_err(|e: toml::de::Error| EntryProblem::Entry(e.message().to_owned()))
}

/// One `[providers.<id>]` entry: its dialect, the keys every entry has, then the dialect's own.
fn parse_entry(id: &str, value: toml::Value, env: Env<'_>) -> Result<ProviderSpec, EntryProblem> {
    let toml::Value::Table(mut table) = value else {
        return Err(read::<CommonFile>(value).err().unwrap_or_else(|| EntryProblem::Entry("must be a table".into())));
    };
    let raw = match table.remove("dialect") {
        Some(toml::Value::String(raw)) => raw,
        Some(other) => return Err(read::<String>(other).err().unwrap_or_else(|| EntryProblem::Entry("dialect must be a string".into()))),
        None => return Err(EntryProblem::Entry("missing field `dialect`".into())),
    };
    let dialects = FileSpec::dialects();
    let Some(&(dialect, keys)) = dialects.iter().find(|(dialect, _)| dialect.as_str() == raw.trim()) else {
        let names: Vec<&str> = dialects.iter().map(|(dialect, _)| dialect.as_str()).collect();
        return Err(EntryProblem::Key("dialect", format!("{raw:?} must be one of {}", names.join(", "))));
    };
    let mut common = toml::Table::new();
    for key in keys_of::<CommonFile>() {
        if let Some(value) = table.remove(*key) {
            common.insert((*key).to_owned(), value);
        }
    }
    let common = Common::check(id, read(toml::Value::Table(common))?)?;
    // A key another dialect reads is named as such, not as unknown.
    for key in table.keys().filter(|key| !keys.contains(&key.as_str())) {
        if let Some(other) = dialects.iter().flat_map(|(_, keys)| keys.iter()).find(|other| **other == key.as_str()) {
            return Err(EntryProblem::Key(other, format!("is not used by the {} dialect", dialect.as_str())));
        }
    }
    table.insert("dialect".into(), toml::Value::String(dialect.as_str().to_owned()));
    Ok(read::<FileSpec>(toml::Value::Table(table))?.check(common, env)?)
}

/// The keys a spec struct reads, as serde's derive lists them.
fn keys_of<T: serde::de::DeserializeOwned>() -> &'static [&'static str] {
    use serde::de::{Error, Visitor};
    struct Probe<'a>(&'a mut &'static [&'static str]);
    impl<'de> serde::Deserializer<'de> for Probe<'_> {
        type Error = serde::de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(Error::custom("a struct is probed"))
        }
        fn deserialize_struct<V: Visitor<'de>>(self, _: &'static str, fields: &'static [&'static str], _: V) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(Error::custom("probed"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit unit_struct
            newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }
    let mut keys: &'static [&'static str] = &[];
    let _ = T::deserialize(Probe(&mut keys));
    keys
}

pub(crate) fn is_provider_id(id: &str) -> bool {
    (1..=40).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A problem with one key of an entry: the key, and what is wrong.
pub(crate) type KeyProblem = (&'static str, String);

pub(crate) fn url_at(key: &'static str, value: &str) -> Result<Url, KeyProblem> {
    let url = Url::parse(value.trim()).map_err(|e| (key, format!("{value:?} is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err((key, format!("{value:?} must be an http or https URL")));
    }
    let local = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    if url.scheme() == "http" && !local {
        return Err((key, format!("{value:?} must use https (plain http is only for localhost)")));
    }
    Ok(url)
}

pub(crate) fn required_url(key: &'static str, value: &Option<String>) -> Result<Url, KeyProblem> {
    match value {
        Some(value) => url_at(key, value),
        None => Err((key, "is required for this dialect".into())),
    }
}

pub(crate) fn optional_url(key: &'static str, value: &Option<String>) -> Result<Option<Url>, KeyProblem> {
    value.as_deref().map(|value| url_at(key, value)).transpose()
}

pub(crate) fn client_id(value: &str) -> Result<String, KeyProblem> {
    match value.trim() {
        "" => Err(("client_id", "must not be empty".into())),
        id => Ok(id.to_owned()),
    }
}

pub(crate) fn secret_from_env(key: &'static str, variable: &str, env: Env<'_>) -> Result<Secret<String>, KeyProblem> {
    match env(variable).map(|v| v.trim().to_owned()) {
        Some(value) if !value.is_empty() => Ok(Secret::new(value)),
        _ => Err((key, format!("the environment variable {variable} it names is not set"))),
    }
}

pub(crate) fn webhook_secret(key: &'static str, variable: &Option<String>, env: Env<'_>) -> Result<Option<Secret<String>>, KeyProblem> {
    let Some(variable) = variable else { return Ok(None) };
    let secret = secret_from_env(key, variable, env)?;
    if !secret.expose().starts_with("whsec_") || secret.expose().len() <= 10 {
        return Err((key, format!("{variable} must hold a webhook signing secret starting with whsec_")));
    }
    Ok(Some(secret))
}

pub(crate) fn pointer(key: &'static str, value: &Option<String>) -> Result<String, KeyProblem> {
    match value.as_deref() {
        // RFC 6901: empty (the whole document) or `/`-separated reference tokens.
        Some(p) if p.starts_with('/') => Ok(p.to_owned()),
        Some(p) => Err((key, format!("{p:?} must be a JSON pointer (RFC 6901) such as /data/id"))),
        None => Err((key, "is required for this dialect".into())),
    }
}

/// Extra parameters of the authorize URL; those Connections sets itself are refused.
pub(crate) fn authorize_params(table: &toml::Table) -> Result<Vec<(String, String)>, KeyProblem> {
    const RESERVED: [&str; 7] = ["response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method"];
    let mut params = Vec::new();
    for (name, value) in table {
        if RESERVED.contains(&name.as_str()) {
            return Err(("authorize_params", format!("{name:?} is set by Connections itself")));
        }
        let toml::Value::String(value) = value else {
            return Err(("authorize_params", format!("{name:?} must be a string")));
        };
        params.push((name.clone(), value.clone()));
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::stripe::{STRIPE_APPS_AUTHORIZE_URL, STRIPE_APPS_TOKEN_URL};
    use crate::providers::ClientAuth;

    const ACME: &str = r#"
[providers.acme]
name = "Acme CRM"
dialect = "oauth2"
categories = ["crm"]
icon = "https://cdn.example.com/acme.svg"
authorize_url = "https://acme.example/oauth/authorize"
token_url = "https://acme.example/oauth/token"
revoke_url = "https://acme.example/oauth/revoke"
account_url = "https://acme.example/api/me"
account_id_pointer = "/data/id"
account_name_pointer = "/data/profile/company"
scopes = ["contacts.read", "deals.read"]
scope_separator = " "
client_auth = "basic"
client_id = "acme_client"
client_secret_env = "ACME_CLIENT_SECRET"
authorize_params = { access_type = "offline" }
data = ["Contacts", "Deals", "Companies"]
docs_url = "https://acme.example/docs/connect"
"#;

    fn env(name: &str) -> Option<String> {
        match name {
            "ACME_CLIENT_SECRET" => Some("acme-secret".into()),
            "STRIPE_SECRET_KEY" => Some("sk_test_1".into()),
            _ => None,
        }
    }

    fn error(text: &str) -> String {
        parse_file(text, "p.toml", &env).expect_err("should be refused").to_string()
    }

    #[test]
    fn the_documented_example_parses_with_its_secret_from_the_environment() {
        let specs = parse_file(ACME, "p.toml", &env).unwrap();
        let spec = &specs[0];
        let DialectSpec::Oauth2(acme) = &spec.dialect else { panic!("{spec:?}") };
        assert_eq!((spec.id.as_str(), spec.name.as_str(), spec.dialect.kind()), ("acme", "Acme CRM", Dialect::Oauth2));
        assert_eq!(acme.client_secret.expose(), "acme-secret");
        assert_eq!(acme.scopes, ["contacts.read", "deals.read"]);
        assert_eq!(acme.authorize_params, [("access_type".to_owned(), "offline".to_owned())]);
        assert_eq!(acme.client_auth, ClientAuth::Basic);
        assert_eq!(acme.revoke_url.as_ref().unwrap().as_str(), "https://acme.example/oauth/revoke");
        assert!(!format!("{acme:?}").contains("acme-secret"));
    }

    #[test]
    fn providers_keep_the_order_of_the_file() {
        let text = format!(
            "{ACME}\n[providers.stripe]\nname = \"Stripe\"\ndialect = \"stripe-apps\"\nclient_id = \"ca_1\"\nclient_secret_env = \"STRIPE_SECRET_KEY\"\n"
        );
        let ids: Vec<String> = parse_file(&text.replace("[providers.acme]", "[providers.zeta]"), "p.toml", &env).unwrap().into_iter().map(|s| s.id).collect();
        assert_eq!(ids, ["zeta", "stripe"]);
    }

    #[test]
    fn stripe_apps_takes_stripes_own_urls_by_default() {
        let text = "[providers.stripe]\nname = \"Stripe\"\ndialect = \"stripe-apps\"\nclient_id = \"ca_1\"\nclient_secret_env = \"STRIPE_SECRET_KEY\"\n";
        let spec = &parse_file(text, "p.toml", &env).unwrap()[0];
        let DialectSpec::StripeApps(apps) = &spec.dialect else { panic!("{spec:?}") };
        assert_eq!(apps.authorize_url.as_str(), STRIPE_APPS_AUTHORIZE_URL);
        assert_eq!(apps.token_url.as_str(), STRIPE_APPS_TOKEN_URL);
        assert_eq!(apps.account_url.as_str(), "https://api.stripe.com/v1/account");
        assert!(super::super::Provider::new(spec.clone()).dialect_impl().revocation().is_none());
        assert!(spec.uninstall_url.is_some());
    }

    #[test]
    fn a_bad_entry_names_the_provider_and_the_key() {
        assert!(error(&ACME.replace("token_url = \"https://acme.example/oauth/token\"\n", "")).contains("provider \"acme\", key token_url: is required"));
        assert!(error(&ACME.replace("ACME_CLIENT_SECRET", "MISSING_SECRET")).contains("key client_secret_env: the environment variable MISSING_SECRET"));
        assert!(error(&ACME.replace("\"oauth2\"", "\"saml\"")).contains("key dialect"));
        assert!(error(&ACME.replace("https://acme.example/api/me", "http://acme.example/api/me"))
            .contains("key account_url: \"http://acme.example/api/me\" must use https"));
        assert!(error(&ACME.replace("\"/data/id\"", "\"data.id\"")).contains("key account_id_pointer"));
        assert!(error(&ACME.replace("\"basic\"", "\"jwt\"")).contains("key client_auth"));
        assert!(error(&ACME.replace("docs_url", "doc_url")).contains("provider \"acme\": unknown field `doc_url`"));
        assert!(error(&ACME.replace("[providers.acme]", "[providers.Acme]")).contains("provider \"Acme\": the id must be"));
        assert!(error(&ACME.replace("access_type", "state")).contains("key authorize_params"));
        let with_urls = |urls: &str| {
            ACME.replace("data = [\"Contacts\", \"Deals\", \"Companies\"]", &format!("data = [\"Contacts\", \"Deals\", \"Companies\"]\ndata_urls = {urls}"))
        };
        assert!(
            error(&with_urls("{ Leads = \"https://acme.example/api/leads\" }")).contains("key data_urls: \"Leads\" is not one of the tables listed in data")
        );
        assert!(error(&with_urls("{ Contacts = \"ftp://acme.example/contacts\" }")).contains("key data_urls"));
        assert!(error(&with_urls("{ Contacts = 3 }")).contains("key data_urls: \"Contacts\" must be a URL string"));
        assert!(error("[providers]\n").contains("no [providers.<id>] section"));
        assert!(error("providers = 1").contains("must be a table"));
        assert!(error("not toml at all [").starts_with("CONNECTIONS_PROVIDERS (p.toml): "));
        let stripe = "[providers.stripe]\nname = \"Stripe\"\ndialect = \"stripe-connect\"\nclient_id = \"x_1\"\nclient_secret_env = \"STRIPE_SECRET_KEY\"\n";
        assert!(error(stripe).contains("provider \"stripe\", key client_id: must be a client id starting with ca_"));
        assert!(error(&stripe.replace("x_1", "ca_1").replace("name", "account_url = \"https://x.example\"\nname")).contains("key account_url: is not used"));
    }
}
