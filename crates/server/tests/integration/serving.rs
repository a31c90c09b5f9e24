//! How the built SPA and the list are served: precompressed assets by `Accept-Encoding`, hashed names
//! cached for good, the shell and `/embed.js` revalidated with an `ETag`, the list polled with `304`s;
//! and the size guard (scripts/size-report.sh) failing a bundle over its budget.

use std::path::Path;

use crate::support::{self, admin, spawn_app, TestApp};

const WASM: &str = "connections-482669c32e078b9_bg.wasm";
const JS: &str = "connections-482669c32e078b9.js";
const CSS: &str = "main-50d3dbb0c9148d47.css";
/// A language's texts, which the SPA fetches when that language is chosen (build.rs names it).
const TEXTS: &str = "texts-de-c37da1438ef8100c.json";

/// What Trunk writes, in miniature: the shell naming hashed assets, and each asset with the `.br`
/// and `.gz` siblings scripts/compress-dist.sh adds (fake contents: only the choice is checked).
fn write_dist(dir: &Path) {
    let index = format!(
        "<!DOCTYPE html><html><head><script type=\"module\">\nimport init, * as bindings from '/{JS}';\n\
         const wasm = await init({{ module_or_path: '/{WASM}' }});\n</script>\n\
         <link rel=\"stylesheet\" href=\"/{CSS}\" integrity=\"sha384-x\"/></head><body></body></html>"
    );
    std::fs::write(dir.join("index.html"), index).unwrap();
    for name in [WASM, JS, CSS, TEXTS] {
        std::fs::write(dir.join(name), format!("identity {name}")).unwrap();
        std::fs::write(dir.join(format!("{name}.br")), format!("brotli {name}")).unwrap();
        std::fs::write(dir.join(format!("{name}.gz")), format!("gzip {name}")).unwrap();
    }
}

/// The test server restarted over a static dir holding [`write_dist`]'s files (the embed loader and
/// the CSP are made from the shell at startup).
async fn app_with_dist() -> TestApp {
    let app = spawn_app().await;
    write_dist(app.db_path.parent().unwrap());
    app.restart(|_| {}).await
}

async fn fetch(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = app.get(path, None);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response.headers().get(name).map(|v| v.to_str().unwrap().to_owned())
}

#[tokio::test]
async fn assets_are_sent_precompressed_by_accept_encoding() {
    let app = app_with_dist().await;
    let path = format!("/{WASM}");

    let br = fetch(&app, &path, &[("accept-encoding", "gzip, deflate, br")]).await;
    assert_eq!(br.status(), 200);
    assert_eq!(header(&br, "content-encoding").as_deref(), Some("br"));
    assert_eq!(header(&br, "content-type").as_deref(), Some("application/wasm"));
    assert!(header(&br, "vary").is_some_and(|v| v.to_ascii_lowercase().contains("accept-encoding")), "{:?}", br.headers());
    assert_eq!(br.text().await.unwrap(), format!("brotli {WASM}"));

    let gzip = fetch(&app, &path, &[("accept-encoding", "gzip")]).await;
    assert_eq!(header(&gzip, "content-encoding").as_deref(), Some("gzip"));
    assert_eq!(gzip.text().await.unwrap(), format!("gzip {WASM}"));

    let identity = fetch(&app, &path, &[]).await;
    assert_eq!(header(&identity, "content-encoding"), None);
    assert_eq!(identity.text().await.unwrap(), format!("identity {WASM}"));

    for name in [JS, CSS, TEXTS] {
        let response = fetch(&app, &format!("/{name}"), &[("accept-encoding", "br")]).await;
        assert_eq!(header(&response, "content-encoding").as_deref(), Some("br"), "{name}");
        assert!(header(&response, "vary").is_some_and(|v| v.to_ascii_lowercase().contains("accept-encoding")), "{name}: {:?}", response.headers());
        assert_eq!(header(&response, "cache-control").as_deref(), Some("public, max-age=31536000, immutable"), "{name}");
    }
}

