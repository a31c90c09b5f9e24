//! What wraps every response: security headers, the cross-site guard for state-changing API calls,
//! request logging without query strings, and serving the built SPA.

use std::path::Path;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::error::ApiError;

/// Hashes of the inline scripts in the SPA's `index.html` (Trunk writes one to start the wasm), so the
/// CSP can allow exactly those and nothing else inline.
pub(crate) fn inline_script_hashes(html: &str) -> Vec<String> {
    let mut hashes = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        rest = &rest[start..];
        let Some(tag_end) = rest.find('>') else { break };
        let tag = &rest[..tag_end];
        let body_and_more = &rest[tag_end + 1..];
        let Some(close) = body_and_more.find("</script>") else { break };
        let body = &body_and_more[..close];
        if attribute(&tag["<script".len()..], "src").is_none() && !body.trim().is_empty() {
            hashes.push(format!("'sha256-{}'", STANDARD.encode(Sha256::digest(body.as_bytes()))));
        }
        rest = &body_and_more[close..];
    }
    hashes
}

pub(crate) fn content_security_policy(static_dir: Option<&Path>, frame_ancestors: &str) -> std::io::Result<String> {
    let hashes = match static_dir {
        Some(dir) => inline_script_hashes(&std::fs::read_to_string(dir.join("index.html"))?),
        None => Vec::new(),
    };
    Ok(format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{}; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors {frame_ancestors}",
        hashes.iter().map(|h| format!(" {h}")).collect::<String>()
    ))
}

// A constant: a name given as a string would be parsed again for every answer.
const CROSS_ORIGIN_OPENER_POLICY: header::HeaderName = header::HeaderName::from_static("cross-origin-opener-policy");

pub(crate) async fn security_headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/api");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, state.csp.clone());
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // The callback URL carries the authorization code: never leak it in a Referer.
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(CROSS_ORIGIN_OPENER_POLICY, HeaderValue::from_static("same-origin"));
    if state.public_url.scheme() == "https" {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    if is_api {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    } else if response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/html")) {
        // The shell names hashed assets; always revalidate it so a deploy is picked up.
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    response
}

/// State-changing API calls must come from this app's own pages: a cross-site page can neither send
/// `Content-Type: application/json` without a CORS preflight (which we never grant) nor fake
/// `Origin`/`Sec-Fetch-Site`.
pub(crate) async fn refuse_cross_site(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(request).await;
    }
    let headers = request.headers();
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    let origin = headers.get(header::ORIGIN).map(|v| v.as_bytes());
    // A host page named in CONNECTIONS_EMBED_URLS calls from its own origin; CORS let it.
    let from_host_page = origin.is_some_and(|o| state.embed_origins.iter().any(|allowed| allowed.as_bytes() == o));
    if matches!(fetch_site, Some("cross-site" | "same-site")) && !from_host_page {
        return ApiError::CrossSite.into_response();
    }
    if let Some(origin) = origin {
        if origin != state.public_origin.as_bytes() && !from_host_page {
            return ApiError::CrossSite.into_response();
        }
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json")));
    if !is_json && request.method() != Method::DELETE {
        return ApiError::InvalidRequest("Content-Type must be application/json".into()).into_response();
    }
    next.run(request).await
}

/// CORS for the host pages' origins only: they load the app's module, wasm and styles from here and
/// call the API, with the session cookie (same-site hosts) or a bearer token.
pub(crate) fn cors(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
    use tower_http::cors::{AllowOrigin, CorsLayer};
    if origins.is_empty() {
        return None;
    }
    let origins: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_credentials(true)
            .allow_methods([Method::GET, Method::POST, Method::DELETE])
            // `If-None-Match`: the list is polled with the last `ETag` it answered (exposed to the page).
            .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION, header::ACCEPT, header::IF_NONE_MATCH])
            .expose_headers([header::ETAG])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

/// Finds what Trunk named the app's script, wasm and styles in `index.html` (the names carry content
/// hashes that change every build). Trunk's release build minifies `index.html` (`minify =
/// "on_release"` in `Trunk.toml`): attributes lose their quotes and change order, and the start
/// script may lose its spaces, so both forms are read.
fn built_asset_names(html: &str) -> Option<(String, String, Option<String>)> {
    let script = quoted_after(html, "* as bindings from")?;
    let wasm = quoted_after(html, "module_or_path:")?;
    let styles = html
        .split("<link")
        .skip(1)
        .filter_map(|rest| rest.split('>').next())
        .filter(|tag| attribute(tag, "rel").is_some_and(|rel| rel.split_ascii_whitespace().any(|r| r.eq_ignore_ascii_case("stylesheet"))))
        .filter_map(|tag| attribute(tag, "href"))
        .find(|href| href.starts_with("/main-"));
    Some((script, wasm, styles.map(str::to_owned)))
}

