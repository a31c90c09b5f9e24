//! End to end in headless Chromium: the built SPA (`dist/`), the real server in demo mode with a fresh
//! SQLite database, and the Stripe stand-in. Needs `trunk build --release` first and ChromeDriver
//! (`CHROMEDRIVER`, default /usr/bin/chromedriver) with Chromium (`CHROME`, default /usr/bin/chromium).

#![cfg(not(target_arch = "wasm32"))]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use connections_testkit::{Chrome, Running};
use fantoccini::{Client, Locator};
use provider_standin::Standin;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(20);
/// What the server and the example portal sign sessions with in these tests.
const SESSION_SECRET: &str = "e2e-session-secret-that-is-long-enough";

struct Harness {
    url: String,
    /// The demo's example admin portal, embedding the app from another origin.
    portal: String,
    standin: Standin,
    state: connections_server::AppState,
    browser: Client,
    _chrome: Chrome,
    _data: tempfile::TempDir,
}

fn dist_dir() -> PathBuf {
    let dist = std::env::var_os("CONNECTIONS_STATIC_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("dist"));
    assert!(dist.join("index.html").is_file(), "{} has no built SPA: run `trunk build --release --offline` first (scripts/test.sh does)", dist.display());
    dist
}

/// The shell's `integrity` attributes name the built files as they are: the post-build hooks change
/// some after Trunk hashed them (scripts/minify-glue.mjs minifies the glue), and a browser ignores a
/// preload whose digest is wrong (the module then loads a second time, unchecked), which no page would show.
#[test]
fn the_shells_integrity_attributes_match_the_built_files() {
    use base64::Engine as _;
    use sha2::Digest as _;
    let dist = dist_dir();
    let shell = std::fs::read_to_string(dist.join("index.html")).unwrap();
    let attribute = |tag: &str, name: &str| -> Option<String> {
        let at = tag.find(&format!(" {name}="))? + name.len() + 2;
        let rest = &tag[at..];
        let value = match rest.chars().next()? {
            quote @ ('"' | '\'') => rest[1..].split(quote).next()?,
            _ => rest.split([' ', '>']).next()?,
        };
        Some(value.to_owned())
    };
    let mut checked = Vec::new();
    for tag in shell.split("<link").skip(1).filter_map(|rest| rest.split('>').next()) {
        let (Some(href), Some(integrity)) = (attribute(tag, "href"), attribute(tag, "integrity")) else { continue };
        let body = std::fs::read(dist.join(href.trim_start_matches('/'))).unwrap_or_else(|e| panic!("{href}: {e}"));
        let digest = format!("sha384-{}", base64::engine::general_purpose::STANDARD.encode(sha2::Sha384::digest(&body)));
        assert_eq!(integrity, digest, "{href}");
        checked.push(href);
    }
    assert!(checked.iter().any(|href| href.ends_with(".js") && !href.contains("snippets")), "the glue's preload has an integrity: {checked:?}");
}

async fn start() -> Harness {
    start_with_language(None).await
}

/// With `language` (e.g. `de-DE`), Chromium asks for it first: its UI language and its
/// Accept-Language, which is what `navigator.languages` reports.
async fn start_with_language(language: Option<&str>) -> Harness {
    // The scenarios written for Stripe Connect stay on it; the Stripe Apps and configured-source
    // scenarios start their own.
    start_with(language, &["--stripe-oauth=connect"]).await
}

async fn start_with(language: Option<&str>, extra: &[&str]) -> Harness {
    start_in(tempfile::tempdir().unwrap(), language, extra).await
}

/// The demo configured by a providers file with this text, kept in the run's own folder (removed
/// with it).
async fn start_with_providers(providers: &str) -> Harness {
    let data = tempfile::tempdir().unwrap();
    let file = data.path().join("providers.toml");
    std::fs::write(&file, providers).unwrap();
    let providers = format!("--providers={}", file.display());
    start_in(data, None, &[&providers]).await
}

async fn start_in(data: tempfile::TempDir, language: Option<&str>, extra: &[&str]) -> Harness {
    let database_url = format!("sqlite://{}?mode=rwc", data.path().join("e2e.db").display());
    let extra: Vec<String> = extra.iter().map(|arg| arg.to_string()).collect();
    let args = connections_testkit::demo_args(&database_url, &dist_dir(), SESSION_SECRET, [9u8; 32], &extra);
    let Running { public_url: url, state, standin, portal_url, .. } = connections_testkit::spawn(args, None).await;
    let portal = portal_url.expect("the demo serves examples/portal");
    let chrome = Chrome::start(language).await;
    Harness { url, portal, standin, state, browser: chrome.client.clone(), _chrome: chrome, _data: data }
}

impl Harness {
    async fn open(&self, path: &str) {
        self.browser.goto(&format!("{}{path}", self.url)).await.unwrap();
    }

    /// Waits until an element matching `css` contains `text`; returns its full text.
    async fn wait_for_text(&self, css: &str, text: &str) -> String {
        let started = Instant::now();
        loop {
            if let Ok(elements) = self.browser.find_all(Locator::Css(css)).await {
                for element in elements {
                    if let Ok(found) = element.text().await {
                        if found.contains(text) {
                            return found;
                        }
                    }
                }
            }
            if started.elapsed() > WAIT {
                let body = self.browser.find(Locator::Css("body")).await.unwrap().text().await.unwrap_or_default();
                panic!("no {css} containing {text:?} after {WAIT:?}; page says:\n{body}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn click(&self, xpath: &str) {
        let element = self.browser.wait().at_most(WAIT).for_element(Locator::XPath(xpath)).await.unwrap_or_else(|e| panic!("{xpath}: {e}"));
        element.click().await.unwrap();
    }

    async fn sign_in_as(&self, who: &str) {
        self.open("/connections/sign-in").await;
        self.click(&format!("//button[contains(., '{who}')]")).await;
    }

    /// From the Data Sources table to the stand-in's sign-in page.
    async fn go_to_stripe(&self) {
        self.wait_for_text("h1", "Data Sources").await;
        self.click("//a[normalize-space()='Add a Data Source']").await;
        self.wait_for_text(".cx-gallery", "Stripe").await;
        self.snapshot("2-gallery").await;
        self.click("//a[contains(@class,'cx-gallery-item')][contains(., 'Stripe')]").await;
        let page = self.wait_for_text("main", "Data that will sync").await;
        self.snapshot("3-authorize").await;
        for kind in ["Customers", "Charges", "Coupons", "Invoices", "Plans", "Subscriptions", "Events", "Read-only access"] {
            assert!(page.contains(kind), "authorization page lacks {kind}: {page}");
        }
        self.click("//button[normalize-space()='Connect with Stripe']").await;
        self.wait_for_text("h1", "Sign in to connect").await;
    }

    /// Every visible button's text colour differs from its background (a label once vanished
    /// blue-on-blue when a link rule out-ranked the button's).
    async fn assert_buttons_are_legible(&self) {
        let clashes = self
            .browser
            .execute(
                "return [...document.querySelectorAll('.cx-button')].filter(b => { const s = getComputedStyle(b); \
                 return s.color === s.backgroundColor; }).map(b => b.textContent)",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(clashes, json!([]), "buttons whose text is the colour of their background");
    }

    /// axe-core's WCAG 2.2 A/AA violations on the page as it is now: rule id, impact and where.
    async fn accessibility_violations(&self) -> Vec<String> {
        let axe = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/npm/node_modules/axe-core/axe.min.js");
        let source = std::fs::read_to_string(&axe).unwrap_or_else(|e| panic!("{}: {e} (scripts/setup.sh installs axe-core)", axe.display()));
        self.browser.execute(&format!("{source}; return true;"), vec![]).await.unwrap();
        let result = self
            .browser
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } })
                   .then((r) => done(r.violations.map((v) => v.id + ' (' + v.impact + '): ' + v.nodes.map((n) => n.target.join(' ')).join(', '))));",
                vec![],
            )
            .await
            .unwrap();
        serde_json::from_value(result).unwrap()
    }

    async fn assert_accessible(&self, state: &str) {
        let violations = self.accessibility_violations().await;
        assert!(violations.is_empty(), "axe-core on {state}:\n{}", violations.join("\n"));
    }

    /// Presses Tab until the focused element's text or label contains `text` (at most 40 times);
    /// answers how many presses it took.
    async fn tab_to(&self, text: &str) -> usize {
        for presses in 0..40 {
            let focused = self.browser.active_element().await.unwrap();
            let tag = focused.tag_name().await.unwrap();
            let label = focused.attr("aria-label").await.unwrap().unwrap_or_default();
            let is_control = tag != "body" && tag != "html" && tag != "main";
            if is_control && (focused.text().await.unwrap_or_default().contains(text) || label.contains(text)) {
                return presses;
            }
            focused.send_keys("\u{E004}").await.unwrap(); // Tab
        }
        panic!("Tab never reached {text:?}");
    }

    async fn press_enter(&self) {
        self.browser.active_element().await.unwrap().send_keys("\u{E007}").await.unwrap();
    }

    /// With `E2E_SCREENSHOTS=dir`, saves what the user sees, for review.
    async fn snapshot(&self, name: &str) {
        if let Some(dir) = std::env::var_os("E2E_SCREENSHOTS") {
            std::fs::create_dir_all(&dir).unwrap();
            let png = self.browser.screenshot().await.unwrap();
            std::fs::write(PathBuf::from(dir).join(format!("{name}.png")), png).unwrap();
        }
    }

    /// At the stand-in's page: sign in as the account with `email` and allow.
    async fn allow_at_stripe(&self, email: &str) {
        let field = self.browser.wait().at_most(WAIT).for_element(Locator::Id("email")).await.expect("the stand-in's sign-in page");
        field.send_keys(email).await.unwrap();
        self.browser.find(Locator::Id("password")).await.unwrap().send_keys(provider_standin::DEMO_PASSWORD).await.unwrap();
        self.click("//button[@id='allow']").await;
    }

    /// From the Data Sources table through Stripe and back, as the account with `email`.
    async fn connect_in_browser(&self, email: &str) {
        self.go_to_stripe().await;
        self.allow_at_stripe(email).await;
        self.wait_for_text(".cx-flash-region", "Connection successful!").await;
    }

    /// What the page does when the window regains focus.
    async fn regain_focus(&self) {
        self.browser.execute("window.dispatchEvent(new Event('focus'))", vec![]).await.unwrap();
    }

    async fn row_text(&self, account: &str) -> String {
        self.wait_for_text("tbody tr", account).await
    }

    /// Connects the Stripe account of `email` to `workspace` over HTTP, the way the SPA does, before
    /// the browser opens anything: a user who comes later finds it there.
    async fn connect_over_http(&self, workspace: &str, email: &str) {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let token = connections_testkit::session_token(SESSION_SECRET, "seed", "Sam Seed", "admin", workspace, 600);
        let (attempt, answer) = connections_testkit::start_attempt(&http, &self.url, "stripe", &token).await;
        let authorize = url::Url::parse(answer["authorize_url"].as_str().unwrap()).unwrap();
        let back = connections_testkit::allow_at(&http, &authorize, email).await;
        let code = connections_testkit::flow::query_of(&back)["code"].clone();
        let grant = http.post(format!("{}/api/providers/stripe/grants", self.url)).bearer_auth(&token).json(&attempt.grant(&code)).send().await.unwrap();
        assert!(grant.status().is_success(), "{}", grant.text().await.unwrap());
    }

    /// The page's text, for what must not be on it.
    async fn page_text(&self) -> String {
        self.browser.find(Locator::Css("body")).await.unwrap().text().await.unwrap_or_default()
    }

    /// The Data Sources list is a table as a screen reader meets it (role `table`, a `row` per
    /// connection besides the header's), laid out as one (not cards), with every row's buttons
    /// inside the visible width.
    async fn assert_a_table_of(&self, place: &str, accounts: &[&str]) {
        let table = self.browser.find(Locator::Css("table.cx-table")).await.unwrap();
        assert_eq!(computed_role(&self.browser, &table).await, "table", "{place}: the list's role");
        let rows = self.browser.find_all(Locator::Css("table.cx-table tbody tr")).await.unwrap();
        assert_eq!(rows.len(), accounts.len(), "{place}: one row per connection");
        for (row, account) in rows.iter().zip(accounts) {
            assert_eq!(computed_role(&self.browser, row).await, "row", "{place}: {account}'s row");
            assert!(row.text().await.unwrap().contains(account), "{place}: {account}");
        }
        let layout = self
            .browser
            .execute(
                "const viewport = document.documentElement.clientWidth;
                 const outside = [...document.querySelectorAll('tbody tr button')].filter((b) => {
                   const r = b.getBoundingClientRect(); return r.width === 0 || r.left < 0 || r.right > viewport; }).map((b) => b.getAttribute('aria-label'));
                 return { headers: getComputedStyle(document.querySelector('table.cx-table thead')).display,
                          row: getComputedStyle(document.querySelector('table.cx-table tbody tr')).display, outside };",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(layout["headers"], "table-header-group", "{place}: the column headers show: {layout}");
        assert_eq!(layout["row"], "table-row", "{place}: rows, not cards: {layout}");
        assert_eq!(layout["outside"], json!([]), "{place}: buttons outside the visible width");
    }

    async fn current_url(&self) -> url::Url {
        self.browser.current_url().await.unwrap()
    }

    async fn pending_attempt_in_session_storage(&self) -> serde_json::Value {
        self.browser.execute("return sessionStorage.getItem('connections.pending_attempt')", vec![]).await.unwrap()
    }

    /// Resizes the window (in headless Chromium, the viewport) and waits for the layout to follow.
    async fn set_width(&self, width: u32) {
        self.browser.set_window_size(width, 900).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// WebDriver's Get Computed Role: an element's role as the browser's accessibility tree has it.
#[derive(Debug)]
struct ComputedRole(String);

impl fantoccini::wd::WebDriverCompatibleCommand for ComputedRole {
    fn endpoint(&self, base_url: &url::Url, session_id: Option<&str>) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!("session/{}/element/{}/computedrole", session_id.unwrap_or_default(), self.0))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::GET, None)
    }
}

async fn computed_role(browser: &Client, element: &fantoccini::elements::Element) -> String {
    let role = browser.issue_cmd(ComputedRole(element.element_id().to_string())).await.unwrap();
    role.as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn an_admin_connects_stripe_end_to_end_and_the_row_survives_a_reload() {
    let h = start().await;
    h.open("/connections").await;
    h.wait_for_text("main", "You are signed out").await;
    h.sign_in_as("Ada Admin").await;
    h.wait_for_text(".cx-empty", "No data sources are connected yet").await;
    h.snapshot("1-empty").await;
    h.assert_buttons_are_legible().await;

    h.go_to_stripe().await;
    h.snapshot("4-standin").await;
    let at_stripe = h.current_url().await;
    let params: std::collections::HashMap<_, _> = at_stripe.query_pairs().into_owned().collect();
    assert_eq!(params["response_type"], "code");
    assert_eq!(params["code_challenge_method"], "S256");
    assert_eq!(params["code_challenge"].len(), 43);
    assert!(params["state"].len() >= 22);
    assert_eq!(params["redirect_uri"], format!("{}/connections/stripe/callback", h.url));
    assert!(h.pending_attempt_in_session_storage().await.is_null(), "sessionStorage is per origin: the stand-in can't see it");

    h.allow_at_stripe(provider_standin::DEMO_EMAIL).await;

    h.wait_for_text(".cx-flash-region", "Connection successful!").await;
    let row = h.wait_for_text("tr.cx-row-new", "Acme Books Ltd").await;
    h.snapshot("5-connected").await;
    assert!(row.contains("Test") && row.contains("Connected"), "{row}");
    let back = h.current_url().await;
    assert_eq!((back.path(), back.query()), ("/connections", None), "the code is gone from the address bar");
    assert!(h.pending_attempt_in_session_storage().await.is_null(), "the attempt is used up");
    assert_eq!(h.standin.token_requests(), 1);

    h.browser.refresh().await.unwrap();
    h.wait_for_text("table", "Acme Books Ltd").await;
    let flash = h.browser.find(Locator::Css(".cx-flash-region")).await.unwrap().text().await.unwrap();
    assert!(flash.is_empty(), "the success message does not come back on reload: {flash:?}");
    assert_eq!(h.state.db.list_connections("acme").await.unwrap().len(), 1);
    // The account id and who connected it are on the connection's page.
    h.click("//a[normalize-space()='Acme Books Ltd']").await;
    let facts = h.wait_for_text(".cx-facts", "acct_1DemoAcmeBooks00").await;
    assert!(facts.contains("Ada Admin"), "{facts}");
    h.browser.clone().close().await.unwrap();
}

#[tokio::test]
async fn a_viewer_is_told_connections_requires_administrator_permissions() {
    let h = start().await;
    h.sign_in_as("Victor Viewer").await;
    h.wait_for_text("main", "Connections requires administrator permissions").await;
    h.snapshot("7-viewer").await;
    h.open("/connections/new/stripe").await;
    h.wait_for_text("main", "Connections requires administrator permissions").await;
    assert!(h.browser.find(Locator::XPath("//button[normalize-space()='Connect with Stripe']")).await.is_err());
    h.browser.clone().close().await.unwrap();
}

#[tokio::test]
async fn denying_at_stripe_says_so_and_stores_nothing() {
    let h = start().await;
    h.sign_in_as("Ada Admin").await;
    h.go_to_stripe().await;
    h.click("//button[@id='deny']").await;
    let message = h.wait_for_text("[role=alert]", "You cancelled at Stripe").await;
    h.snapshot("6-denied").await;
    assert!(message.contains("nothing was connected"), "{message}");
    assert_eq!(h.current_url().await.query(), None);
    assert_eq!(h.standin.token_requests(), 0);
    assert!(h.state.db.list_connections("acme").await.unwrap().is_empty());
    h.click("//a[normalize-space()='Back to Connections']").await;
    h.wait_for_text(".cx-empty", "No data sources are connected yet").await;
    h.browser.clone().close().await.unwrap();
}

#[tokio::test]
async fn a_callback_this_tab_did_not_start_is_refused() {
    let h = start().await;
    h.sign_in_as("Ada Admin").await;
    h.wait_for_text("h1", "Data Sources").await;
    h.open("/connections/stripe/callback?code=ac_injected&state=forged-state-value-xxxxxxxx").await;
    h.wait_for_text("[role=alert]", "This tab did not start a Stripe connection").await;
    assert_eq!(h.current_url().await.query(), None, "the injected code is scrubbed from the address bar");
    assert_eq!(h.standin.token_requests(), 0);
    assert!(h.state.db.list_connections("acme").await.unwrap().is_empty());
    h.browser.clone().close().await.unwrap();
}

#[tokio::test]
async fn markup_from_stripe_is_shown_as_text_never_run() {
    let h = start().await;
    h.standin.add_account(provider_standin::Account {
        id: "acct_1Hostile0000000".into(),
        email: "mallory@evil.test".into(),
        password: provider_standin::DEMO_PASSWORD.into(),
        business_name: "<img src=x id=injected-name onerror=\"document.title='pwned'\"> Evil Ltd".into(),
        livemode: false,
    });
    h.sign_in_as("Ada Admin").await;
    h.go_to_stripe().await;
    h.allow_at_stripe("mallory@evil.test").await;
    let row = h.wait_for_text("tr.cx-row-new", "Evil Ltd").await;
    assert!(row.contains("<img src=x id=injected-name"), "the name is shown literally: {row}");
    assert!(h.browser.find(Locator::Id("injected-name")).await.is_err(), "no element was created from the name");

    let description = "<script>document.title='pwned'</script><b id=injected-bold>bold</b>";
    let query: String =
        url::form_urlencoded::Serializer::new(String::new()).append_pair("error", "invalid_scope").append_pair("error_description", description).finish();
    h.open(&format!("/connections/stripe/callback?{query}")).await;
    let alert = h.wait_for_text("[role=alert]", "invalid_scope").await;
    assert!(alert.contains(description), "{alert}");
    assert!(h.browser.find(Locator::Id("injected-bold")).await.is_err());
    assert_ne!(h.browser.title().await.unwrap(), "pwned");
    h.browser.clone().close().await.unwrap();
}

#[tokio::test]
async fn neither_the_built_app_nor_its_pages_hold_a_token_or_the_platform_secret() {
    let h = start().await;
    h.sign_in_as("Ada Admin").await;
    h.go_to_stripe().await;
    h.allow_at_stripe(provider_standin::DEMO_EMAIL).await;
    h.wait_for_text("tr.cx-row-new", "Acme Books Ltd").await;

    let stored = h.state.db.connection_by_account("acme", "stripe", "acct_1DemoAcmeBooks00").await.unwrap().and_then(|r| r.access_token).unwrap();
    let access_token = h.state.cipher.decrypt(&stored, "stripe:acct_1DemoAcmeBooks00:access").unwrap().expose().clone();
    let page = h.browser.source().await.unwrap();
    let storage: serde_json::Value =
        h.browser.execute("return JSON.stringify({...sessionStorage}) + JSON.stringify({...localStorage}) + document.cookie", vec![]).await.unwrap();
    let mut built = Vec::new();
    for entry in std::fs::read_dir(dist_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            built.extend(std::fs::read(path).unwrap());
        }
    }
    for secret in [access_token.as_str(), connections_server::demo::DEMO_SECRET_KEY, "sk_test_", "sk_live_"] {
        assert!(!page.contains(secret), "{secret} in the page");
        assert!(!storage.to_string().contains(secret), "{secret} in browser storage or a readable cookie");
        assert!(!built.windows(secret.len()).any(|w| w == secret.as_bytes()), "{secret} in dist/");
    }
    assert!(!storage.to_string().contains("connections_session"), "the session cookie is HttpOnly");
    h.browser.clone().close().await.unwrap();
}

const ACME: &str = "acct_1DemoAcmeBooks00";

#[tokio::test]
async fn revoked_at_stripe_then_reauthenticated_in_place() {
    let h = start().await;
    h.sign_in_as("Ada Admin").await;
    h.connect_in_browser(provider_standin::DEMO_EMAIL).await;
    // A mark on the row's element itself (not in the markup), to see whether the reload replaces it.
    h.browser.execute("document.querySelector('tbody tr').cxSeen = true; return true;", vec![]).await.unwrap();
    assert_eq!(h.standin.owner_disconnects_app(ACME).await, Some(200), "the signed webhook was accepted");
    h.regain_focus().await;
    h.wait_for_text("tbody tr", "Revoked").await;
    let kept = h.browser.execute("return document.querySelector('tbody tr').cxSeen === true;", vec![]).await.unwrap();
    assert_eq!(kept, json!(true), "the reload updated the row's cells in place, in the same <tr>");
    h.snapshot("8-revoked").await;
    h.click("//button[@aria-label='Reauthenticate Acme Books Ltd']").await;
    h.wait_for_text("h1", "Connect Stripe").await;
    h.click("//button[normalize-space()='Connect with Stripe']").await;
    h.wait_for_text("h1", "Sign in to connect").await;
    h.allow_at_stripe(provider_standin::DEMO_EMAIL).await;
    h.wait_for_text(".cx-flash-region", "Connection successful!").await;
    let row = h.wait_for_text("tr.cx-row-new", "Acme Books Ltd").await;
    assert!(row.contains("Connected"), "{row}");
    assert_eq!(h.browser.find_all(Locator::Css("tbody tr")).await.unwrap().len(), 1, "the same row, no duplicate");
    h.browser.clone().close().await.unwrap();
}

/// Opening on the table, the rows (and the providers) are asked for beside the session check: the
/// list request leaves before the session's answer is in, so the rows wait for one round trip, not
/// two. (Sent one after the other, the list could only start once the session had answered.) All
/// three leave before the app starts (the shell's preloads, read by its script) and each is asked
/// for once: the app takes the shell's answers.
#[tokio::test]
async fn the_table_asks_for_its_rows_beside_the_session_check() {
    let h = start().await;
    h.sign_in_as("Ada Admin").await;
    h.connect_in_browser(provider_standin::DEMO_EMAIL).await;
    h.open("/connections").await;
    h.wait_for_text("tbody tr", "Acme Books Ltd").await;
    let script = "const entries = (path) => performance.getEntriesByType('resource').filter((e) => new URL(e.name).pathname === path);
                  const [session, list, providers] = ['/api/session', '/api/connections', '/api/providers'].map(entries);
                  const started = performance.getEntriesByName('cx-wasm-started')[0].startTime;
                  const untaken = Object.keys(window.__connectionsEarlyAnswers || { none: true }).length;
                  return [session[0].responseEnd, list[0].startTime, providers[0].startTime, list.length, session.length, providers.length,
                          Math.max(session[0].startTime, list[0].startTime, providers[0].startTime), started, untaken];";
    let times: Vec<f64> = serde_json::from_value(h.browser.execute(script, vec![]).await.unwrap()).unwrap();
    let (session_answered, list_sent, providers_sent) = (times[0], times[1], times[2]);
    // The shell's `Link` preloads start the three before the wasm runs; the app's requests take them.
    assert_eq!(times[3..6], [1.0, 1.0, 1.0], "the list, the session and the providers were each asked for once, the preloads' answers taken by the app");
    assert!(times[6] < times[7], "the three were asked for at {} ms at the latest, after the app started at {} ms", times[6], times[7]);
    // The shell read the three answers while the wasm loaded (index.html); the app took every one.
    assert_eq!(times[8], 0.0, "the shell's early answers were all taken by the app");
    assert!(list_sent < session_answered, "the list was asked for at {list_sent} ms, after the session's answer at {session_answered} ms");
    assert!(providers_sent < session_answered, "the providers were asked for at {providers_sent} ms, after the session's answer at {session_answered} ms");
    h.browser.clone().close().await.unwrap();
}

#[tokio::test]
async fn disconnect_asks_first_then_revokes_and_the_history_shows_it() {
    let h = start().await;
    h.sign_in_as("Ada Admin").await;
    h.connect_in_browser(provider_standin::DEMO_EMAIL).await;
    let disconnect = "//button[@aria-label='Disconnect Acme Books Ltd']";
    h.click(disconnect).await;
    let dialog = h.wait_for_text("dialog[open]", "stops syncing").await;
    assert!(dialog.contains("Disconnect Acme Books Ltd?"), "{dialog}");
    h.snapshot("9-dialog").await;
    // Escape closes it, changes nothing, and focus goes back to the button that opened it.
    h.browser.active_element().await.unwrap().send_keys("\u{E00C}").await.unwrap();
    h.browser.wait().at_most(WAIT).for_element(Locator::Css("dialog:not([open])")).await.unwrap();
    let focused = h.browser.active_element().await.unwrap().attr("aria-label").await.unwrap();
    assert_eq!(focused.as_deref(), Some("Disconnect Acme Books Ltd"));
    assert!(h.row_text("Acme Books Ltd").await.contains("Connected"));

    h.click(disconnect).await;
    h.click("//dialog[@open]//button[normalize-space()='Disconnect']").await;
    h.wait_for_text(".cx-flash-region", "Disconnected Acme Books Ltd.").await;
    let row = h.wait_for_text("tbody tr", "Reconnect").await;
    assert!(row.contains("Disconnected"), "{row}");
    assert_eq!(h.standin.active_tokens(), 0);

    h.click("//a[normalize-space()='Acme Books Ltd']").await;
    let history = h.wait_for_text(".cx-history", "Disconnect").await;
    assert!(history.contains("Connect") && history.contains("Ada Admin") && history.contains("Stripe access revoked"), "{history}");
    h.snapshot("10-history").await;
    h.browser.clone().close().await.unwrap();
}

#[tokio::test]
async fn the_table_searches_filters_and_sorts() {
    let h = start().await;
    // Wide enough for the table with its column headers (below 1,320 px of app width, rows are cards
    // with a sort control instead).
    h.set_width(1440).await;
    h.sign_in_as("Ada Admin").await;
    h.connect_in_browser(provider_standin::DEMO_EMAIL).await;
    h.connect_in_browser("finance@globex.test").await;
    h.standin.revoke_access("acct_1DemoGlobexCorp0");
    h.click("//button[@aria-label='Check Globex Corporation']").await;
    h.wait_for_text("tbody tr", "Reauthentication required").await;

    let names = || async {
        let mut names = Vec::new();
        for row in h.browser.find_all(Locator::Css("tbody tr th")).await.unwrap() {
            names.push(row.text().await.unwrap().replace("New", "").trim().to_owned());
        }
        names
    };
    h.click("//button[contains(@class,'cx-sort')][normalize-space()='Account']").await;
    assert_eq!(names().await, ["Acme Books Ltd", "Globex Corporation"]);
    h.click("//button[contains(@class,'cx-sort')][contains(., 'Account')][not(contains(., 'ID'))]").await;
    assert_eq!(names().await, ["Globex Corporation", "Acme Books Ltd"]);

    h.browser.find(Locator::Css("input[type=search]")).await.unwrap().send_keys("acme").await.unwrap();
    h.wait_for_text(".cx-count", "1 of 2 shown").await;
    assert_eq!(names().await, ["Acme Books Ltd"]);
    h.browser.find(Locator::Css("input[type=search]")).await.unwrap().clear().await.unwrap();
    h.browser
        .execute("const s = document.querySelector('.cx-filters select'); s.value = 'reauthentication_required'; s.dispatchEvent(new Event('change'));", vec![])
        .await
        .unwrap();
    h.wait_for_text(".cx-count", "1 of 2 shown").await;
    assert_eq!(names().await, ["Globex Corporation"]);
    h.snapshot("11-filtered").await;
    h.browser.clone().close().await.unwrap();
}

#[tokio::test]
async fn an_install_started_at_stripe_is_confirmed_before_it_is_linked() {
    let h = start().await;
    h.sign_in_as("Ada Admin").await;
    h.wait_for_text(".cx-empty", "No data sources").await;
    // The user begins at Stripe: no state, no PKCE from this app.
    let stripe = h.state.providers.get("stripe").unwrap();
    use connections_server::providers::{ConnectSpec, DialectSpec};
    // These scenarios run Stripe on Connect (`start`); an App's link is built the same way.
    let (DialectSpec::StripeApps(apps) | DialectSpec::StripeConnect(ConnectSpec { stripe: apps, .. })) = &stripe.spec().dialect else {
        panic!("Stripe speaks a Stripe dialect here")
    };
    let mut authorize = apps.authorize_url.clone();
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &apps.client_id)
        .append_pair("redirect_uri", &h.state.redirect_uri("stripe"));
    h.browser.goto(authorize.as_str()).await.unwrap();
    h.allow_at_stripe(provider_standin::DEMO_EMAIL).await;
    let page = h.wait_for_text("main", "This connection was started at Stripe").await;
    assert!(page.contains("Connect Acme Books Ltd?") && page.contains(ACME), "{page}");
    assert!(h.state.db.list_connections("acme").await.unwrap().is_empty(), "nothing linked before confirmation");
    h.snapshot("12-install").await;
    h.click("//button[normalize-space()='Connect this account']").await;
    h.wait_for_text(".cx-flash-region", "Connection successful!").await;
    h.wait_for_text("tr.cx-row-new", "Acme Books Ltd").await;
    h.browser.clone().close().await.unwrap();
}

