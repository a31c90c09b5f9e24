//! Providers as configuration: the `CONNECTIONS_PROVIDERS` TOML file, or, without it, Stripe from the
//! `STRIPE_*` settings. Secrets never live in the file: it names the environment variables that hold
//! them. A bad entry stops the server at start, naming the provider and the key.

use std::time::Duration;

use connections_wire::Dialect;
use serde::Deserialize;
use url::Url;

use crate::secret::Secret;

pub const STRIPE_APPS_AUTHORIZE_URL: &str = "https://marketplace.stripe.com/oauth/v2/authorize";
pub const STRIPE_APPS_TOKEN_URL: &str = "https://api.stripe.com/v1/oauth/token";
pub const STRIPE_APPS_UNINSTALL_URL: &str = "https://dashboard.stripe.com/settings/apps";
pub const STRIPE_CONNECT_AUTHORIZE_URL: &str = "https://connect.stripe.com/oauth/authorize";
pub const STRIPE_CONNECT_TOKEN_URL: &str = "https://connect.stripe.com/oauth/token";
pub const STRIPE_CONNECT_DEAUTHORIZE_URL: &str = "https://connect.stripe.com/oauth/deauthorize";
pub const STRIPE_API_BASE: &str = "https://api.stripe.com";
pub const STRIPE_DOCS_URL: &str = "https://docs.stripe.com/stripe-apps/api-authentication/oauth";

/// What Stripe data the product syncs once connected.
pub const STRIPE_DATA_SYNCED: [&str; 7] = ["Customers", "Charges", "Coupons", "Invoices", "Plans", "Subscriptions", "Events"];

/// How the client authenticates at the token endpoint (RFC 6749 §2.3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// HTTP Basic with `client_id:client_secret` (Stripe: the secret key as user name).
    Basic,
    /// `client_id` and `client_secret` as form fields.
    Body,
}

/// One configured provider, checked.
#[derive(Clone, Debug)]
pub struct ProviderSpec {
    /// `[a-z0-9-]+`, used in paths.
    pub id: String,
    pub name: String,
    pub dialect: Dialect,
    pub categories: Vec<String>,
    pub icon: Option<String>,
    pub authorize_url: Url,
    pub token_url: Url,
    /// RFC 7009 revocation (`oauth2`) or Connect's `/oauth/deauthorize`; `None`: no such call.
    pub revoke_url: Option<Url>,
    /// `GET` with the access token: the account (Stripe: `/v1/account`).
    pub account_url: Url,
    pub account_id_pointer: String,
    pub account_name_pointer: String,
    pub scopes: Vec<String>,
    pub scope_separator: String,
    pub client_auth: ClientAuth,
    pub client_id: String,
    pub client_secret: Secret<String>,
    pub authorize_params: Vec<(String, String)>,
    pub access_summary: String,
    pub data: Vec<String>,
    /// `oauth2`: the list endpoint of each data table (`data_urls`), for the data-access check.
    pub data_urls: Vec<(String, Url)>,
    pub docs_url: Option<Url>,
    pub uninstall_url: Option<Url>,
    /// Stripe's webhook signing secret (`whsec_…`); `None`: its webhook route is off.
    pub webhook_secret: Option<Secret<String>>,
    pub timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
#[error("{location}: {problem}")]
pub struct ProvidersError {
    /// `CONNECTIONS_PROVIDERS (path): provider "acme", key token_url`, or a `STRIPE_*` setting.
    pub location: String,
    pub problem: String,
}

/// Reads environment variables: `std::env::var`, or a map in tests and the demo.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvider {
    name: String,
    dialect: String,
    #[serde(default)]
    categories: Vec<String>,
    icon: Option<String>,
    authorize_url: Option<String>,
    token_url: Option<String>,
    revoke_url: Option<String>,
    account_url: Option<String>,
    account_id_pointer: Option<String>,
    account_name_pointer: Option<String>,
    /// Stripe: where `/v1/account` lives.
    api_base: Option<String>,
    /// Stripe Connect: `/oauth/deauthorize`.
    deauthorize_url: Option<String>,
    scopes: Option<Vec<String>>,
    scope_separator: Option<String>,
    client_auth: Option<String>,
    client_id: String,
    client_secret_env: String,
    webhook_secret_env: Option<String>,
    #[serde(default)]
    authorize_params: toml::Table,
    access_summary: Option<String>,
    data: Option<Vec<String>>,
    /// `oauth2`: `{ "<table>" = "<list endpoint URL>" }` for tables listed in `data`.
    #[serde(default)]
    data_urls: toml::Table,
    docs_url: Option<String>,
    uninstall_url: Option<String>,
    timeout_secs: Option<u64>,
}

