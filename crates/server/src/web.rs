//! What wraps every response: security headers, the cross-site guard for state-changing API calls,
//! request logging without query strings, and serving the built SPA.

use std::path::Path;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::AppState;

/// Hashes of the inline scripts in the SPA's `index.html` (Trunk writes one to start the wasm), so the
/// CSP can allow exactly those and nothing else inline.
pub fn inline_script_hashes(html: &str) -> Vec<String> {
    let mut hashes = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        rest = &rest[start..];
        let Some(tag_end) = rest.find('>') else { break };
        let tag = &rest[..tag_end];
        let body_and_more = &rest[tag_end + 1..];
        let Some(close) = body_and_more.find("</script>") else { break };
        let body = &body_and_more[..close];
        if !tag.contains(" src=") && !body.trim().is_empty() {
            hashes.push(format!("'sha256-{}'", STANDARD.encode(Sha256::digest(body.as_bytes()))));
        }
        rest = &body_and_more[close..];
    }
    hashes
}

pub fn content_security_policy(static_dir: Option<&Path>, frame_ancestors: &str) -> std::io::Result<String> {
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

pub async fn security_headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/api");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(&state.csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // The callback URL carries the authorization code: never leak it in a Referer.
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
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
pub async fn refuse_cross_site(State(state): State<AppState>, request: Request, next: Next) -> Response {
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
pub fn cors(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
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
            .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION, header::ACCEPT])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

/// Finds what Trunk named the app's script, wasm and styles in `index.html` (the names carry content
/// hashes that change every build).
fn built_asset_names(html: &str) -> Option<(String, String, Option<String>)> {
    let quoted_after = |marker: &str| -> Option<String> {
        let start = html.find(marker)? + marker.len();
        let end = html[start..].find('\'')?;
        Some(html[start..start + end].to_owned())
    };
    let script = quoted_after("* as bindings from '")?;
    let wasm = quoted_after("module_or_path: '")?;
    let styles = html.split("<link rel=\"stylesheet\" href=\"").skip(1).filter_map(|rest| rest.split('"').next()).find(|href| href.starts_with("/main-"));
    Some((script, wasm, styles.map(str::to_owned)))
}

/// `/embed.js`: what a host page imports. Adds the app's (scoped) stylesheet once, starts the wasm,
/// and exports `mount`; loading it also defines `<connections-panel>`.
pub fn embed_loader(html: &str) -> Option<String> {
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

pub async fn serve_embed_loader(State(state): State<AppState>) -> Response {
    match &state.embed_loader {
        Some(js) => ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], js.clone()).into_response(),
        None => axum::http::StatusCode::NOT_FOUND.into_response(),
    }
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
}