#[tokio::test]
async fn every_page_state_has_no_accessibility_violations() {
    let h = start().await;
    h.sign_in_as("Ada Admin").await;
    h.wait_for_text(".cx-empty", "No data sources").await;
    h.assert_accessible("the empty table").await;
    h.click("//a[normalize-space()='Add a Data Source']").await;
    h.wait_for_text(".cx-gallery", "Stripe").await;
    h.assert_accessible("the gallery").await;
    h.click("//a[contains(@class,'cx-gallery-item')][contains(., 'Stripe')]").await;
    h.wait_for_text("main", "Data that will sync").await;
    h.assert_accessible("the authorization page").await;
    h.click("//button[normalize-space()='Connect with Stripe']").await;
    h.wait_for_text("h1", "Sign in to connect").await;
    h.click("//button[@id='deny']").await;
    h.wait_for_text("[role=alert]", "You cancelled at Stripe").await;
    h.assert_accessible("an error").await;
    h.open("/connections").await;
    h.connect_in_browser(provider_standin::DEMO_EMAIL).await;
    h.wait_for_text("tbody tr", "Acme Books Ltd").await;
    h.assert_accessible("the table with rows").await;
    h.click("//button[@aria-label='Disconnect Acme Books Ltd']").await;
    h.wait_for_text("dialog[open]", "stops syncing").await;
    h.assert_accessible("the disconnect dialog").await;
    h.browser.clone().close().await.unwrap();
}