/// The string literal (in `'` or `"`) after `marker` and any spaces.
fn quoted_after(html: &str, marker: &str) -> Option<String> {
    let rest = html[html.find(marker)? + marker.len()..].trim_start();
    let quote = rest.chars().next().filter(|c| matches!(c, '\'' | '"'))?;
    let rest = &rest[1..];
    Some(rest[..rest.find(quote)?].to_owned())
}

/// An attribute's value in a tag's text (after its name, before its `>`): quoted with `"` or `'`,
/// or unquoted as an HTML minifier writes it.
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let mut rest = tag;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '/');
        if rest.is_empty() {
            return None;
        }
        let name_end = rest.find(|c: char| c.is_ascii_whitespace() || c == '=' || c == '/').unwrap_or(rest.len());
        let (attr, after) = rest.split_at(name_end);
        let after = after.trim_start();
        let (value, next) = match after.strip_prefix('=') {
            Some(value) => {
                let value = value.trim_start();
                match value.chars().next() {
                    Some(quote @ ('"' | '\'')) => {
                        let end = value[1..].find(quote)? + 1;
                        (&value[1..end], &value[end + 1..])
                    }
                    _ => {
                        let end = value.find(|c: char| c.is_ascii_whitespace()).unwrap_or(value.len());
                        (&value[..end], &value[end..])
                    }
                }
            }
            None => ("", after),
        };
        if attr.eq_ignore_ascii_case(name) {
            return Some(value);
        }
        rest = next;
    }
}

/// `/embed.js`: what a host page imports. Adds the app's (scoped) stylesheet once, starts the wasm,
/// and exports `mount`; loading it also defines `<connections-panel>`.
pub(crate) fn embed_loader(html: &str) -> Option<String> {
    let (script, wasm, styles) = built_asset_names(html)?;
    let styles = styles
        .map(|href| {
            format!(
                "if (!document.querySelector(\"link[data-connections-styles]\")) {{\n  const link = document.createElement(\"link\");\n  \
                 link.rel = \"stylesheet\";\n  link.href = new URL({href:?}, import.meta.url).href;\n  link.dataset.connectionsStyles = \"\";\n  \
                 document.head.append(link);\n}}\n"
            )
        })
        .unwrap_or_default();
    Some(format!(
        "// Connections for host pages: `import {{ mount }} from \"<this URL>\"`, or use <connections-panel>.\n\
         {styles}const glue = await import(new URL({script:?}, import.meta.url).href);\n\
         await glue.default({{ module_or_path: new URL({wasm:?}, import.meta.url) }});\n\
         export const mount = glue.mount;\n"
    ))
}