/// The Data Sources page's shell tells the browser to fetch the list, the session and the providers
/// while the wasm loads (the app's own requests then take those answers); no other page's does,
/// revalidated or not.
#[tokio::test]
async fn the_table_page_preloads_its_answers_and_no_other_page_does() {
    let app = app_with_dist().await;
    let preload = "</api/connections>; rel=preload; as=fetch; crossorigin=anonymous, </api/session>; rel=preload; as=fetch; \
                   crossorigin=anonymous, </api/providers>; rel=preload; as=fetch; crossorigin=anonymous";
    let shell = fetch(&app, "/connections", &[]).await;
    assert_eq!(header(&shell, "link").as_deref(), Some(preload));
    let etag = header(&shell, "etag").expect("the shell has an ETag");
    let again = fetch(&app, "/connections", &[("if-none-match", &etag)]).await;
    assert_eq!(again.status(), 304);
    assert_eq!(header(&again, "link").as_deref(), Some(preload), "a revisit preloads too");
    for path in ["/index.html", "/connections/new", "/connections/stripe/callback"] {
        assert_eq!(header(&fetch(&app, path, &[]).await, "link"), None, "{path}");
    }
}

#[tokio::test]
async fn hashed_assets_are_immutable_and_the_shell_is_revalidated() {
    let app = app_with_dist().await;
    for name in [WASM, JS, CSS] {
        let response = fetch(&app, &format!("/{name}"), &[("accept-encoding", "br")]).await;
        assert_eq!(header(&response, "cache-control").as_deref(), Some("public, max-age=31536000, immutable"), "{name}");
    }

    // index.html and every app route answer the shell: no-cache, with an ETag that a revisit sends back.
    for path in ["/index.html", "/connections", "/connections/stripe/callback"] {
        let shell = fetch(&app, path, &[]).await;
        assert_eq!(shell.status(), 200, "{path}");
        assert_eq!(header(&shell, "cache-control").as_deref(), Some("no-cache"), "{path}");
        assert!(header(&shell, "content-security-policy").is_some(), "{path}: the CSP stays");
        let etag = header(&shell, "etag").unwrap_or_else(|| panic!("{path}: no ETag"));
        assert!(shell.text().await.unwrap().contains(WASM));

        let again = fetch(&app, path, &[("if-none-match", &etag)]).await;
        assert_eq!(again.status(), 304, "{path}");
        assert_eq!(header(&again, "etag").as_deref(), Some(etag.as_str()));
        assert!(again.bytes().await.unwrap().is_empty());

        let stale = fetch(&app, path, &[("if-none-match", "\"an-older-build\"")]).await;
        assert_eq!(stale.status(), 200, "{path}");
    }

    let loader = fetch(&app, "/embed.js", &[]).await;
    assert_eq!(loader.status(), 200);
    assert_eq!(header(&loader, "cache-control").as_deref(), Some("no-cache"));
    let etag = header(&loader, "etag").expect("embed.js has an ETag");
    assert!(loader.text().await.unwrap().contains(WASM));
    let again = fetch(&app, "/embed.js", &[("if-none-match", &etag)]).await;
    assert_eq!(again.status(), 304);

    // Files without a hash in their name are not cached for good.
    let favicon_dir = app.db_path.parent().unwrap().join("public");
    std::fs::create_dir_all(&favicon_dir).unwrap();
    std::fs::write(favicon_dir.join("favicon.svg"), "<svg/>").unwrap();
    let favicon = fetch(&app, "/public/favicon.svg", &[]).await;
    assert_eq!(favicon.status(), 200);
    assert!(!header(&favicon, "cache-control").unwrap_or_default().contains("immutable"));

    // wasm-bindgen's snippets keep their folder's name (a hash of the crate, not of the content)
    // from build to build: each visit asks again, and an unchanged one is a 304.
    let snippets = app.db_path.parent().unwrap().join("snippets/connections-7f21231bdaa84aba");
    std::fs::create_dir_all(&snippets).unwrap();
    std::fs::write(snippets.join("inline0.js"), "export function f() {}").unwrap();
    let snippet = fetch(&app, "/snippets/connections-7f21231bdaa84aba/inline0.js", &[]).await;
    assert_eq!(snippet.status(), 200);
    assert_eq!(header(&snippet, "cache-control").as_deref(), Some("no-cache"));
    let modified = header(&snippet, "last-modified").expect("a validator");
    let again = fetch(&app, "/snippets/connections-7f21231bdaa84aba/inline0.js", &[("if-modified-since", &modified)]).await;
    assert_eq!(again.status(), 304);
}