#[tokio::test]
async fn the_whole_connect_flow_works_with_the_keyboard_alone() {
    let h = start().await;
    h.open("/connections/sign-in").await;
    h.wait_for_text("button", "Sign in as Ada Admin").await;
    h.tab_to("Sign in as Ada Admin").await;
    h.press_enter().await;
    h.wait_for_text(".cx-empty", "No data sources").await;
    h.tab_to("Add a Data Source").await;
    h.press_enter().await;
    h.wait_for_text(".cx-gallery", "Stripe").await;
    h.tab_to("Stripe").await;
    h.press_enter().await;
    h.wait_for_text("main", "Data that will sync").await;
    h.tab_to("Connect with Stripe").await;
    h.press_enter().await;
    h.wait_for_text("h1", "Sign in to connect").await;
    // At the stand-in: focus the email field by keyboard, type, Tab to the password, Enter submits.
    for _ in 0..10 {
        let focused = h.browser.active_element().await.unwrap();
        if focused.attr("id").await.unwrap().as_deref() == Some("email") {
            break;
        }
        focused.send_keys("\u{E004}").await.unwrap();
    }
    h.browser.active_element().await.unwrap().send_keys(provider_standin::DEMO_EMAIL).await.unwrap();
    h.browser.active_element().await.unwrap().send_keys("\u{E004}").await.unwrap();
    h.browser.active_element().await.unwrap().send_keys(provider_standin::DEMO_PASSWORD).await.unwrap();
    h.press_enter().await;
    h.wait_for_text(".cx-flash-region", "Connection successful!").await;
    h.wait_for_text("tr.cx-row-new", "Acme Books Ltd").await;
    h.browser.clone().close().await.unwrap();
}

/// The host page's own look: computed styles of its body, header, links, headings and buttons.
async fn host_styles(h: &Harness) -> serde_json::Value {
    h.browser
        .execute(
            "const pick = (el, props) => { const s = getComputedStyle(el); return props.map((p) => p + '=' + s.getPropertyValue(p)); };
             const props = ['font-family', 'font-size', 'color', 'background-color', 'margin-top', 'box-sizing', 'line-height'];
             return {
               body: pick(document.body, props),
               header: pick(document.querySelector('.portal-header'), props),
               link: pick(document.querySelector('.portal-side a, .portal-header a'), props),
               heading: pick(document.querySelector('.portal-side h2'), props),
               html: pick(document.documentElement, props),
             };",
            vec![],
        )
        .await
        .unwrap()
}

async fn host_events(h: &Harness) -> Vec<serde_json::Value> {
    let events = h.browser.execute("return window.hostEvents || []", vec![]).await.unwrap();
    serde_json::from_value(events).unwrap()
}