/// Parses a providers file. `source` names it in errors.
pub fn parse_file(text: &str, source: &str, env: Env<'_>) -> Result<Vec<ProviderSpec>, ProvidersError> {
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
        let raw: RawProvider = value.try_into().map_err(|e: toml::de::Error| ProvidersError { location: at(None), problem: e.message().to_owned() })?;
        specs.push(check(&id, raw, env).map_err(|(key, problem)| ProvidersError { location: at(Some(key)), problem })?);
    }
    if specs.is_empty() {
        return Err(file_error("no [providers.<id>] section".into()));
    }
    Ok(specs)
}

pub fn is_provider_id(id: &str) -> bool {
    (1..=40).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

type KeyProblem = (&'static str, String);

fn url_at(key: &'static str, value: &str) -> Result<Url, KeyProblem> {
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

fn required_url(key: &'static str, value: &Option<String>) -> Result<Url, KeyProblem> {
    match value {
        Some(value) => url_at(key, value),
        None => Err((key, "is required for this dialect".into())),
    }
}

fn optional_url(key: &'static str, value: &Option<String>) -> Result<Option<Url>, KeyProblem> {
    value.as_deref().map(|value| url_at(key, value)).transpose()
}

fn not_for(dialect: &str, keys: &[(&'static str, bool)]) -> Result<(), KeyProblem> {
    match keys.iter().find(|(_, present)| *present) {
        Some((key, _)) => Err((key, format!("is not used by the {dialect} dialect"))),
        None => Ok(()),
    }
}

fn secret_from_env(key: &'static str, variable: &str, env: Env<'_>) -> Result<Secret<String>, KeyProblem> {
    match env(variable).map(|v| v.trim().to_owned()) {
        Some(value) if !value.is_empty() => Ok(Secret::new(value)),
        _ => Err((key, format!("the environment variable {variable} it names is not set"))),
    }
}

fn webhook_secret(key: &'static str, variable: &Option<String>, env: Env<'_>) -> Result<Option<Secret<String>>, KeyProblem> {
    let Some(variable) = variable else { return Ok(None) };
    let secret = secret_from_env(key, variable, env)?;
    if !secret.expose().starts_with("whsec_") || secret.expose().len() <= 10 {
        return Err((key, format!("{variable} must hold a webhook signing secret starting with whsec_")));
    }
    Ok(Some(secret))
}

fn pointer(key: &'static str, value: &Option<String>) -> Result<String, KeyProblem> {
    match value.as_deref() {
        // RFC 6901: empty (the whole document) or `/`-separated reference tokens.
        Some(p) if p.starts_with('/') => Ok(p.to_owned()),
        Some(p) => Err((key, format!("{p:?} must be a JSON pointer (RFC 6901) such as /data/id"))),
        None => Err((key, "is required for this dialect".into())),
    }
}

fn check(id: &str, raw: RawProvider, env: Env<'_>) -> Result<ProviderSpec, KeyProblem> {
    let dialect = Dialect::parse(raw.dialect.trim()).ok_or(("dialect", format!("{:?} must be oauth2, stripe-apps or stripe-connect", raw.dialect)))?;
    if raw.name.trim().is_empty() || raw.name.len() > 80 {
        return Err(("name", "must be 1 to 80 characters".into()));
    }
    if raw.client_id.trim().is_empty() {
        return Err(("client_id", "must not be empty".into()));
    }
    let timeout = match raw.timeout_secs {
        None => Duration::from_secs(10),
        Some(secs @ 1..=120) => Duration::from_secs(secs),
        Some(secs) => return Err(("timeout_secs", format!("{secs} must be from 1 to 120"))),
    };
    let mut authorize_params = Vec::new();
    for (name, value) in &raw.authorize_params {
        const RESERVED: [&str; 7] = ["response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method"];
        if RESERVED.contains(&name.as_str()) {
            return Err(("authorize_params", format!("{name:?} is set by Connections itself")));
        }
        let toml::Value::String(value) = value else {
            return Err(("authorize_params", format!("{name:?} must be a string")));
        };
        authorize_params.push((name.clone(), value.clone()));
    }
    for category in &raw.categories {
        if category.trim().is_empty() || category.len() > 40 {
            return Err(("categories", "each must be 1 to 40 characters".into()));
        }
    }
    let client_secret = secret_from_env("client_secret_env", &raw.client_secret_env, env)?;
    let docs_url = optional_url("docs_url", &raw.docs_url)?;
    let uninstall_url = optional_url("uninstall_url", &raw.uninstall_url)?;
    let icon = match raw.icon {
        Some(icon) if icon.starts_with('/') && !icon.starts_with("//") => Some(icon),
        Some(icon) => Some(url_at("icon", &icon)?.to_string()),
        None => None,
    };
    let base = |data: Option<Vec<String>>| data.unwrap_or_default();
    let spec = match dialect {
        Dialect::Oauth2 => {
            not_for(
                "oauth2",
                &[
                    ("api_base", raw.api_base.is_some()),
                    ("deauthorize_url", raw.deauthorize_url.is_some()),
                    ("webhook_secret_env", raw.webhook_secret_env.is_some()),
                ],
            )?;
            let data = base(raw.data);
            let mut data_urls = Vec::new();
            for (table, url) in &raw.data_urls {
                if !data.contains(table) {
                    return Err(("data_urls", format!("{table:?} is not one of the tables listed in data")));
                }
                let url = url.as_str().ok_or(("data_urls", format!("{table:?} must be a URL string")))?;
                data_urls.push((table.clone(), url_at("data_urls", url)?));
            }
            let client_auth = match raw.client_auth.as_deref() {
                None | Some("basic") => ClientAuth::Basic,
                Some("body") => ClientAuth::Body,
                Some(other) => return Err(("client_auth", format!("{other:?} must be basic or body"))),
            };
            let scopes = raw.scopes.unwrap_or_default();
            if scopes.iter().any(|s| s.is_empty() || s.contains([' ', '"', '\\'])) {
                return Err(("scopes", "each scope must be non-empty, without spaces or quotes".into()));
            }
            ProviderSpec {
                id: id.to_owned(),
                access_summary: raw.access_summary.unwrap_or_else(|| format!("Read access to your {} data, as listed below.", raw.name.trim())),
                name: raw.name.trim().to_owned(),
                dialect,
                categories: raw.categories,
                icon,
                authorize_url: required_url("authorize_url", &raw.authorize_url)?,
                token_url: required_url("token_url", &raw.token_url)?,
                revoke_url: optional_url("revoke_url", &raw.revoke_url)?,
                account_url: required_url("account_url", &raw.account_url)?,
                account_id_pointer: pointer("account_id_pointer", &raw.account_id_pointer)?,
                account_name_pointer: pointer("account_name_pointer", &raw.account_name_pointer)?,
                scopes,
                scope_separator: raw.scope_separator.unwrap_or_else(|| " ".into()),
                client_auth,
                client_id: raw.client_id.trim().to_owned(),
                client_secret,
                authorize_params,
                data,
                data_urls,
                docs_url,
                uninstall_url,
                webhook_secret: None,
                timeout,
            }
        }
        Dialect::StripeApps | Dialect::StripeConnect => {
            let connect = dialect == Dialect::StripeConnect;
            not_for(
                dialect.as_str(),
                &[
                    ("account_url", raw.account_url.is_some()),
                    ("account_id_pointer", raw.account_id_pointer.is_some()),
                    ("account_name_pointer", raw.account_name_pointer.is_some()),
                    ("revoke_url", raw.revoke_url.is_some()),
                    ("client_auth", raw.client_auth.is_some()),
                    ("scope_separator", raw.scope_separator.is_some()),
                    ("deauthorize_url", !connect && raw.deauthorize_url.is_some()),
                    ("scopes", !connect && raw.scopes.is_some()),
                    ("data_urls", !raw.data_urls.is_empty()),
                ],
            )?;
            let stripe = StripeSettings {
                dialect,
                client_id: raw.client_id.trim().to_owned(),
                secret_key: client_secret,
                authorize_url: optional_url("authorize_url", &raw.authorize_url)?,
                token_url: optional_url("token_url", &raw.token_url)?,
                deauthorize_url: optional_url("deauthorize_url", &raw.deauthorize_url)?,
                api_base: optional_url("api_base", &raw.api_base)?,
                scope: match raw.scopes.as_deref() {
                    None => "read_only".to_owned(),
                    Some([scope]) => scope.clone(),
                    Some(_) => return Err(("scopes", "Stripe Connect takes one scope: read_only or read_write".into())),
                },
                webhook_secret: webhook_secret("webhook_secret_env", &raw.webhook_secret_env, env)?,
                timeout,
            };
            let mut spec = stripe.into_spec(id, raw.name.trim()).map_err(|(key, problem)| (stripe_key(key), problem))?;
            if !raw.categories.is_empty() {
                spec.categories = raw.categories;
            }
            if icon.is_some() {
                spec.icon = icon;
            }
            if let Some(data) = raw.data {
                spec.data = data;
            }
            if let Some(summary) = raw.access_summary {
                spec.access_summary = summary;
            }
            spec.docs_url = docs_url.or(spec.docs_url);
            spec.uninstall_url = uninstall_url.or(spec.uninstall_url);
            spec.authorize_params = authorize_params;
            spec
        }
    };
    Ok(spec)
}

/// The file's key for a [`StripeSettings`] problem (which names `STRIPE_*` settings).
fn stripe_key(setting: &'static str) -> &'static str {
    match setting {
        "STRIPE_CLIENT_ID" => "client_id",
        "STRIPE_SECRET_KEY" => "client_secret_env",
        "STRIPE_SCOPE" => "scopes",
        other => other,
    }
}

/// Stripe, from the `STRIPE_*` settings or a providers-file entry; unset URLs take Stripe's own.
pub struct StripeSettings {
    pub dialect: Dialect,
    pub client_id: String,
    pub secret_key: Secret<String>,
    pub authorize_url: Option<Url>,
    pub token_url: Option<Url>,
    pub deauthorize_url: Option<Url>,
    pub api_base: Option<Url>,
    /// Connect only: `read_only` or `read_write`.
    pub scope: String,
    pub webhook_secret: Option<Secret<String>>,
    pub timeout: Duration,
}

impl StripeSettings {
    /// Problems name the `STRIPE_*` setting.
    pub fn into_spec(self, id: &str, name: &str) -> Result<ProviderSpec, (&'static str, String)> {
        let parse = |value: &str| Url::parse(value).expect("Stripe's URLs parse");
        let connect = self.dialect == Dialect::StripeConnect;
        if !self.client_id.starts_with("ca_") {
            return Err(("STRIPE_CLIENT_ID", "must be a client id starting with ca_".into()));
        }
        let key = self.secret_key.expose();
        if !(key.starts_with("sk_") || key.starts_with("rk_")) {
            return Err(("STRIPE_SECRET_KEY", "must be a secret key starting with sk_ or rk_".into()));
        }
        if connect && !matches!(self.scope.as_str(), "read_only" | "read_write") {
            return Err(("STRIPE_SCOPE", format!("{:?} must be read_only or read_write", self.scope)));
        }
        let api_base = self.api_base.unwrap_or_else(|| parse(STRIPE_API_BASE));
        let account_url = api_base.join("v1/account").map_err(|e| ("STRIPE_API_BASE", e.to_string()))?;
        let (authorize_default, token_default) =
            if connect { (STRIPE_CONNECT_AUTHORIZE_URL, STRIPE_CONNECT_TOKEN_URL) } else { (STRIPE_APPS_AUTHORIZE_URL, STRIPE_APPS_TOKEN_URL) };
        let (scopes, access_summary) = if connect {
            let summary = match self.scope.as_str() {
                "read_write" => "Read and write access to your Stripe account's data. Stripe will ask you to approve this.",
                _ => "Read-only access to your Stripe account's data. Nothing in your Stripe account can be changed, and no money can be moved.",
            };
            (vec![self.scope.clone()], summary.to_owned())
        } else {
            (
                vec!["stripe_apps".to_owned()],
                "Access to your Stripe account's data as the app's permissions allow, which Stripe shows you before you install it.".to_owned(),
            )
        };
        Ok(ProviderSpec {
            id: id.to_owned(),
            name: name.to_owned(),
            dialect: self.dialect,
            categories: vec!["payments".to_owned()],
            icon: Some("/public/stripe.svg".to_owned()),
            authorize_url: self.authorize_url.unwrap_or_else(|| parse(authorize_default)),
            token_url: self.token_url.unwrap_or_else(|| parse(token_default)),
            revoke_url: connect.then(|| self.deauthorize_url.unwrap_or_else(|| parse(STRIPE_CONNECT_DEAUTHORIZE_URL))),
            account_url,
            account_id_pointer: "/id".to_owned(),
            account_name_pointer: "/business_profile/name".to_owned(),
            scopes,
            scope_separator: " ".to_owned(),
            client_auth: ClientAuth::Basic,
            client_id: self.client_id,
            client_secret: self.secret_key,
            authorize_params: Vec::new(),
            access_summary,
            data: STRIPE_DATA_SYNCED.iter().map(|s| s.to_string()).collect(),
            data_urls: Vec::new(),
            docs_url: Some(parse(if connect { "https://docs.stripe.com/connect/oauth-reference" } else { STRIPE_DOCS_URL })),
            uninstall_url: (!connect).then(|| parse(STRIPE_APPS_UNINSTALL_URL)),
            webhook_secret: self.webhook_secret,
            timeout: self.timeout,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let acme = &specs[0];
        assert_eq!((acme.id.as_str(), acme.name.as_str(), acme.dialect), ("acme", "Acme CRM", Dialect::Oauth2));
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
        assert_eq!(spec.authorize_url.as_str(), STRIPE_APPS_AUTHORIZE_URL);
        assert_eq!(spec.token_url.as_str(), STRIPE_APPS_TOKEN_URL);
        assert_eq!(spec.account_url.as_str(), "https://api.stripe.com/v1/account");
        assert!(spec.revoke_url.is_none());
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
