//! What a host page can choose when it mounts the app, checked before anything renders. Plain types,
//! tested natively; `embed` reads them from JavaScript.

use crate::routing::{BasePath, Routing};

/// Where the connect step talks to the provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectIn {
    /// A popup when the app is inside an iframe (providers refuse to be framed), else a redirect.
    Auto,
    /// The whole page goes to the provider and comes back: the default.
    Redirect,
    /// The provider in a popup window; the result comes back over `BroadcastChannel`.
    Popup,
}

/// The options as the host gave them: strings, unchecked.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RawOptions {
    pub base_path: Option<String>,
    pub api_base: Option<String>,
    pub locale: Option<String>,
    pub routing: Option<String>,
    pub connect_in: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AppOptions {
    pub base_path: BasePath,
    /// Origin (and path prefix) of the Connections server; empty for this page's origin.
    pub api_base: String,
    /// The host's choice; `None` lets the browser's languages decide.
    pub locale: Option<String>,
    pub routing: Routing,
    pub connect_in: ConnectIn,
}

impl AppOptions {
    /// The app on its own page, served by the Connections server.
    pub fn standalone() -> Self {
        AppOptions {
            base_path: BasePath::new(BasePath::STANDALONE).expect("the standalone base path is valid"),
            api_base: String::new(),
            locale: None,
            routing: Routing::AddressBar,
            connect_in: ConnectIn::Auto,
        }
    }

    /// Checks every option and names the one that is wrong, so a host developer sees the mistake at
    /// mount time, not as a broken page later.
    pub fn from_raw(raw: RawOptions) -> Result<Self, String> {
        let standalone = Self::standalone();
        let base_path = match raw.base_path.as_deref() {
            Some(value) => BasePath::new(value).map_err(|e| e.to_string())?,
            None => standalone.base_path,
        };
        let api_base = match raw.api_base.as_deref().map(str::trim) {
            None | Some("") => String::new(),
            Some(value) => api_base(value)?,
        };
        let locale = match raw.locale.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(value) if is_language_tag(value) => Some(value.to_owned()),
            Some(value) => return Err(format!("locale {value:?} is not a language tag such as \"de\" or \"nl-BE\"")),
        };
        let routing = match raw.routing.as_deref().map(str::trim) {
            None | Some("") | Some("address-bar") => Routing::AddressBar,
            Some("memory") => Routing::Memory,
            Some(value) => return Err(format!("routing {value:?} must be \"address-bar\" or \"memory\"")),
        };
        let connect_in = match raw.connect_in.as_deref().map(str::trim) {
            None | Some("") | Some("auto") => ConnectIn::Auto,
            Some("redirect") => ConnectIn::Redirect,
            Some("popup") => ConnectIn::Popup,
            Some(value) => return Err(format!("connectIn {value:?} must be \"auto\", \"redirect\" or \"popup\"")),
        };
        Ok(AppOptions { base_path, api_base, locale, routing, connect_in })
    }
}

/// An absolute http(s) URL without query or fragment, kept without a trailing slash so API paths
/// (`/api/…`) append cleanly.
fn api_base(value: &str) -> Result<String, String> {
    let url = parse_url(value).ok_or_else(|| format!("apiBase {value:?} must be an absolute URL such as \"https://connections.example.com\""))?;
    if !matches!(url.scheme.as_str(), "http" | "https") || !url.has_host {
        return Err(format!("apiBase {value:?} must be an http or https URL"));
    }
    // In a serialised URL, `?` and `#` only ever start the query and the fragment.
    if url.href.contains(['?', '#']) || url.has_credentials {
        return Err(format!("apiBase {value:?} must not carry a query, fragment or credentials"));
    }
    Ok(url.href.trim_end_matches('/').to_owned())
}

/// What the `apiBase` check needs from a WHATWG URL parser.
struct UrlParts {
    scheme: String,
    has_host: bool,
    has_credentials: bool,
    /// The serialised URL.
    href: String,
}

/// The browser's own `URL`: no URL parser in the wasm.
#[cfg(target_arch = "wasm32")]
fn parse_url(value: &str) -> Option<UrlParts> {
    let url = web_sys::Url::new(value).ok()?;
    Some(UrlParts {
        scheme: url.protocol().trim_end_matches(':').to_owned(),
        has_host: !url.hostname().is_empty(),
        has_credentials: !url.username().is_empty() || !url.password().is_empty(),
        href: url.href(),
    })
}