async fn wait_for_host_event(h: &Harness, kind: &str) -> serde_json::Value {
    let started = Instant::now();
    loop {
        if let Some(event) = host_events(h).await.into_iter().find(|e| e["type"] == kind) {
            return event;
        }
        assert!(started.elapsed() < WAIT, "the host never heard {kind}; it heard {:?}", host_events(h).await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn mounted_in_a_host_page_the_app_connects_tells_the_host_and_leaves_its_styles_alone() {
    let h = start().await;
    // The portal alone, then with the app mounted: its own styles must not change.
    h.browser.goto(&format!("{}/admin/connections?no-app", h.portal)).await.unwrap();
    h.wait_for_text(".portal-header", "Acme Admin").await;
    let before = host_styles(&h).await;

    h.browser.goto(&format!("{}/admin/connections", h.portal)).await.unwrap();
    h.wait_for_text(".cx-user", "Pat Portal").await; // the portal's session, given as a bearer token
    h.snapshot("embed-1-mounted").await;
    h.go_to_stripe().await;
    h.allow_at_stripe(provider_standin::DEMO_EMAIL).await;
    h.wait_for_text(".cx-flash-region", "Connection successful!").await;
    h.snapshot("embed-2-connected").await;

    let url = h.current_url().await;
    assert_eq!(url.origin().ascii_serialization(), h.portal, "Stripe sent the user back to the host page");
    assert_eq!((url.path(), url.query()), ("/admin/connections", None), "the app owns the address bar under its base path");
    let connected = wait_for_host_event(&h, "connections:connected").await;
    assert_eq!(connected["detail"]["connection"]["account_name"], "Acme Books Ltd");
    assert_eq!(connected["detail"]["connection"]["connected_by"], "Pat Portal");
    let detail = connected["detail"].to_string();
    assert!(!detail.to_lowercase().contains("token") && !detail.contains("sk_"), "no token in the event: {detail}");
    assert_eq!(host_styles(&h).await, before, "the host page's styles changed");
    h.assert_buttons_are_legible().await;
    h.assert_accessible("the app inside the host page").await;

    // Disconnecting tells the host too; the host's own links are left to the browser.
    h.click("//tr[contains(., 'Acme Books Ltd')]//button[normalize-space()='Disconnect']").await;
    h.click("//dialog//button[contains(., 'Disconnect')]").await;
    let disconnected = wait_for_host_event(&h, "connections:disconnected").await;
    assert_eq!(disconnected["detail"]["connection"]["status"], "disconnected");
    h.click("//header[@class='portal-header']//a[normalize-space()='Custom element']").await;
    h.wait_for_text("connections-panel", "Data Sources").await;
    assert_eq!(h.current_url().await.path(), "/element", "a host link outside the base path is a normal navigation");
}

#[tokio::test]
async fn as_a_custom_element_with_memory_routing_the_app_keeps_the_address_bar_alone() {
    let h = start().await;
    h.browser.goto(&format!("{}/element", h.portal)).await.unwrap();
    h.wait_for_text("connections-panel h1", "Data Sources").await;
    h.click("//a[normalize-space()='Add a Data Source']").await;
    h.wait_for_text(".cx-gallery", "Stripe").await;
    assert_eq!(h.current_url().await.path(), "/element", "memory routing leaves the address bar alone");
    h.click("//a[contains(@class,'cx-gallery-item')][contains(., 'Stripe')]").await;
    h.wait_for_text("main", "Data that will sync").await;
    h.click("//button[normalize-space()='Connect with Stripe']").await;
    h.allow_at_stripe(provider_standin::DEMO_EMAIL).await;
    h.wait_for_text(".cx-flash-region", "Connection successful!").await;
    let url = h.current_url().await;
    assert_eq!((url.path(), url.query()), ("/element", None), "back at the host page's address, without the code");
    let connected = wait_for_host_event(&h, "connections:connected").await;
    assert_eq!(connected["detail"]["connection"]["provider"], "stripe");

    // Stripe withdraws access; restoring it is announced as such.
    assert_eq!(h.standin.owner_disconnects_app(ACME).await, Some(200));
    h.regain_focus().await;
    h.wait_for_text("tbody tr", "Revoked").await;
    h.click("//button[@aria-label='Reauthenticate Acme Books Ltd']").await;
    h.click("//button[normalize-space()='Connect with Stripe']").await;
    h.allow_at_stripe(provider_standin::DEMO_EMAIL).await;
    h.wait_for_text(".cx-flash-region", "Connection successful!").await;
    let restored = wait_for_host_event(&h, "connections:reauthenticated").await;
    assert_eq!(restored["detail"]["connection"]["status"], "connected");
    assert!(host_events(&h).await.iter().all(|e| e["type"] != "connections:connected"), "a restore is not announced as a new connection");

    // A wrong option is named at once, on the element, for the host developer.
    h.browser
        .execute(
            "window.mountErrors = []; document.addEventListener('connections:error', (e) => window.mountErrors.push(e.detail));
             const bad = document.createElement('connections-panel'); bad.setAttribute('routing', 'hash');
             try { document.body.append(bad); } catch (e) {}",
            vec![],
        )
        .await
        .unwrap();
    let errors = h.browser.execute("return window.mountErrors", vec![]).await.unwrap();
    assert!(errors.to_string().contains("routing"), "{errors}");
}

#[tokio::test]
async fn inside_an_iframe_stripe_opens_in_a_popup_and_the_answer_comes_back_over_a_broadcast_channel() {
    let h = start().await;
    h.browser.goto(&format!("{}/framed", h.portal)).await.unwrap();
    let frame = h.browser.wait().at_most(WAIT).for_element(Locator::Css("iframe.portal-frame")).await.unwrap();
    frame.enter_frame().await.unwrap();
    h.click("//a[normalize-space()='Demo sign-in']").await;
    h.click("//button[contains(., 'Ada Admin')]").await;
    h.wait_for_text("h1", "Data Sources").await;
    h.click("//a[normalize-space()='Add a Data Source']").await;
    h.click("//a[contains(@class,'cx-gallery-item')][contains(., 'Stripe')]").await;
    h.wait_for_text("main", "Data that will sync").await;

    // A browser that blocks the popup gets an explanation, not silence.
    h.browser.execute("window.realOpen = window.open; window.open = () => null;", vec![]).await.unwrap();
    h.click("//button[normalize-space()='Connect with Stripe']").await;
    h.wait_for_text("[role=alert]", "Allow pop-ups for this site").await;
    h.browser.execute("window.open = window.realOpen;", vec![]).await.unwrap();

    let app_window = h.browser.window().await.unwrap();
    h.click("//button[normalize-space()='Connect with Stripe']").await;
    h.wait_for_text("[role=status]", "Waiting for you to finish in the Stripe window").await;
    h.snapshot("framed-1-waiting").await;
    let started = Instant::now();
    let popup = loop {
        let windows = h.browser.windows().await.unwrap();
        if let Some(popup) = windows.into_iter().find(|w| *w != app_window) {
            break popup;
        }
        assert!(started.elapsed() < WAIT, "no popup opened");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    h.browser.switch_to_window(popup).await.unwrap();
    h.wait_for_text("h1", "Sign in to connect").await;
    h.allow_at_stripe(provider_standin::DEMO_EMAIL).await;
    // The popup hands the answer over and closes itself.
    let started = Instant::now();
    while h.browser.windows().await.unwrap().len() > 1 {
        assert!(started.elapsed() < WAIT, "the popup did not close");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    h.browser.switch_to_window(app_window).await.unwrap();
    let frame = h.browser.find(Locator::Css("iframe.portal-frame")).await.unwrap();
    frame.enter_frame().await.unwrap();
    h.wait_for_text(".cx-flash-region", "Connection successful!").await;
    h.row_text("Acme Books Ltd").await;
    h.snapshot("framed-2-connected").await;
}

#[tokio::test]
async fn the_host_pages_locale_option_wins_over_the_browsers_languages() {
    let h = start().await; // Chromium asks for English
    h.browser.goto(&format!("{}/admin/connections?locale=nl", h.portal)).await.unwrap();
    h.wait_for_text("connections-panel h1, #connections h1", "Gegevensbronnen").await;
    let lang = h.browser.execute("return document.querySelector('.cx-app').lang", vec![]).await.unwrap();
    assert_eq!(lang, "nl");
    h.assert_accessible("the app in Dutch inside the host page").await;
}

#[tokio::test]
async fn a_browser_that_asks_for_german_gets_the_app_in_german() {
    let h = start_with_language(Some("de-DE")).await;
    // Wide enough for the table with its column headers, which this test reads.
    h.set_width(1440).await;
    h.open("/connections").await;
    let languages = h.browser.execute("return navigator.languages", vec![]).await.unwrap();
    assert_eq!(languages[0], "de-DE", "Chromium asks for German: {languages}");
    h.wait_for_text("main", "Sie sind abgemeldet").await;
    let lang = h.browser.execute("return [document.querySelector('.cx-app').lang, document.documentElement.lang]", vec![]).await.unwrap();
    assert_eq!(lang, json!(["de", "en"]), "the app says it speaks German; the page's own <html lang> is left alone");
    // German is not in the first load: its texts alone were fetched, as JSON beside the bundles.
    let texts = h
        .browser
        .execute("return performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname).filter((p) => p.includes('/texts-'))", vec![])
        .await
        .unwrap();
    let texts = texts.as_array().unwrap();
    assert!(texts.len() == 1 && texts[0].as_str().unwrap().starts_with("/texts-de-"), "the texts fetched: {texts:?}");

    h.sign_in_as("Ada Admin").await;
    h.wait_for_text("h1", "Datenquellen").await;
    h.wait_for_text(".cx-empty", "Es sind noch keine Datenquellen verbunden.").await;
    h.click("//a[normalize-space()='Datenquelle hinzufügen']").await;
    h.wait_for_text(".cx-gallery", "Stripe").await;
    h.click("//a[contains(@class,'cx-gallery-item')][contains(., 'Stripe')]").await;
    let page = h.wait_for_text("main", "Daten, die synchronisiert werden").await;
    for text in ["Stripe verbinden", "Angeforderter Zugriff", "Nur Lesezugriff", "Kunden", "Rechnungen", "Abonnements", "Abbrechen"] {
        assert!(page.contains(text), "authorization page lacks {text}: {page}");
    }
    h.click("//button[normalize-space()='Mit Stripe verbinden']").await;
    h.wait_for_text("h1", "Sign in to connect").await;
    h.allow_at_stripe(provider_standin::DEMO_EMAIL).await;

    h.wait_for_text(".cx-flash-region", "Verbindung erfolgreich hergestellt!").await;
    let row = h.wait_for_text("tr.cx-row-new", "Acme Books Ltd").await;
    h.snapshot("13-german").await;
    assert!(row.contains("Neu") && row.contains("Verbunden") && row.contains("Prüfen") && row.contains("Trennen"), "{row}");
    h.wait_for_text(".cx-count", "1 von 1 angezeigt").await;
    let headers = h.browser.find(Locator::Css("thead")).await.unwrap().text().await.unwrap();
    assert!(headers.contains("Konto") && headers.contains("Letzter Datenpunkt") && headers.contains("Aktionen"), "{headers}");

    // The last data point as German writes it (day.month.year, 24-hour clock) in the browser's time
    // zone: the parts come from the <time> element's own timestamp, read by the browser's Date.
    let shown = h.browser.find(Locator::Css("tr.cx-row-new time")).await.unwrap();
    let text = shown.text().await.unwrap();
    let at = shown.attr("datetime").await.unwrap().unwrap();
    let parts = h
        .browser
        .execute("const d = new Date(arguments[0]); return [d.getDate(), d.getMonth() + 1, d.getFullYear(), d.getHours(), d.getMinutes()];", vec![json!(at)])
        .await
        .unwrap();
    let [day, month, year, hour, minute] = serde_json::from_value::<[u32; 5]>(parts).unwrap();
    // German writes the hour with or without its leading zero ("0:28" and "00:28" are both German).
    let expected = [format!("{day}.{month}.{year}, {hour:02}:{minute:02}:"), format!("{day}.{month}.{year}, {hour}:{minute:02}:")];
    assert!(expected.iter().any(|e| text.starts_with(e)), "{text:?} is not German for {at} (expected {expected:?}…)");

    let body = h.browser.find(Locator::Css("body")).await.unwrap().text().await.unwrap();
    for english in ["Data Sources", "Add a Data Source", "Connection successful!", "Connected by", "Disconnect"] {
        assert!(!body.contains(english), "English {english:?} left on the German page:\n{body}");
    }
    h.browser.clone().close().await.unwrap();
}

/// A providers file for a generic, standards-following OAuth 2.0 source served by the stand-in, next
/// to Stripe as a Stripe App (the same one the server's integration tests use).
const ACME_PROVIDERS: &str = include_str!("../crates/server/tests/fixtures/acme-providers.toml");

async fn start_with_providers_file() -> Harness {
    start_with_providers(ACME_PROVIDERS).await
}

#[tokio::test]
async fn a_source_added_by_configuration_alone_connects_with_pkce_checked_by_the_provider() {
    let h = start_with_providers_file().await;
    h.sign_in_as("Ada Admin").await;
    h.wait_for_text("h1", "Data Sources").await;
    h.click("//a[normalize-space()='Add a Data Source']").await;
    h.wait_for_text(".cx-gallery", "Acme CRM").await;
    h.wait_for_text(".cx-gallery", "Stripe").await;
    h.snapshot("20-gallery-two-sources").await;
    // The gallery's search narrows to the CRM.
    h.browser.find(Locator::Css("input[type=search]")).await.unwrap().send_keys("crm").await.unwrap();
    let started = Instant::now();
    loop {
        let items = h.browser.find_all(Locator::Css(".cx-gallery-item")).await.unwrap();
        let mut names = Vec::new();
        for item in &items {
            names.push(item.text().await.unwrap());
        }
        if names.len() == 1 && names[0].contains("Acme CRM") {
            break;
        }
        assert!(started.elapsed() < WAIT, "search did not narrow the gallery: {names:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    h.assert_accessible("the gallery with a search").await;
    h.click("//a[contains(@class,'cx-gallery-item')][contains(., 'Acme CRM')]").await;
    let page = h.wait_for_text("main", "Data that will sync").await;
    for kind in ["Contacts", "Deals", "Companies", "contacts.read deals.read"] {
        assert!(page.contains(kind), "authorization page lacks {kind}: {page}");
    }
    h.snapshot("21-authorize-acme").await;
    h.assert_accessible("a configured source's authorization page").await;
    h.click("//button[normalize-space()='Connect with Acme CRM']").await;
    h.wait_for_text("h1", "Sign in to connect").await;
    let at_provider = h.current_url().await;
    assert_eq!(at_provider.path(), "/oauth2/acme/authorize");
    let params: std::collections::HashMap<_, _> = at_provider.query_pairs().into_owned().collect();
    assert_eq!(params["code_challenge_method"], "S256");
    assert_eq!(params["redirect_uri"], format!("{}/connections/acme/callback", h.url));
    h.allow_at_stripe("sales@northwind.test").await;
    h.wait_for_text(".cx-flash-region", "Connection successful!").await;
    let row = h.wait_for_text("tbody tr", "Northwind Traders").await;
    h.snapshot("22-connected-acme").await;
    assert!(row.contains("Acme CRM") && row.contains("Connected"), "{row}");
    // The strict stand-in refuses a code without the right verifier: one successful exchange means
    // the browser's PKCE pair travelled through the server to the provider and matched.
    assert_eq!(h.standin.realm_token_requests("acme"), 1);
    assert_eq!(h.state.db.list_connections("acme").await.unwrap().len(), 1);
    h.browser.clone().close().await.unwrap();
}

#[tokio::test]
async fn stripe_connects_as_a_stripe_app_by_default() {
    let h = start_with(None, &[]).await;
    h.sign_in_as("Ada Admin").await;
    h.wait_for_text("h1", "Data Sources").await;
    h.click("//a[normalize-space()='Add a Data Source']").await;
    h.click("//a[contains(@class,'cx-gallery-item')][contains(., 'Stripe')]").await;
    h.wait_for_text("main", "Data that will sync").await;
    h.click("//button[normalize-space()='Connect with Stripe']").await;
    h.wait_for_text("h1", "Sign in to connect").await;
    let install = h.current_url().await;
    assert_eq!(install.path(), "/apps/oauth/v2/authorize", "Stripe's install link");
    h.snapshot("23-stripe-app-install").await;
    h.allow_at_stripe(provider_standin::DEMO_EMAIL).await;
    h.wait_for_text(".cx-flash-region", "Connection successful!").await;
    let row = h.wait_for_text("tbody tr", "Acme Books Ltd").await;
    assert!(row.contains("Test"), "{row}");
    assert_eq!(h.standin.apps_token_requests(), 1);
    // The scope granted is on the connection's page.
    h.click("//a[normalize-space()='Acme Books Ltd']").await;
    h.wait_for_text(".cx-facts", "stripe_apps").await;
    h.browser.clone().close().await.unwrap();
}

#[tokio::test]
async fn a_crafted_callback_link_cannot_make_the_page_call_another_api_path() {
    let h = start().await;
    h.sign_in_as("Ada Admin").await;
    h.connect_in_browser(provider_standin::DEMO_EMAIL).await;
    let id = h.state.db.list_connections("acme").await.unwrap()[0].id.clone();
    // The review's link: the provider segment decodes to a path of another API route.
    h.open(&format!("/connections/..%2Fconnections%2F{id}%2Fdisconnect%3F/callback?code=x")).await;
    h.wait_for_text("main", "").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let page = h.browser.find(Locator::Css("main")).await.unwrap().text().await.unwrap();
    h.snapshot("24-crafted-callback").await;
    let connections = h.state.db.list_connections("acme").await.unwrap();
    assert_eq!(connections[0].status, connections_wire::ConnectionStatus::Connected, "nothing was disconnected; the page said: {page}");
    assert_eq!(h.standin.token_requests(), 1);
    h.browser.clone().close().await.unwrap();
}

#[tokio::test]
async fn two_workspaces_side_by_side_each_see_only_their_own_row() {
    let h = start().await;
    h.sign_in_as("Ada Admin").await;
    h.connect_in_browser(provider_standin::DEMO_EMAIL).await;
    h.wait_for_text("tbody tr", "Acme Books Ltd").await;

    h.sign_in_as("Grace Admin").await;
    h.wait_for_text(".cx-empty", "No data sources are connected yet").await;
    h.snapshot("25-second-workspace-empty").await;
    h.connect_in_browser("finance@globex.test").await;
    let table = h.wait_for_text("tbody", "Globex Corporation").await;
    assert!(!table.contains("Acme Books Ltd"), "another workspace's row is shown: {table}");
    h.snapshot("26-second-workspace").await;

    h.sign_in_as("Ada Admin").await;
    let table = h.wait_for_text("tbody", "Acme Books Ltd").await;
    assert!(!table.contains("Globex Corporation"), "{table}");
    assert_eq!(h.state.db.list_connections("acme").await.unwrap().len(), 1);
    assert_eq!(h.state.db.list_connections("globex").await.unwrap().len(), 1);
    h.browser.clone().close().await.unwrap();
}

/// At the page as it is: the document does not scroll sideways, and the Acme row's status and its
/// Disconnect button lie inside the visible width, uncut by a scroll box, and the button opens the
/// dialog, which fits too.
async fn assert_fits(h: &Harness, place: &str, width: u32) {
    let layout = h
        .browser
        .execute(
            "const doc = document.documentElement;
             const row = [...document.querySelectorAll('tbody tr')].find((r) => r.textContent.includes('Acme Books Ltd'));
             const button = [...row.querySelectorAll('button')].find((b) => b.textContent.trim() === 'Disconnect');
             window.scrollTo(0, button.getBoundingClientRect().top + window.scrollY - 200);
             const span = (e) => { const r = e.getBoundingClientRect(); return [Math.round(r.left), Math.round(r.right), Math.round(r.width), Math.round(r.height)]; };
             const wrap = row.closest('.cx-table-wrap');
             return { viewport: doc.clientWidth, scroll: doc.scrollWidth, status: span(row.querySelector('.cx-status')), button: span(button),
                      hidden: wrap.scrollWidth - wrap.clientWidth };",
            vec![],
        )
        .await
        .unwrap();
    let at = format!("{place} at {width}px: {layout}");
    let number = |value: &serde_json::Value| value.as_i64().unwrap();
    let viewport = number(&layout["viewport"]);
    assert!(number(&layout["scroll"]) <= viewport, "the page scrolls sideways, {at}");
    assert!(number(&layout["hidden"]) <= 1, "part of the table is hidden in a scroll box, {at}");
    for what in ["status", "button"] {
        let span = layout[what].as_array().unwrap();
        assert!(number(&span[0]) >= 0 && number(&span[1]) <= viewport, "the {what} is outside the visible width, {at}");
    }
    let button = layout["button"].as_array().unwrap();
    assert!(number(&button[2]) >= 24 && number(&button[3]) >= 24, "the Disconnect button is smaller than 24 x 24 px, {at}");
    h.snapshot(&format!("fit-{place}-{width}")).await;
    h.assert_accessible(&format!("{place} at {width}px")).await;

    h.click("//tr[contains(., 'Acme Books Ltd')]//button[normalize-space()='Disconnect']").await;
    h.wait_for_text("dialog[open]", "Disconnect Acme Books Ltd").await;
    let dialog =
        h.browser.execute("const r = document.querySelector('dialog[open]').getBoundingClientRect(); return [r.left, r.right];", vec![]).await.unwrap();
    assert!(
        dialog[0].as_f64().unwrap() >= 0.0 && dialog[1].as_f64().unwrap() <= viewport as f64,
        "the dialog is wider than the page, {place} at {width}px: {dialog}"
    );
    h.snapshot(&format!("fit-{place}-{width}-dialog")).await;
    h.assert_accessible(&format!("the dialog, {place} at {width}px")).await;
    h.click("//dialog//button[normalize-space()='Cancel']").await;
    let started = Instant::now();
    while h.browser.find(Locator::Css("dialog[open]")).await.is_ok() {
        assert!(started.elapsed() < WAIT, "the dialog did not close");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_page_fits_every_width_from_a_phone_to_a_desktop_alone_and_in_the_portal() {
    let h = start().await;
    h.sign_in_as("Ada Admin").await;
    h.connect_in_browser(provider_standin::DEMO_EMAIL).await;
    for width in [320, 390, 768, 1280, 1440] {
        h.set_width(width).await;
        assert_fits(&h, "alone", width).await;
    }
    // Narrow, the rows are cards without headers to click: the sort control drives the same sort.
    h.set_width(390).await;
    let sort = h.browser.find(Locator::Css(".cx-sort-control select")).await.unwrap();
    assert!(sort.is_displayed().await.unwrap(), "a sort control where the headers are hidden");
    assert_eq!(sort.prop("value").await.unwrap().as_deref(), Some("connected_at:desc"));

    h.set_width(1280).await;
    h.browser.goto(&format!("{}/admin/connections", h.portal)).await.unwrap();
    h.wait_for_text("tbody tr", "Acme Books Ltd").await;
    for width in [320, 390, 768, 1280, 1440] {
        h.set_width(width).await;
        assert_fits(&h, "portal", width).await;
    }
    h.browser.clone().close().await.unwrap();
}

#[tokio::test]
async fn the_details_show_which_data_is_readable_and_the_portal_hears_the_webhooks() {
    let h = start().await;
    h.standin.refuse_list("acct_1DemoAcmeBooks00", "charges", true);
    h.sign_in_as("Ada Admin").await;
    h.connect_in_browser(provider_standin::DEMO_EMAIL).await;
    // The row shows when the newest object read was made (the stand-in's is a minute old).
    let last_data = h
        .browser
        .execute(
            "const row = [...document.querySelectorAll('tbody tr')].find((r) => r.textContent.includes('Acme Books Ltd'));
             const time = row.querySelector('td[data-label=\"Last data point\"] time');
             return time ? time.getAttribute('datetime') : null;",
            vec![],
        )
        .await
        .unwrap();
    let at = last_data.as_str().and_then(connections_wire::Timestamp::parse_rfc3339).unwrap_or_else(|| panic!("no last data point: {last_data}"));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!(now - at.timestamp() < 600, "{at}");
    h.click("//a[normalize-space()='Acme Books Ltd']").await;
    let check = h.wait_for_text(".cx-data-check", "Permission missing").await;
    assert!(check.contains("Charges") && check.contains("Stripe refused to list Charges"), "{check}");
    assert_eq!(check.matches("Readable").count(), 6, "{check}");
    let deliveries = h.wait_for_text(".cx-deliveries", "connection.created").await;
    assert!(!deliveries.contains("Failed"), "{deliveries}");
    h.browser.execute("document.querySelector('.cx-data-check').scrollIntoView()", vec![]).await.unwrap();
    h.snapshot("11-data-access").await;
    h.assert_accessible("a connection's details with its data check and deliveries").await;

    // The permission granted at Stripe, the admin tests again, with the keyboard.
    h.standin.refuse_list("acct_1DemoAcmeBooks00", "charges", false);
    h.tab_to("Test data access").await;
    h.press_enter().await;
    let started = Instant::now();
    loop {
        let text = h.wait_for_text(".cx-data-check", "Readable").await;
        if text.matches("Readable").count() == 7 {
            break;
        }
        assert!(started.elapsed() < WAIT, "the new check was not shown: {text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let history = h.wait_for_text(".cx-history", "Data access tested").await;
    assert!(history.contains("7 of 7 data tables readable"), "{history}");

    // The portal's backend got the signed event and its page lists it.
    h.browser.goto(&format!("{}/admin/connections", h.portal)).await.unwrap();
    h.wait_for_text("#backend-events", "connection.created: Acme Books Ltd").await;
    h.snapshot("embed-4-backend-events").await;
    h.browser.clone().close().await.unwrap();
}

#[tokio::test]
async fn a_delivery_the_receiver_refuses_shows_why_and_can_be_sent_again() {
    // A receiver that is not there: every attempt fails, fast.
    use base64::Engine as _;
    let port = connections_testkit::free_port();
    let secret = format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode([5u8; 32]));
    let h = start_with(
        None,
        &[
            "--stripe-oauth=connect",
            &format!("--webhook-url=http://127.0.0.1:{port}/hooks"),
            &format!("--webhook-secret={secret}"),
            "--webhook-first-retry-ms=60000",
        ],
    )
    .await;
    h.sign_in_as("Ada Admin").await;
    h.connect_in_browser(provider_standin::DEMO_EMAIL).await;
    // The first attempt fails at once; the next is a minute away.
    let started = Instant::now();
    let attempted =
        || async { sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM webhook_outbox WHERE attempts >= 1").fetch_one(h.state.db.pool()).await.unwrap() };
    while attempted().await < 1 {
        assert!(started.elapsed() < WAIT, "no delivery was attempted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    h.click("//a[normalize-space()='Acme Books Ltd']").await;
    let row = h.wait_for_text(".cx-deliveries tbody tr", "connection.created").await;
    assert!(row.contains("Attempt 1 failed; next try") && row.contains("the receiver could not be reached"), "{row}");
    h.browser.execute("document.querySelector('.cx-deliveries').scrollIntoView()", vec![]).await.unwrap();
    h.snapshot("12-delivery-failing").await;
    h.assert_accessible("a connection's details with a failing delivery").await;
    h.click("//button[normalize-space()='Send again']").await;
    // Sent again at once (and failed again: nobody listens); the page shows the second attempt.
    let started = Instant::now();
    loop {
        let row = h.wait_for_text(".cx-deliveries tbody tr", "connection.created").await;
        if row.contains("Attempt 2 failed") {
            break;
        }
        assert!(started.elapsed() < WAIT, "the retry was not shown: {row}");
        tokio::time::sleep(Duration::from_millis(200)).await;
        h.browser.refresh().await.unwrap();
    }
    h.browser.clone().close().await.unwrap();
}

/// Where the demo starts: a new browser, signed out, on the table's address. Signing in shows that
/// workspace's table, not what the page was answered while signed out, and so does signing out and
/// in as another workspace's administrator. At 1280 px the list is a table.
#[tokio::test]
async fn signed_out_at_first_each_admin_signs_in_to_their_own_table() {
    let h = start().await;
    h.connect_over_http("acme", provider_standin::DEMO_EMAIL).await;
    h.connect_over_http("globex", "finance@globex.test").await;
    h.set_width(1280).await;
    h.open("/connections").await;
    h.wait_for_text("[role=alert]", "Sign in to manage connections").await;
    h.click("//a[normalize-space()='Demo sign-in']").await;
    h.click("//button[contains(., 'Sign in as Ada Admin')]").await;
    h.row_text("Acme Books Ltd").await;
    let page = h.page_text().await;
    assert!(!page.contains("session has ended") && !page.contains("Globex"), "{page}");
    h.assert_a_table_of("Acme's, alone at 1280px", &["Acme Books Ltd"]).await;
    h.snapshot("first-1-signed-in").await;

    h.click("//button[normalize-space()='Sign out']").await;
    h.wait_for_text("[role=alert]", "Sign in to manage connections").await;
    h.click("//a[normalize-space()='Demo sign-in']").await;
    h.click("//button[contains(., 'Sign in as Grace Admin')]").await;
    h.row_text("Globex Corporation").await;
    let page = h.page_text().await;
    assert!(!page.contains("session has ended") && !page.contains("Acme Books Ltd"), "{page}");
    h.assert_a_table_of("Globex's, alone at 1280px", &["Globex Corporation"]).await;
    h.browser.clone().close().await.unwrap();
}

/// A host page whose user changes mounts the app again with the new user's token: the app shows
/// that workspace's list, never the one before. A token that expired and that the host's provider
/// renewed meanwhile is asked again with the new one, not taken for a session that ended.
#[tokio::test]
async fn a_host_that_mounts_again_with_another_token_gets_that_workspaces_list() {
    let h = start().await;
    h.connect_over_http("acme", provider_standin::DEMO_EMAIL).await;
    h.connect_over_http("globex", "finance@globex.test").await;
    h.set_width(1440).await;
    h.browser.goto(&format!("{}/admin/connections", h.portal)).await.unwrap();
    h.row_text("Acme Books Ltd").await;
    h.assert_a_table_of("the portal at 1440px", &["Acme Books Ltd"]).await;
    h.snapshot("portal-table-1440").await;

    let remount = |session_token: String| {
        format!(
            "const done = arguments[arguments.length - 1];
             import('{url}/embed.js').then(({{ mount }}) => {{
               window.connectionsApp.unmount();
               window.connectionsApp = mount(document.getElementById('connections'),
                 {{ basePath: '/admin/connections', apiBase: '{url}', sessionToken: {session_token} }});
               done(true);
             }});",
            url = h.url
        )
    };
    let app_text = || async { h.browser.find(Locator::Css("#connections")).await.unwrap().text().await.unwrap_or_default() };
    let grace = connections_testkit::session_token(SESSION_SECRET, "grace", "Grace Admin", "admin", "globex", 600);
    h.browser.execute_async(&remount(format!("'{grace}'")), vec![]).await.unwrap();
    h.wait_for_text(".cx-user", "Grace Admin").await;
    h.row_text("Globex Corporation").await;
    let app = app_text().await;
    assert!(!app.contains("Acme Books Ltd") && !app.contains("session has ended"), "{app}");

    let expired = connections_testkit::session_token(SESSION_SECRET, "pat", "Pat Portal", "admin", "acme", -300);
    let renewed = connections_testkit::session_token(SESSION_SECRET, "pat", "Pat Portal", "admin", "acme", 600);
    let provider = format!("(() => {{ let calls = 0; return () => (calls++ === 0 ? '{expired}' : '{renewed}'); }})()");
    h.browser.execute_async(&remount(provider), vec![]).await.unwrap();
    h.wait_for_text(".cx-user", "Pat Portal").await;
    h.row_text("Acme Books Ltd").await;
    let app = app_text().await;
    assert!(!app.contains("Globex") && !app.contains("session has ended"), "{app}");
    h.browser.clone().close().await.unwrap();
}

/// Where focus is after a page change: where a screen-reader user expects the new page to start.
async fn assert_focus_starts_the_page(h: &Harness, page: &str) {
    let focused = h.browser.execute("const e = document.activeElement; return [e.tagName, e.id, e.textContent.trim().slice(0, 60)];", vec![]).await.unwrap();
    assert!(focused[0] == "H1" || focused[1] == "cx-main", "after opening {page}, focus is on {focused}");
}

/// Tab and Enter alone, from the table's address to the provider, on the page alone and inside the
/// example portal.
#[tokio::test]
async fn the_connect_path_works_with_tab_and_enter_from_the_table_alone_and_in_the_portal() {
    // As `scripts/demo.sh` runs: Stripe as a Stripe App, and the example providers file.
    let providers = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/providers.toml");
    let h = start_with(None, &[&format!("--providers={}", providers.display())]).await;
    h.sign_in_as("Ada Admin").await;
    h.wait_for_text(".cx-empty", "No data sources").await;
    for (place, address) in [("alone", format!("{}/connections", h.url)), ("in the portal", format!("{}/admin/connections", h.portal))] {
        h.browser.goto(&address).await.unwrap();
        h.wait_for_text(".cx-empty", "No data sources").await;
        let mut presses = vec![h.tab_to("Add a Data Source").await];
        h.press_enter().await;
        h.wait_for_text(".cx-gallery", "Stripe").await;
        assert_focus_starts_the_page(&h, &format!("the gallery {place}")).await;
        presses.push(h.tab_to("Stripe").await);
        h.press_enter().await;
        h.wait_for_text("main", "Data that will sync").await;
        assert_focus_starts_the_page(&h, &format!("the authorization page {place}")).await;
        presses.push(h.tab_to("Connect with Stripe").await);
        h.press_enter().await;
        h.wait_for_text("h1", "Sign in to connect").await;
        // From where each page starts, its next step is a few presses away, not the whole page.
        eprintln!("Tab presses {place}: {presses:?}");
        assert!(presses[1..].iter().all(|&n| n <= 5), "Tab presses {place} (table, gallery, authorization page): {presses:?}");
    }
    h.browser.clone().close().await.unwrap();
}

/// As the demo runs Stripe (`examples/providers.toml`): a Stripe App with a client in live and in test
/// mode. The admin picks Test; the install is test mode's, its code exchanged with test mode's key.
#[tokio::test]
async fn a_test_mode_stripe_apps_install_is_exchanged_with_the_test_key() {
    let providers = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/providers.toml");
    let h = start_with(None, &[&format!("--providers={}", providers.display())]).await;
    h.sign_in_as("Ada Admin").await;
    h.wait_for_text(".cx-empty", "No data sources").await;
    h.click("//a[normalize-space()='Add a Data Source']").await;
    h.click("//a[contains(@class,'cx-gallery-item')][.//*[normalize-space()='Stripe']]").await;
    h.wait_for_text("main", "Data that will sync").await;
    // The modes configured, as radio buttons named by what a person reads; live, the first, chosen.
    let radios = h
        .browser
        .execute(
            "return [...document.querySelectorAll('fieldset input[type=radio]')].map(r => [r.closest('fieldset').querySelector('legend').textContent,
                     r.closest('label').textContent.trim(), r.checked]);",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(radios, json!([["Mode", "Live", true], ["Mode", "Test", false]]));
    h.assert_accessible("the authorization page with its modes").await;
    h.click("//label[normalize-space()='Test']").await;
    h.snapshot("40-authorize-modes").await;
    h.click("//button[normalize-space()='Connect with Stripe']").await;
    h.wait_for_text("h1", "Sign in to connect").await;
    let install_link = h.browser.current_url().await.unwrap();
    assert_eq!(install_link.path(), "/apps/oauth/v2/test/authorize", "test mode's own install link");
    h.allow_at_stripe(provider_standin::DEMO_EMAIL).await;
    h.wait_for_text(".cx-flash-region", "Connection successful!").await;
    let row = h.row_text("Acme Books Ltd").await;
    assert!(row.contains("Test"), "the Mode column says test: {row}");
    let stored = h.state.db.connection_by_account("acme", "stripe", "acct_1DemoAcmeBooks00").await.unwrap().unwrap();
    assert_eq!(stored.view.mode, Some(connections_wire::Mode::Test));
    h.snapshot("41-connected-test-mode").await;

    // What made it work: the stand-in, as Stripe, takes a test-mode code from test mode's key only.
    let redirect = h.standin.marketplace_install_in(provider_standin::DEMO_EMAIL, provider_standin::StripeMode::Test, None).unwrap();
    let code = url::Url::parse(&redirect).unwrap().query_pairs().find(|(name, _)| name == "code").unwrap().1.into_owned();
    let token_url = install_link.join("/v1/oauth/token").unwrap();
    let with_live_key = reqwest::Client::new()
        .post(token_url)
        .basic_auth("sk_live_DemoConnectionsLiveMode", None::<&str>)
        .form(&[("grant_type", "authorization_code"), ("code", code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(with_live_key.status(), 400);
    assert!(with_live_key.text().await.unwrap().contains("Authorization code provided does not belong to you"));
    h.browser.clone().close().await.unwrap();
}

/// The app's width and the table's at a window width, with the page alone or in the portal.
async fn widths(h: &Harness) -> serde_json::Value {
    h.browser
        .execute(
            "const app = document.querySelector('.cx-app').getBoundingClientRect().width;
             const wrap = document.querySelector('.cx-table-wrap');
             return { app: Math.round(app), table: wrap.scrollWidth, shown: wrap.clientWidth };",
            vec![],
        )
        .await
        .unwrap()
}

/// The longest row there is (Reauthentication required, three buttons) stays a table row down to
/// 900 px of the app's own width; below that the rows are cards. Prints the widths the README gives.
#[tokio::test]
async fn the_table_keeps_its_widest_row_down_to_900px_of_app_width() {
    let h = start().await;
    h.connect_over_http("acme", provider_standin::DEMO_EMAIL).await;
    h.standin.revoke_access(ACME);
    h.sign_in_as("Ada Admin").await;
    h.click("//button[@aria-label='Check Acme Books Ltd']").await;
    h.wait_for_text("tbody tr", "Reauthentication required").await;
    // Alone, the app is as wide as the window.
    h.set_width(900).await;
    let at_900 = widths(&h).await;
    eprintln!("alone at 900px: {at_900}");
    assert_eq!(at_900["app"], 900, "{at_900}");
    h.assert_a_table_of("alone at 900px", &["Acme Books Ltd"]).await;
    h.snapshot("table-900").await;
    h.set_width(890).await;
    let cards = h.browser.execute("return getComputedStyle(document.querySelector('table.cx-table thead')).display", vec![]).await.unwrap();
    assert_eq!(cards, "none", "below 900 px of app width the rows are cards");
    for width in [1280, 1440] {
        h.set_width(width).await;
        eprintln!("alone at {width}px: {}", widths(&h).await);
        h.assert_a_table_of(&format!("alone at {width}px"), &["Acme Books Ltd"]).await;
    }
    h.browser.goto(&format!("{}/admin/connections", h.portal)).await.unwrap();
    h.row_text("Acme Books Ltd").await;
    for width in [1280, 1440] {
        h.set_width(width).await;
        eprintln!("portal at {width}px: {}", widths(&h).await);
        h.assert_a_table_of(&format!("the portal at {width}px"), &["Acme Books Ltd"]).await;
    }
    h.snapshot("portal-table-reauth-1280").await;
    h.browser.clone().close().await.unwrap();
}

/// Every page opens from the built bundle, alone and inside the example portal: the table, the
/// gallery, a provider's authorization page, a connection's details, the sign-in page, a callback
/// and an unknown address, each reached by the app's own links and by its address. A page whose
/// code did not load, or loaded wrong, fails here.
#[tokio::test]
async fn every_page_opens_from_the_built_bundle_alone_and_in_the_portal() {
    let h = start().await;
    h.connect_over_http("acme", provider_standin::DEMO_EMAIL).await;
    h.set_width(1280).await;
    h.sign_in_as("Ada Admin").await;
    h.row_text("Acme Books Ltd").await;
    through_the_app(&h).await;
    for (path, css, text) in [
        ("/connections", "tbody tr", "Acme Books Ltd"),
        ("/connections/new", ".cx-gallery", "Stripe"),
        ("/connections/new/stripe", "main", "Data that will sync"),
        ("/connections/sign-in", "main", "Sign in as Ada Admin"),
        ("/connections/stripe/callback?code=ac_1&state=not-from-this-tab-xxxxxxxxxxxxxxxx", "[role=alert]", "This tab did not start a Stripe connection"),
        ("/connections/a/b/c", "h1", "Page not found"),
    ] {
        h.open(path).await;
        h.wait_for_text(css, text).await;
    }
    h.open("/connections").await;
    h.row_text("Acme Books Ltd").await;
    h.click("//tbody//a[normalize-space()='Acme Books Ltd']").await;
    let detail = h.current_url().await;
    h.open(detail.path()).await;
    h.wait_for_text("h1", "Acme Books Ltd").await;

    // In the portal: mounted under its base path, then as a custom element with memory routing.
    h.browser.goto(&format!("{}/admin/connections", h.portal)).await.unwrap();
    h.row_text("Acme Books Ltd").await;
    through_the_app(&h).await;
    h.browser.goto(&format!("{}/element", h.portal)).await.unwrap();
    h.wait_for_text("connections-panel tbody tr", "Acme Books Ltd").await;
    through_the_app(&h).await;
    h.browser.clone().close().await.unwrap();
}

/// From the table: the gallery, a provider's authorization page, back to the table by the
/// breadcrumb, and a connection's details.
async fn through_the_app(h: &Harness) {
    h.click("//a[normalize-space()='Add a Data Source']").await;
    h.wait_for_text(".cx-gallery", "Stripe").await;
    h.click("//a[contains(@class,'cx-gallery-item')][contains(., 'Stripe')]").await;
    h.wait_for_text("main", "Data that will sync").await;
    h.click("//nav[contains(@class,'cx-breadcrumb')]//a[normalize-space()='Connections']").await;
    h.click("//tbody//a[normalize-space()='Acme Books Ltd']").await;
    h.wait_for_text("main h1", "Acme Books Ltd").await;
    h.wait_for_text("main h2", "History").await;
}

/// Key-based sources from a providers file alone (the server's integration tests use the same):
/// Pipeline CRM, the stand-in's made-up source, and Stripe restricted keys.
const KEYS_PROVIDERS: &str = include_str!("../crates/server/tests/fixtures/keys-providers.toml");

async fn start_with_key_sources() -> Harness {
    start_with_providers(KEYS_PROVIDERS).await
}

impl Harness {
    /// From the table to a key-based provider's authorization page.
    async fn open_key_page(&self, provider: &str) {
        self.open("/connections").await;
        self.wait_for_text("h1", "Data Sources").await;
        self.click("//a[normalize-space()='Add a Data Source']").await;
        self.click(&format!("//a[contains(@class,'cx-gallery-item')][contains(., '{provider}')]")).await;
        self.wait_for_text("main", "Data that will sync").await;
    }

    /// Types `key` into the key field and presses Connect; answers what the field holds afterwards.
    async fn paste_key(&self, provider: &str, key: &str) -> String {
        let field = self.browser.wait().at_most(WAIT).for_element(Locator::Css("#cx-key")).await.unwrap();
        field.send_keys(key).await.unwrap();
        self.click(&format!("//button[normalize-space()='Connect with {provider}']")).await;
        let left = self.browser.execute("return document.querySelector('#cx-key') ? document.querySelector('#cx-key').value : ''", vec![]).await.unwrap();
        left.as_str().unwrap_or_default().to_owned()
    }
}

#[tokio::test]
async fn a_key_source_from_a_providers_file_refuses_a_wrong_key_and_connects_good_ones() {
    let h = start_with_key_sources().await;
    h.sign_in_as("Ada Admin").await;
    h.open_key_page("Pipeline CRM").await;
    // A labelled password field the browser does not fill or remember, and where to make a key.
    let field = h
        .browser
        .execute(
            "const f = document.querySelector('#cx-key'); const l = document.querySelector('label[for=cx-key]');
             return [f.type, f.getAttribute('autocomplete'), l && l.textContent, !!document.querySelector('a[href=\"https://pipeline.example/settings/api\"]'),
                     !!document.querySelector('label[for=cx-key-name]')];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(field, json!(["password", "off", "API key", true, true]));
    h.assert_accessible("a key-based source's authorization page").await;
    h.snapshot("30-authorize-key").await;

    // A wrong key: refused with the reason per table, the field emptied, nothing stored.
    let left = h.paste_key("Pipeline CRM", "pl_WrongKeyWrongKeyWrongKey1").await;
    assert_eq!(left, "", "the field is cleared when the key is sent");
    h.wait_for_text("[role=alert]", "Pipeline CRM did not accept this key").await;
    let tables = h.wait_for_text(".cx-key-tables", "Deals").await;
    assert!(tables.contains("Contacts") && tables.contains("Access refused"), "in our words, per table: {tables}");
    h.assert_accessible("a refused key").await;
    h.snapshot("31-key-refused").await;
    assert!(h.state.db.list_connections("acme").await.unwrap().is_empty(), "nothing stored");

    // A key that misses one table: stored, that table Permission missing.
    let key = h.standin.issue_keyed_key("pipeline", "pl-3002").unwrap();
    assert!(h.standin.refuse_key_table(&key, "contacts", true));
    h.open_key_page("Pipeline CRM").await;
    h.paste_key("Pipeline CRM", &key).await;
    h.wait_for_text(".cx-flash-region", "Connection successful!").await;
    let row = h.wait_for_text("tbody tr", "Umbrella Corp").await;
    assert!(row.contains("Pipeline CRM") && row.contains("Connected"), "{row}");
    h.click("//a[normalize-space()='Umbrella Corp']").await;
    let check = h.wait_for_text("main", "Permission missing").await;
    assert!(check.contains("Contacts") && check.contains("Readable"), "{check}");
    h.snapshot("32-key-permission-missing").await;

    // A good key.
    let key = h.standin.issue_keyed_key("pipeline", "pl-3001").unwrap();
    h.open_key_page("Pipeline CRM").await;
    h.paste_key("Pipeline CRM", &key).await;
    h.wait_for_text(".cx-flash-region", "Connection successful!").await;
    h.wait_for_text("tbody tr", "Initech").await;
    assert_eq!(h.state.db.list_connections("acme").await.unwrap().len(), 2);
    let page = h.page_text().await;
    assert!(!page.contains(&key), "the key is never shown");

    // Rolled at the source: the check finds it refused, and its row offers a new key.
    h.standin.roll_key(&key).unwrap();
    h.click("//button[@aria-label='Check Initech']").await;
    let row = h.wait_for_text("tbody tr", "Reauthentication required").await;
    assert!(row.contains("Replace key") && !row.contains("Reauthenticate"), "{row}");
    h.click("//button[@aria-label='Replace the key of Initech']").await;
    h.wait_for_text("main", "Data that will sync").await;
    h.browser.clone().close().await.unwrap();
}

#[tokio::test]
async fn a_stripe_restricted_key_connects_and_its_mode_is_shown() {
    let h = start_with_key_sources().await;
    h.sign_in_as("Ada Admin").await;
    h.open_key_page("Stripe (restricted key)").await;
    let key = h.standin.issue_stripe_key(ACME, provider_standin::StripeMode::Test, true).unwrap();
    h.paste_key("Stripe (restricted key)", &key).await;
    h.wait_for_text(".cx-flash-region", "Connection successful!").await;
    let row = h.wait_for_text("tbody tr", "Acme Books Ltd").await;
    assert!(row.contains("Stripe (restricted key)") && row.contains("Test"), "the key's mode is shown: {row}");
    h.snapshot("33-stripe-restricted-key").await;
    h.browser.clone().close().await.unwrap();
}

/// Waits until `client`'s page has an element matching `css` that contains `text`.
async fn wait_in(client: &Client, css: &str, text: &str) -> String {
    let started = Instant::now();
    loop {
        if let Ok(elements) = client.find_all(Locator::Css(css)).await {
            for element in elements {
                if let Ok(found) = element.text().await {
                    if found.contains(text) {
                        return found;
                    }
                }
            }
        }
        if started.elapsed() > WAIT {
            let body = client.find(Locator::Css("body")).await.unwrap().text().await.unwrap_or_default();
            panic!("no {css} containing {text:?} after {WAIT:?}; page says:\n{body}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn click_in(client: &Client, xpath: &str) {
    client.wait().at_most(WAIT).for_element(Locator::XPath(xpath)).await.unwrap_or_else(|e| panic!("{xpath}: {e}")).click().await.unwrap();
}

/// "Send a link instead" on the page the admin is on, the default lifetime, a note: the link shown.
async fn make_link_in_browser(h: &Harness, note: &str) -> String {
    h.click("//button[normalize-space()='Send a link instead']").await;
    h.wait_for_text(".cx-send-link", "Valid for").await;
    let selected = h.browser.execute("return document.querySelector('.cx-send-link select').selectedOptions[0].textContent", vec![]).await.unwrap();
    assert_eq!(selected, json!("72 hours"), "the default lifetime");
    h.browser.find(Locator::Css(".cx-send-link textarea")).await.unwrap().send_keys(note).await.unwrap();
    h.click("//button[normalize-space()='Create link']").await;
    h.wait_for_text(".cx-send-link", "Copy this link now").await;
    let url = h.browser.execute("return document.querySelector('.cx-link-url').value", vec![]).await.unwrap();
    let url = url.as_str().unwrap().to_owned();
    assert!(url.starts_with(&format!("{}/connect/", h.url)), "{url}");
    url
}

/// In a browser with no session: the link's page, Connect with Stripe, allow at the stand-in.
async fn connect_through_link(client: &Client, link: &str, expect: &str) {
    client.goto(link).await.unwrap();
    wait_in(client, "main", expect).await;
    click_in(client, "//button[normalize-space()='Connect with Stripe']").await;
    let field = client.wait().at_most(WAIT).for_element(Locator::Id("email")).await.expect("the stand-in's sign-in page");
    field.send_keys(provider_standin::DEMO_EMAIL).await.unwrap();
    client.find(Locator::Id("password")).await.unwrap().send_keys(provider_standin::DEMO_PASSWORD).await.unwrap();
    click_in(client, "//button[@id='allow']").await;
    wait_in(client, "main", "Connection successful!").await;
}

#[tokio::test]
async fn a_link_lets_someone_with_no_session_connect_stripe_once_and_closed_links_say_so() {
    let h = start().await;
    h.sign_in_as("Ada Admin").await;
    h.wait_for_text("h1", "Data Sources").await;
    h.open("/connections/new/stripe").await;
    h.wait_for_text("main", "Data that will sync").await;
    let link = make_link_in_browser(&h, "For the board pack").await;
    h.snapshot("40-link-made").await;

    let owner = Chrome::start(None).await;
    connect_through_link(&owner.client, &link, "Ada Admin of Acme Inc. asks you to connect this data source.").await;
    let page = wait_in(&owner.client, "main", "is connected at Stripe").await;
    assert!(page.contains("Acme Books Ltd"), "{page}");
    assert!(!owner.client.current_url().await.unwrap().as_str().contains("code="), "the code is gone from the address bar");
    assert!(owner.client.find(Locator::Css(".cx-nav")).await.is_err(), "back from Stripe, the link's page shows none of the admin's shell");

    // The admin's table shows it, connected through the link.
    h.open("/connections").await;
    let row = h.wait_for_text("tbody tr", "Acme Books Ltd").await;
    assert!(row.contains("Connected"), "{row}");
    h.click("//a[normalize-space()='Acme Books Ltd']").await;
    h.wait_for_text(".cx-facts", "a link made by Ada Admin").await;

    // Used: the same link says so, and offers nothing.
    owner.client.goto(&link).await.unwrap();
    wait_in(&owner.client, "main", "This link was already used").await;
    assert!(owner.client.find(Locator::XPath("//button[normalize-space()='Connect with Stripe']")).await.is_err());

    // Revoked from the list on the authorization page.
    h.open("/connections/new/stripe").await;
    h.wait_for_text("main", "Data that will sync").await;
    let revoked = make_link_in_browser(&h, "").await;
    h.open("/connections/new/stripe").await;
    h.wait_for_text("table", "Open").await;
    h.snapshot("41-links-open").await;
    h.click("//button[normalize-space()='Revoke']").await;
    h.wait_for_text("table", "Revoked").await;
    owner.client.goto(&revoked).await.unwrap();
    wait_in(&owner.client, "main", "This link was revoked").await;

    // Expired.
    h.open("/connections/new/stripe").await;
    h.wait_for_text("main", "Data that will sync").await;
    let expired = make_link_in_browser(&h, "").await;
    sqlx::query("UPDATE connect_links SET expires_at = 1 WHERE used_at IS NULL AND revoked_at IS NULL").execute(h.state.db.pool()).await.unwrap();
    owner.client.goto(&expired).await.unwrap();
    wait_in(&owner.client, "main", "This link has expired").await;
    owner.client.clone().close().await.unwrap();
    h.browser.clone().close().await.unwrap();
}

/// A key-based source through a link: the owner, with no session, pastes the key on the link's
/// page; a wrong one is refused with the reason, a good one stored for the admin's workspace.
#[tokio::test]
async fn the_owner_of_a_key_based_source_pastes_its_key_through_a_link() {
    let h = start_with_key_sources().await;
    h.sign_in_as("Ada Admin").await;
    h.open_key_page("Pipeline CRM").await;
    let link = make_link_in_browser(&h, "The CRM's key, please").await;

    let owner = Chrome::start(None).await;
    owner.client.goto(&link).await.unwrap();
    wait_in(&owner.client, "main", "Ada Admin of Acme Inc. asks you to connect this data source.").await;
    let paste = |key: String| {
        let client = owner.client.clone();
        async move {
            let field = client.wait().at_most(WAIT).for_element(Locator::Css("#cx-key")).await.unwrap();
            field.send_keys(&key).await.unwrap();
            click_in(&client, "//button[normalize-space()='Connect with Pipeline CRM']").await;
        }
    };
    paste("pl_WrongKeyWrongKeyWrongKey1".into()).await;
    wait_in(&owner.client, "[role=alert]", "Pipeline CRM did not accept this key").await;
    wait_in(&owner.client, ".cx-key-tables", "Access refused").await;
    if let Some(dir) = std::env::var_os("E2E_SCREENSHOTS") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(PathBuf::from(dir).join("42-link-key-refused.png"), owner.client.screenshot().await.unwrap()).unwrap();
    }
    assert!(owner.client.find(Locator::XPath("//a[normalize-space()='Cancel']")).await.is_err(), "no table to go back to from a link's page");
    let key = h.standin.issue_keyed_key("pipeline", "pl-3001").unwrap();
    paste(key).await;
    let done = wait_in(&owner.client, "main", "Connection successful!").await;
    assert!(done.contains("Initech"), "{done}");
    assert!(owner.client.find(Locator::Css(".cx-nav")).await.is_err(), "none of the admin's shell");

    h.open("/connections").await;
    let row = h.wait_for_text("tbody tr", "Initech").await;
    assert!(row.contains("Connected"), "{row}");
    owner.client.clone().close().await.unwrap();
    h.browser.clone().close().await.unwrap();
}

#[tokio::test]
async fn a_reconnect_link_brings_a_connection_needing_reauthentication_back_to_connected() {
    let h = start().await;
    h.connect_over_http("acme", provider_standin::DEMO_EMAIL).await;
    h.standin.revoke_access(ACME);
    let id = h.state.db.list_connections("acme").await.unwrap()[0].id.clone();
    let token = connections_testkit::session_token(SESSION_SECRET, "seed", "Sam Seed", "admin", "acme", 600);
    let checked = reqwest::Client::new().post(format!("{}/api/connections/{id}/check", h.url)).bearer_auth(token).json(&json!({})).send().await.unwrap();
    assert!(checked.status().is_success());
    h.sign_in_as("Ada Admin").await;
    h.click("//a[normalize-space()='Acme Books Ltd']").await;
    h.wait_for_text(".cx-facts", "Reauthentication required").await;
    let link = make_link_in_browser(&h, "Stripe asks us to sign in again").await;

    let owner = Chrome::start(None).await;
    connect_through_link(&owner.client, &link, "It reconnects the account Acme Books Ltd").await;
    h.open("/connections").await;
    let row = h.wait_for_text("tbody tr", "Acme Books Ltd").await;
    assert!(row.contains("Connected") && !row.contains("Reauthentication"), "{row}");
    assert_eq!(h.browser.find_all(Locator::Css("tbody tr")).await.unwrap().len(), 1, "the same connection");
    owner.client.clone().close().await.unwrap();
    h.browser.clone().close().await.unwrap();
}

#[tokio::test]
async fn a_link_opened_inside_a_portal_frame_connects_in_a_popup() {
    let h = start().await;
    let token = connections_testkit::session_token(SESSION_SECRET, "ada", "Ada Admin", "admin", "acme", 600);
    let made = reqwest::Client::new()
        .post(format!("{}/api/connect-links", h.url))
        .bearer_auth(token)
        .json(&json!({ "provider": "stripe", "expires_in_secs": 3600 }))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201);
    let link = made.json::<serde_json::Value>().await.unwrap()["url"].as_str().unwrap().to_owned();
    // The portal's frame, pointed at the link (no session anywhere in this browser).
    h.browser.goto(&format!("{}/framed", h.portal)).await.unwrap();
    h.browser.wait().at_most(WAIT).for_element(Locator::Css("iframe.portal-frame")).await.unwrap();
    h.browser.execute("document.querySelector('iframe.portal-frame').src = arguments[0]; return true;", vec![json!(link)]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let frame = h.browser.find(Locator::Css("iframe.portal-frame")).await.unwrap();
    frame.enter_frame().await.unwrap();
    h.wait_for_text("main", "Ada Admin of acme asks you to connect").await;
    let app_window = h.browser.window().await.unwrap();
    h.click("//button[normalize-space()='Connect with Stripe']").await;
    h.wait_for_text("[role=status]", "Waiting for you to finish in the Stripe window").await;
    let started = Instant::now();
    let popup = loop {
        if let Some(popup) = h.browser.windows().await.unwrap().into_iter().find(|w| *w != app_window) {
            break popup;
        }
        assert!(started.elapsed() < WAIT, "no popup opened");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    h.browser.switch_to_window(popup).await.unwrap();
    h.allow_at_stripe(provider_standin::DEMO_EMAIL).await;
    let started = Instant::now();
    while h.browser.windows().await.unwrap().len() > 1 {
        assert!(started.elapsed() < WAIT, "the popup did not close");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    h.browser.switch_to_window(app_window).await.unwrap();
    h.browser.find(Locator::Css("iframe.portal-frame")).await.unwrap().enter_frame().await.unwrap();
    h.wait_for_text("main", "Acme Books Ltd is now connected for acme").await;
    assert_eq!(h.state.db.list_connections("acme").await.unwrap()[0].connected_by, "a link made by Ada Admin");
}