#[tokio::test]
async fn polling_the_list_costs_a_304_until_it_changes() {
    let app = spawn_app().await;
    let token = admin();
    let first = app.get("/api/connections", Some(&token)).send().await.unwrap();
    assert_eq!(first.status(), 200);
    let etag = header(&first, "etag").expect("the list has an ETag");
    assert!(etag.starts_with("W/\""), "{etag}");

    let unchanged = app.get("/api/connections", Some(&token)).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(unchanged.status(), 304);
    assert_eq!(header(&unchanged, "etag").as_deref(), Some(etag.as_str()));
    assert!(unchanged.bytes().await.unwrap().is_empty());

    // Another workspace at the same revision has another list, so another tag.
    let elsewhere =
        app.get("/api/connections", Some(&crate::support::token_in("globex", "admin", "admin-2"))).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(elsewhere.status(), 200);
    assert_ne!(header(&elsewhere, "etag").as_deref(), Some(etag.as_str()));

    app.connect(&token, provider_standin::DEMO_EMAIL).await;
    let changed = app.get("/api/connections", Some(&token)).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(changed.status(), 200);
    let new_etag = header(&changed, "etag").unwrap();
    assert_ne!(new_etag, etag);
    let body: serde_json::Value = changed.json().await.unwrap();
    assert_eq!(body["connections"].as_array().unwrap().len(), 1);

    // Unauthenticated polling learns nothing, tag or not.
    let anonymous = app.get("/api/connections", None).header("if-none-match", &new_etag).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
}

/// Runs scripts/size-report.sh on a dist of `wasm_bytes` incompressible bytes.
fn size_report(wasm_bytes: usize) -> std::process::Output {
    let dist = tempfile::tempdir().unwrap();
    let mut bytes = vec![0u8; wasm_bytes];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut bytes);
    std::fs::write(dist.path().join("app_bg.wasm"), bytes).unwrap();
    std::fs::write(dist.path().join("app.js"), "export default 1;").unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/size-report.sh");
    std::process::Command::new("bash").arg(script).arg(dist.path()).output().expect("bash runs scripts/size-report.sh (needs gzip and brotli)")
}

#[test]
fn the_size_guard_fails_a_bundle_over_its_brotli_budget() {
    let over = size_report(300_000);
    assert!(!over.status.success(), "300 KB of random bytes passed the guard: {}", String::from_utf8_lossy(&over.stdout));
    assert!(String::from_utf8_lossy(&over.stderr).contains("over the budget"), "{}", String::from_utf8_lossy(&over.stderr));
    let within = size_report(100_000);
    assert!(within.status.success(), "{}{}", String::from_utf8_lossy(&within.stdout), String::from_utf8_lossy(&within.stderr));
}

#[tokio::test]
async fn a_large_api_answer_is_compressed_and_a_small_one_is_not() {
    let app = support::spawn_app_with(&["--rate-limit-per-minute=1000"]).await;
    for i in 0..20 {
        app.standin.add_account(provider_standin::Account {
            id: format!("acct_1Compress{i:06}"),
            email: format!("c{i}@compress.test"),
            password: provider_standin::DEMO_PASSWORD.into(),
            business_name: format!("Compressible Account {i}"),
            livemode: false,
        });
        app.connect(&support::admin(), &format!("c{i}@compress.test")).await;
    }
    let list = app.get("/api/connections", Some(&support::admin())).header("accept-encoding", "br, gzip").send().await.unwrap();
    assert_eq!(list.status(), 200);
    assert_eq!(list.headers()["content-encoding"], "br");
    let session = app.get("/api/session", Some(&support::admin())).header("accept-encoding", "br, gzip").send().await.unwrap();
    assert!(session.headers().get("content-encoding").is_none(), "a small answer is sent as is");
}