/// Natively (the unit tests), the `url` crate, which implements the same standard.
#[cfg(not(target_arch = "wasm32"))]
fn parse_url(value: &str) -> Option<UrlParts> {
    let url = url::Url::parse(value).ok()?;
    Some(UrlParts {
        scheme: url.scheme().to_owned(),
        has_host: url.host_str().is_some_and(|host| !host.is_empty()),
        has_credentials: !url.username().is_empty() || url.password().is_some(),
        href: url.as_str().to_owned(),
    })
}

/// BCP 47 in the shape hosts actually pass: `de`, `de-CH`, `zh-Hant-TW`.
fn is_language_tag(value: &str) -> bool {
    let mut parts = value.split(['-', '_']);
    let language_ok = parts.next().is_some_and(|l| (2..=3).contains(&l.len()) && l.chars().all(|c| c.is_ascii_alphabetic()));
    language_ok && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_options_means_the_standalone_app() {
        assert_eq!(AppOptions::from_raw(RawOptions::default()).unwrap(), AppOptions::standalone());
        assert_eq!(AppOptions::standalone().base_path.as_str(), "/connections");
    }

    #[test]
    fn every_option_is_read() {
        let options = AppOptions::from_raw(RawOptions {
            base_path: Some("/admin/connections/".into()),
            api_base: Some("https://connections.example.com/".into()),
            locale: Some("nl-BE".into()),
            routing: Some("memory".into()),
            connect_in: Some("popup".into()),
        })
        .unwrap();
        assert_eq!(options.base_path.as_str(), "/admin/connections");
        assert_eq!(options.api_base, "https://connections.example.com");
        assert_eq!(options.locale.as_deref(), Some("nl-BE"));
        assert_eq!(options.routing, Routing::Memory);
        assert_eq!(options.connect_in, ConnectIn::Popup);
    }

    #[test]
    fn an_api_base_may_have_a_path() {
        let options = AppOptions::from_raw(RawOptions { api_base: Some("https://bi.example.com/connections-api/".into()), ..Default::default() }).unwrap();
        assert_eq!(options.api_base, "https://bi.example.com/connections-api");
        let options = AppOptions::from_raw(RawOptions { api_base: Some("HTTPS://Connections.Example.COM:443/".into()), ..Default::default() }).unwrap();
        assert_eq!(options.api_base, "https://connections.example.com", "normalised as the URL standard says");
    }

    #[test]
    fn a_wrong_option_is_named() {
        let cases = [
            (RawOptions { base_path: Some("admin".into()), ..Default::default() }, "basePath"),
            (RawOptions { api_base: Some("/relative".into()), ..Default::default() }, "apiBase"),
            (RawOptions { api_base: Some("ftp://x.example".into()), ..Default::default() }, "apiBase"),
            (RawOptions { api_base: Some("https://x.example/?a=1".into()), ..Default::default() }, "apiBase"),
            (RawOptions { api_base: Some("https://user:pw@x.example".into()), ..Default::default() }, "apiBase"),
            (RawOptions { api_base: Some("https://x.example/?".into()), ..Default::default() }, "apiBase"),
            (RawOptions { api_base: Some("https://x.example/#".into()), ..Default::default() }, "apiBase"),
            (RawOptions { api_base: Some("javascript:alert(1)".into()), ..Default::default() }, "apiBase"),
            (RawOptions { locale: Some("<script>".into()), ..Default::default() }, "locale"),
            (RawOptions { locale: Some("english".into()), ..Default::default() }, "locale"),
            (RawOptions { routing: Some("hash".into()), ..Default::default() }, "routing"),
            (RawOptions { connect_in: Some("iframe".into()), ..Default::default() }, "connectIn"),
        ];
        for (raw, name) in cases {
            let error = AppOptions::from_raw(raw.clone()).unwrap_err();
            assert!(error.starts_with(name), "{raw:?}: {error}");
        }
    }

    #[test]
    fn language_tags() {
        for ok in ["de", "de-CH", "nl_BE", "zh-Hant-TW", "es-419"] {
            assert!(is_language_tag(ok), "{ok}");
        }
        for bad in ["", "d", "deutsch", "de-", "de-toolongsubtag", "1e"] {
            assert!(!is_language_tag(bad), "{bad}");
        }
    }
}