pub(crate) async fn serve_embed_loader(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match &state.embed_loader {
        Some(js) => {
            let etag = content_etag(js.as_bytes());
            if if_none_match(&headers, &etag) {
                return not_modified(etag);
            }
            ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], [(header::ETAG, etag)], js.clone())
                .into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A strong `ETag` of a body: its SHA-256, shortened (collisions would need a deliberate attacker
/// who controls the build).
pub(crate) fn content_etag(body: &[u8]) -> HeaderValue {
    let digest = Sha256::digest(body);
    let hex = hex::encode(&digest[..12]);
    HeaderValue::from_str(&format!("\"{hex}\"")).expect("hex is a valid header value")
}

/// Whether the request's `If-None-Match` names `etag` (or `*`). Weak comparison, as RFC 9110 asks
/// for `If-None-Match`.
pub(crate) fn if_none_match(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    names(headers.get_all(header::IF_NONE_MATCH).iter(), etag)
}

fn names<'a>(values: impl Iterator<Item = &'a HeaderValue>, etag: &HeaderValue) -> bool {
    fn opaque(tag: &str) -> &str {
        tag.trim().trim_start_matches("W/")
    }
    let Ok(etag) = etag.to_str() else { return false };
    let etag = opaque(etag);
    values.filter_map(|value| value.to_str().ok()).flat_map(|value| value.split(',')).any(|tag| tag.trim() == "*" || opaque(tag) == etag)
}

/// A request's `If-None-Match` lines alone, for a handler that needs no other header (extracting the
/// `HeaderMap` would copy all of them).
pub(crate) struct IfNoneMatch(Vec<HeaderValue>);

impl IfNoneMatch {
    /// Whether they name `etag`, as [`if_none_match`].
    pub(crate) fn names(&self, etag: &HeaderValue) -> bool {
        names(self.0.iter(), etag)
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for IfNoneMatch {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(IfNoneMatch(parts.headers.get_all(header::IF_NONE_MATCH).iter().cloned().collect()))
    }
}

/// `304 Not Modified` with the validator (and nothing else of the body's headers).
pub(crate) fn not_modified(etag: HeaderValue) -> Response {
    (StatusCode::NOT_MODIFIED, [(header::ETAG, etag), (header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))]).into_response()
}

/// Whether a path names a file whose name carries Trunk's content hash (`main-50d3dbb0c9148d47.css`,
/// `connections-482669c32e078b9_bg.wasm`): a new build gives new names, so these never change and can
/// be cached for good. Not wasm-bindgen's snippets (`snippets/connections-7f21231bdaa84aba/inline0.js`):
/// that hash names the crate, not the content, and stays the same when a snippet changes, so they are
/// revalidated like the shell.
pub(crate) fn is_hashed_asset(path: &str) -> bool {
    !path.starts_with("/snippets/")
        && path.split('/').any(|segment| {
            let Some((_, tail)) = segment.rsplit_once('-') else { return false };
            let hex = tail.bytes().take_while(u8::is_ascii_hexdigit).count();
            hex >= 12 && matches!(tail.as_bytes().get(hex), None | Some(b'.' | b'_'))
        })
}

/// On the Data Sources page, the browser asks for what the table waits for (the list, the session,
/// the providers) while it still loads the wasm, and the app's own requests (same URL, mode and
/// credentials: `crossorigin=anonymous` is fetch's `same-origin`) take those answers. Not an
/// administrator's session: the answers are the 401 or 403 the app's own requests would get. The
/// list first: it is the largest. (Measured: README, Benchmarks.)
const TABLE_PRELOADS: &str = "</api/connections>; rel=preload; as=fetch; crossorigin=anonymous, \
                              </api/session>; rel=preload; as=fetch; crossorigin=anonymous, \
                              </api/providers>; rel=preload; as=fetch; crossorigin=anonymous";

/// The shell's largest plausible size; it is read whole to hash it.
const MAX_SHELL_BYTES: usize = 1024 * 1024;

/// Around the static files (`ServeDir` with its `.br`/`.gz` siblings): hashed assets are cached for a
/// year as immutable; the SPA shell (`index.html`, and every app route that answers with it) is
/// `no-cache` with an `ETag`, so a second visit revalidates it with one `304` and nothing else.
pub(crate) async fn static_caching(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let conditional = request.headers().clone();
    // A HEAD's body is empty, so its hash would not be the shell's: it gets no ETag.
    let is_get = request.method() == Method::GET;
    let mut response = next.run(request).await;
    let status = response.status();
    let is_html = response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if is_html && is_get && status == StatusCode::OK {
        let (mut parts, body) = response.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, MAX_SHELL_BYTES).await else {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        };
        let etag = content_etag(&bytes);
        let preloads = (path == "/connections").then(|| HeaderValue::from_static(TABLE_PRELOADS));
        if if_none_match(&conditional, &etag) {
            let mut answer = not_modified(etag);
            if let Some(link) = preloads {
                answer.headers_mut().insert(header::LINK, link);
            }
            return answer;
        }
        if let Some(link) = preloads {
            parts.headers.insert(header::LINK, link);
        }
        parts.headers.insert(header::ETAG, etag);
        parts.headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        // ServeDir's validator is the file's modification time; the ETag is the one to use.
        parts.headers.remove(header::LAST_MODIFIED);
        return Response::from_parts(parts, axum::body::Body::from(bytes));
    }
    let headers = response.headers_mut();
    if matches!(status, StatusCode::OK | StatusCode::PARTIAL_CONTENT | StatusCode::NOT_MODIFIED) && is_hashed_asset(&path) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    } else if path.starts_with("/snippets/") && status.is_success() {
        // Same name whatever the content: asked again each visit (a `304` by its Last-Modified).
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    // The same URL answers br, gzip or identity by `Accept-Encoding`: caches must keep them apart.
    if [".wasm", ".js", ".css", ".svg", ".json"].iter().any(|ext| path.ends_with(ext)) {
        headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_inline_scripts_only() {
        let html = r#"<head><script src="/a.js"></script><script type="module">import init from '/x.js';</script></head>"#;
        let hashes = inline_script_hashes(html);
        assert_eq!(hashes.len(), 1);
        let expected = STANDARD.encode(Sha256::digest(b"import init from '/x.js';"));
        assert_eq!(hashes[0], format!("'sha256-{expected}'"));
    }

    const TRUNK_INDEX: &str = r#"<script type="module">
import init, * as bindings from '/connections-faa09f.js';
const wasm = await init({ module_or_path: '/connections-faa09f_bg.wasm' });
</script>
<link rel="stylesheet" href="/main-1e3c6a.css" integrity="sha384-x"/>
<link rel="stylesheet" href="/standalone-4adf38.css" integrity="sha384-y"/>"#;

    #[test]
    fn the_embed_loader_names_the_built_assets_and_only_the_scoped_styles() {
        let js = embed_loader(TRUNK_INDEX).unwrap();
        assert!(js.contains(r#"new URL("/connections-faa09f.js", import.meta.url)"#), "{js}");
        assert!(js.contains(r#"new URL("/connections-faa09f_bg.wasm", import.meta.url)"#), "{js}");
        assert!(js.contains(r#"new URL("/main-1e3c6a.css", import.meta.url)"#), "{js}");
        assert!(!js.contains("standalone"), "the standalone page's body styles must not reach a host page");
        assert!(js.contains("export const mount = glue.mount;"));
        assert_eq!(embed_loader("<html></html>"), None);
    }

    /// What Trunk's `minify = "on_release"` makes of `index.html` (Trunk 0.21.14).
    const MINIFIED_INDEX: &str = "<!doctype html><html lang=en><meta charset=utf-8><title>Connections</title><script type=module>\
import init, * as bindings from '/connections-7a051d.js';\nconst wasm = await init({ module_or_path: '/connections-7a051d_bg.wasm' });\n\
dispatchEvent(new CustomEvent(\"TrunkApplicationStarted\", {detail: {wasm}}));</script>\
<link href=/main-8b3a70.css integrity=sha384-kYJ rel=stylesheet><link href=/standalone-fa4584.css integrity=sha384-MNw rel=stylesheet>\
<link href=/public/favicon.svg rel=icon type=image/svg+xml><link crossorigin href=/connections-7a051d.js integrity=sha384-14C rel=modulepreload>";

    #[test]
    fn the_embed_loader_reads_the_minified_shell_too() {
        let js = embed_loader(MINIFIED_INDEX).unwrap();
        assert!(js.contains(r#"new URL("/connections-7a051d.js", import.meta.url)"#), "{js}");
        assert!(js.contains(r#"new URL("/connections-7a051d_bg.wasm", import.meta.url)"#), "{js}");
        assert!(js.contains(r#"new URL("/main-8b3a70.css", import.meta.url)"#), "{js}");
        assert!(!js.contains("standalone"));
        // Without spaces, in double quotes, and a stylesheet named after other attributes.
        let tight = r#"<script type=module>import init,* as bindings from"/c-1.js";const wasm=await init({module_or_path:"/c-1_bg.wasm"})</script><link integrity="x" href='/main-2.css' rel="preload stylesheet">"#;
        assert_eq!(built_asset_names(tight), Some(("/c-1.js".into(), "/c-1_bg.wasm".into(), Some("/main-2.css".into()))));
        // The icon and the module preload are not stylesheets.
        assert_eq!(built_asset_names(&MINIFIED_INDEX.replace("rel=stylesheet", "rel=icon")).unwrap().2, None);
    }

    #[test]
    fn the_csp_hashes_the_minified_start_script_as_written() {
        let hashes = inline_script_hashes(MINIFIED_INDEX);
        let start = MINIFIED_INDEX.find("<script type=module>").unwrap() + "<script type=module>".len();
        let body = &MINIFIED_INDEX[start..MINIFIED_INDEX.find("</script>").unwrap()];
        assert_eq!(hashes, vec![format!("'sha256-{}'", STANDARD.encode(Sha256::digest(body.as_bytes())))]);
    }

    #[test]
    fn hashed_assets_are_told_apart_from_app_routes_and_public_files() {
        for hashed in
            ["/main-50d3dbb0c9148d47.css", "/connections-482669c32e078b9_bg.wasm", "/connections-482669c32e078b9.js", "/texts-de-c37da1438ef8100c.json"]
        {
            assert!(is_hashed_asset(hashed), "{hashed}");
        }
        for plain in [
            "/index.html",
            "/public/favicon.svg",
            "/connections/stripe/callback",
            "/embed.js",
            "/connections",
            "/a-1234.js",
            "/snippets/connections-7f21231bdaa84aba/inline0.js",
        ] {
            assert!(!is_hashed_asset(plain), "{plain}");
        }
    }

    #[test]
    fn if_none_match_compares_weakly_and_accepts_lists() {
        let etag = content_etag(b"shell");
        let mut headers = HeaderMap::new();
        assert!(!if_none_match(&headers, &etag));
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_str(&format!("\"other\", W/{}", etag.to_str().unwrap())).unwrap());
        assert!(if_none_match(&headers, &etag));
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"other\""));
        assert!(!if_none_match(&headers, &etag));
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(if_none_match(&headers, &etag));
    }
}
