//! The app's own small router. The app may own the address bar (standalone, or mounted by a host
//! under a base path such as `/admin/connections`) or keep its routes to itself (memory routing,
//! for hosts that own their URLs). Parsing and building paths is plain logic, tested natively; the
//! browser glue lives in `Navigator`.

use std::fmt;

/// Whether the app owns the address bar under its base path, or keeps its routes to itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Routing {
    AddressBar,
    Memory,
}

/// Every page, as a value. Paths are relative to the base path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// The Data Sources table: `/`.
    List,
    /// Add a Data Source: `/new`.
    Gallery,
    /// A provider's authorization page: `/new/{provider}`.
    Authorize {
        provider: String,
    },
    /// Where the provider sends the browser back: `/{provider}/callback`.
    Callback {
        provider: String,
    },
    /// The demo sign-in: `/sign-in`.
    SignIn,
    /// One connection: `/{id}`.
    Detail {
        id: String,
    },
    NotFound,
}

impl Route {
    /// Reads a path relative to the base (`""`, `/`, `/new`, …). Segments are percent-decoded.
    pub fn parse(relative: &str) -> Route {
        let path = relative.split(['?', '#']).next().unwrap_or_default();
        let segments: Vec<String> = path.split('/').filter(|s| !s.is_empty()).map(decode).collect();
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        match segments.as_slice() {
            [] => Route::List,
            ["new"] => Route::Gallery,
            ["sign-in"] => Route::SignIn,
            ["new", provider] => Route::Authorize { provider: provider.to_string() },
            [provider, "callback"] => Route::Callback { provider: provider.to_string() },
            [id] => Route::Detail { id: id.to_string() },
            _ => Route::NotFound,
        }
    }

    /// The path relative to the base; `List` is the base itself.
    pub fn relative_path(&self) -> String {
        match self {
            Route::List => String::new(),
            Route::Gallery => "/new".into(),
            Route::SignIn => "/sign-in".into(),
            Route::Authorize { provider } => format!("/new/{}", encode(provider)),
            Route::Callback { provider } => format!("/{}/callback", encode(provider)),
            Route::Detail { id } => format!("/{}", encode(id)),
            Route::NotFound => "/not-found".into(),
        }
    }
}

/// Where the app's routes live, e.g. `/connections` (standalone) or `/admin/connections`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BasePath(String);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BasePathError(pub String);

impl fmt::Display for BasePathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl BasePath {
    pub const STANDALONE: &'static str = "/connections";

    /// Accepts `/a/b` or `/a/b/`; the root is `""` (given as `/` or empty).
    pub fn new(value: &str) -> Result<Self, BasePathError> {
        let trimmed = value.trim();
        if trimmed.is_empty() || trimmed == "/" {
            return Ok(BasePath(String::new()));
        }
        if !trimmed.starts_with('/') {
            return Err(BasePathError(format!("basePath {value:?} must start with \"/\", e.g. \"/admin/connections\"")));
        }
        if trimmed.starts_with("//") || trimmed.contains(['?', '#', '\\']) || trimmed.split('/').any(|s| s == "." || s == "..") {
            return Err(BasePathError(format!("basePath {value:?} must be a plain path, e.g. \"/admin/connections\"")));
        }
        Ok(BasePath(trimmed.trim_end_matches('/').to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The full path of a route, e.g. `/admin/connections/new`. The base itself for the list (or `/`
    /// when the base is the root).
    pub fn href(&self, route: &Route) -> String {
        let path = format!("{}{}", self.0, route.relative_path());
        if path.is_empty() {
            "/".into()
        } else {
            path
        }
    }

    /// The route of a full path, or `None` when the path is outside the base (`/admin/connectionsX`
    /// is outside `/admin/connections`).
    pub fn route_of(&self, full_path: &str) -> Option<Route> {
        let rest = full_path.strip_prefix(self.0.as_str())?;
        if !(rest.is_empty() || rest.starts_with(['/', '?', '#'])) {
            return None;
        }
        Some(Route::parse(rest))
    }
}

/// What a route's path segment keeps as written: RFC 3986's unreserved characters.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Percent-decoding; an invalid escape is kept as written.
fn decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

/// Encodes what can't stand in a path segment as written.
fn encode(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_route() {
        assert_eq!(Route::parse(""), Route::List);
        assert_eq!(Route::parse("/"), Route::List);
        assert_eq!(Route::parse("/new"), Route::Gallery);
        assert_eq!(Route::parse("/new/"), Route::Gallery);
        assert_eq!(Route::parse("/sign-in"), Route::SignIn);
        assert_eq!(Route::parse("/new/stripe"), Route::Authorize { provider: "stripe".into() });
        assert_eq!(Route::parse("/stripe/callback?code=ac_1&state=s"), Route::Callback { provider: "stripe".into() });
        assert_eq!(Route::parse("/conn_42"), Route::Detail { id: "conn_42".into() });
        assert_eq!(Route::parse("/a/b/c"), Route::NotFound);
    }

    #[test]
    fn building_and_parsing_agree() {
        let base = BasePath::new("/admin/connections").unwrap();
        for route in [
            Route::List,
            Route::Gallery,
            Route::SignIn,
            Route::Authorize { provider: "stripe".into() },
            Route::Callback { provider: "stripe".into() },
            Route::Detail { id: "conn 1/2?".into() },
        ] {
            let href = base.href(&route);
            assert!(href.starts_with("/admin/connections"), "{href}");
            assert_eq!(base.route_of(&href), Some(route), "{href}");
        }
        assert_eq!(base.href(&Route::List), "/admin/connections");
        assert_eq!(base.href(&Route::Detail { id: "conn 1/2?".into() }), "/admin/connections/conn%201%2F2%3F");
    }

    #[test]
    fn paths_outside_the_base_are_not_the_apps() {
        let base = BasePath::new("/admin/connections/").unwrap();
        assert_eq!(base.as_str(), "/admin/connections");
        assert_eq!(base.route_of("/admin/connections"), Some(Route::List));
        assert_eq!(base.route_of("/admin/connections?x=1"), Some(Route::List));
        assert_eq!(base.route_of("/admin/connectionsX"), None);
        assert_eq!(base.route_of("/admin/billing"), None);
        assert_eq!(base.route_of("/"), None);
    }

    #[test]
    fn the_root_can_be_the_base() {
        let root = BasePath::new("/").unwrap();
        assert_eq!(root.href(&Route::List), "/");
        assert_eq!(root.href(&Route::Gallery), "/new");
        assert_eq!(root.route_of("/new/stripe"), Some(Route::Authorize { provider: "stripe".into() }));
    }

    #[test]
    fn bad_base_paths_are_refused_with_the_reason() {
        for bad in ["admin", "//evil.example", "/a/../b", "/a?x", "/a#b", "/a\\b"] {
            let error = BasePath::new(bad).unwrap_err();
            assert!(error.0.contains("basePath"), "{bad}: {error}");
        }
    }

    #[test]
    fn bad_escapes_are_kept_as_written() {
        assert_eq!(Route::parse("/100%"), Route::Detail { id: "100%".into() });
        assert_eq!(Route::parse("/a%zzb"), Route::Detail { id: "a%zzb".into() });
        assert_eq!(Route::parse("/a%41"), Route::Detail { id: "aA".into() });
    }
}
