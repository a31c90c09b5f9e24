//! Headless Chromium through ChromeDriver: the Leptos page and the plain-JavaScript reference, loaded
//! and driven alternately so both see the same machine.

use std::time::{Duration, Instant};

use connections_testkit::Chrome;
use fantoccini::{Client, Locator};
use serde_json::{json, Value};

use crate::median;
use crate::server::Instance;

pub struct Browser {
    client: Client,
    _chrome: Chrome,
}

/// Types `arguments[0]` into the search box one character at a time, waiting after each for the page
/// to settle (its updates run in microtasks) and for layout; answers the total in milliseconds.
const TYPE: &str = r#"
const [text, done] = [arguments[0], arguments[arguments.length - 1]];
const input = document.querySelector('input[type=search]');
const settle = () => new Promise((r) => setTimeout(r, 0));
(async () => {
  input.value = ''; input.dispatchEvent(new Event('input', { bubbles: true })); await settle(); document.body.offsetHeight;
  const t0 = performance.now();
  for (let i = 1; i <= text.length; i++) {
    input.value = text.slice(0, i);
    input.dispatchEvent(new Event('input', { bubbles: true }));
    await settle();
    document.body.offsetHeight;
  }
  done(performance.now() - t0);
})();
"#;

/// Clicks the Account column's sort button and waits for the page to settle.
const SORT: &str = r#"
const done = arguments[arguments.length - 1];
const button = [...document.querySelectorAll('button.cx-sort')].find((b) => b.textContent.trim().startsWith('Account') && !b.textContent.includes('ID'));
const t0 = performance.now();
button.click();
setTimeout(() => { document.body.offsetHeight; done(performance.now() - t0); }, 0);
"#;

/// Clicks `arguments[0]` and answers the milliseconds until `arguments[1]` is in the document.
const OPEN: &str = r#"
const [link, shown, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
const t0 = performance.now();
const check = () => {
  if (!document.querySelector(shown)) return false;
  observer.disconnect();
  done(performance.now() - t0);
  return true;
};
const observer = new MutationObserver(check);
observer.observe(document.body, { childList: true, subtree: true });
document.querySelector(link).click();
check();
"#;

const FIRST_ROW: &str = "const e = performance.getEntriesByName('cx-first-row'); return e.length ? e[0].startTime : null;";

/// Bytes this load received for the wasm, JS and CSS the table waited for (`transferSize`, headers
/// included: 0 when served from the cache without asking; what was asked for before the first row,
/// so not the pages bundle fetched after it) and for the shell document (a `304` is its headers alone).
const TRANSFER: &str = r#"
const firstRow = performance.getEntriesByName('cx-first-row')[0].startTime;
const all = performance.getEntriesByType('resource').filter((e) => /\.(wasm|js|css)$/.test(new URL(e.name).pathname) && e.startTime < firstRow);
const snippet = (e) => new URL(e.name).pathname.startsWith('/snippets/');
const assets = all.filter((e) => !snippet(e));
const snippets = all.filter(snippet);
return { assets: assets.reduce((sum, e) => sum + e.transferSize, 0), asked: assets.filter((e) => e.transferSize > 0).length,
         files: assets.length, shell: performance.getEntriesByType('navigation')[0].transferSize,
         snippets: snippets.length, snippet_bytes: snippets.reduce((sum, e) => sum + e.transferSize, 0) };
"#;

/// Where the time to the first row went, from navigation start: the wasm's download ends, the app
/// starts (the wasm compiled and instantiated), the list is requested, answered, and shown.
const SPLIT: &str = r#"
const at = (name) => { const e = performance.getEntriesByName(name); return e.length ? e[0].startTime : null; };
const wasm = performance.getEntriesByType('resource').find((e) => new URL(e.name).pathname.endsWith('.wasm') && !e.name.includes('connections-pages-'));
const marks = [wasm ? wasm.responseEnd : null, at('cx-wasm-started'), at('cx-list-fetch'), at('cx-list-fetched'), at('cx-first-row')];
return marks.every((m) => m !== null) ? marks : null;
"#;

/// The phases of [`SPLIT`], each a median in milliseconds.
#[derive(Debug, Default)]
pub struct Split {
    pub wasm_downloaded: f64,
    pub compile_and_instantiate: f64,
    pub start_to_fetch: f64,
    pub fetch: f64,
    pub render: f64,
}

/// What a first and a second visit received.
#[derive(Debug, Default)]
pub struct Transfer {
    pub first_assets: u64,
    pub first_shell: u64,
    pub second_assets: u64,
    pub second_asked: u64,
    pub second_files: u64,
    pub second_shell: u64,
    /// wasm-bindgen's snippets (their names do not change with their content): revalidated.
    pub second_snippets: u64,
    pub second_snippet_bytes: u64,
}

impl Browser {
    pub async fn start() -> Self {
        let chrome = Chrome::start(None).await;
        Browser { client: chrome.client.clone(), _chrome: chrome }
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }

    async fn sign_in(&self, instance: &Instance) {
        self.sign_in_at(instance, "/reference.html").await;
    }

    /// Signs in from `page`, a page of the origin (the session cookie is set for it).
    async fn sign_in_at(&self, instance: &Instance, page: &str) {
        self.client.goto(&format!("{}{page}", instance.url)).await.unwrap();
        let script = "const done = arguments[arguments.length - 1]; fetch('/api/demo/session', { method: 'POST', \
                      headers: { 'content-type': 'application/json' }, body: '{\"role\":\"admin\"}' }).then((r) => done(r.status));";
        assert_eq!(self.client.execute_async(script, vec![]).await.unwrap(), json!(200));
    }

    async fn wait_until(&self, script: &str) -> Value {
        let started = Instant::now();
        loop {
            let value = self.client.execute(script, vec![]).await.unwrap();
            if !value.is_null() {
                return value;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "timed out waiting for: {script}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Loads `path` and answers navigation start → first table row, in milliseconds.
    async fn first_row_ms(&self, instance: &Instance, path: &str) -> f64 {
        self.client.goto(&format!("{}{path}", instance.url)).await.unwrap();
        self.wait_until(FIRST_ROW).await.as_f64().unwrap()
    }

    /// Medians of the Leptos page and the reference, loads interleaved.
    pub async fn time_to_table(&mut self, instance: &Instance, loads: usize) -> (f64, f64) {
        let (ours, reference, _, _) = self.time_to_table_split(instance, loads).await;
        (ours, reference)
    }

    /// [`Self::time_to_table`], with the Leptos page's split and, when this browser has not loaded
    /// the app before, the first and second visits' bytes.
    pub async fn time_to_table_split(&mut self, instance: &Instance, loads: usize) -> (f64, f64, Split, Transfer) {
        self.sign_in(instance).await;
        // One warm-up each: both then load from the HTTP cache, as a returning admin's browser does.
        // The first is a first visit (an empty cache), the next a second one.
        self.first_row_ms(instance, "/connections").await;
        let first = self.client.execute(TRANSFER, vec![]).await.unwrap();
        self.first_row_ms(instance, "/reference.html").await;
        let (mut ours, mut reference, mut phases) = (Vec::new(), Vec::new(), vec![Vec::new(); 5]);
        let mut second = Value::Null;
        for _ in 0..loads {
            ours.push(self.first_row_ms(instance, "/connections").await);
            if second.is_null() {
                second = self.client.execute(TRANSFER, vec![]).await.unwrap();
            }
            let marks = self.wait_until(SPLIT).await;
            let marks: Vec<f64> = serde_json::from_value(marks).unwrap();
            let mut previous = 0.0;
            for (phase, at) in phases.iter_mut().zip(&marks) {
                phase.push(at - previous);
                previous = *at;
            }
            reference.push(self.first_row_ms(instance, "/reference.html").await);
        }
        let mut medians = phases.into_iter().map(median);
        let mut next = || medians.next().unwrap_or_default();
        let split = Split { wasm_downloaded: next(), compile_and_instantiate: next(), start_to_fetch: next(), fetch: next(), render: next() };
        let bytes = |v: &Value, key: &str| v[key].as_u64().unwrap_or_default();
        let transfer = Transfer {
            first_assets: bytes(&first, "assets"),
            first_shell: bytes(&first, "shell"),
            second_assets: bytes(&second, "assets"),
            second_asked: bytes(&second, "asked"),
            second_files: bytes(&second, "files"),
            second_shell: bytes(&second, "shell"),
            second_snippets: bytes(&second, "snippets"),
            second_snippet_bytes: bytes(&second, "snippet_bytes"),
        };
        (median(ours), median(reference), split, transfer)
    }

    /// Time to table on a cold load: each load in a new browser with an empty profile (nothing in the
    /// HTTP cache or the compiled-code cache), as an admin opening the panel the first time. Signs in
    /// from the favicon (no page asset in the cache), then loads `/connections` or the reference.
    /// Medians of the Leptos page and the reference, loads interleaved, with the Leptos page's split
    /// and the bytes it received; and, in turn with them, the median of `against`'s `/connections`.
    pub async fn cold_time_to_table(instance: &Instance, against: Option<&Instance>, loads: usize) -> (f64, f64, Split, u64, Option<f64>) {
        let (mut ours, mut reference, mut phases, mut bytes, mut other) = (Vec::new(), Vec::new(), vec![Vec::new(); 5], Vec::new(), Vec::new());
        let sides: Vec<(&Instance, &str)> =
            [(instance, "/connections"), (instance, "/reference.html")].into_iter().chain(against.map(|a| (a, "/connections"))).collect();
        for load in 0..loads {
            // Each side goes first in turn: a load's place in the round (after which browser closed)
            // would otherwise be on one side only.
            for &(served_by, path) in sides.iter().cycle().skip(load % sides.len()).take(sides.len()) {
                let browser = Browser::start().await;
                browser.sign_in_at(served_by, "/public/favicon.svg").await;
                let ms = browser.first_row_ms(served_by, path).await;
                if !std::ptr::eq(served_by, instance) {
                    other.push(ms);
                } else if path == "/connections" {
                    ours.push(ms);
                    let marks: Vec<f64> = serde_json::from_value(browser.wait_until(SPLIT).await).unwrap();
                    let mut previous = 0.0;
                    for (phase, at) in phases.iter_mut().zip(&marks) {
                        phase.push(at - previous);
                        previous = *at;
                    }
                    let transfer = browser.client.execute(TRANSFER, vec![]).await.unwrap();
                    bytes.push(transfer["assets"].as_f64().unwrap_or_default());
                } else {
                    reference.push(ms);
                }
                browser.close().await;
            }
        }
        let mut medians = phases.into_iter().map(median);
        let mut next = || medians.next().unwrap_or_default();
        let split = Split { wasm_downloaded: next(), compile_and_instantiate: next(), start_to_fetch: next(), fetch: next(), render: next() };
        let other = (!other.is_empty()).then(|| median(other));
        (median(ours), median(reference), split, median(bytes) as u64, other)
    }

    /// After the table showed, a click on `link` until `shown` is in the document: opening another
    /// page the first time in this load (its code fetched if it is not in hand yet). Median of
    /// `repeats` loads, in milliseconds.
    pub async fn open_page(&mut self, instance: &Instance, link: &str, shown: &str, repeats: usize) -> f64 {
        let mut times = Vec::new();
        for _ in 0..repeats {
            self.first_row_ms(instance, "/connections").await;
            times.push(self.client.execute_async(OPEN, vec![json!(link), json!(shown)]).await.unwrap().as_f64().unwrap());
        }
        median(times)
    }

    pub async fn filter_by_typing(&mut self, instance: &Instance, text: &str, repeats: usize) -> (f64, f64) {
        let (mut ours, mut reference) = (Vec::new(), Vec::new());
        for _ in 0..repeats {
            for (path, into) in [("/connections", &mut ours), ("/reference.html", &mut reference)] {
                self.first_row_ms(instance, path).await;
                into.push(self.client.execute_async(TYPE, vec![json!(text)]).await.unwrap().as_f64().unwrap());
            }
        }
        (median(ours), median(reference))
    }

    pub async fn sort_by_account(&mut self, instance: &Instance, repeats: usize) -> (f64, f64) {
        let (mut ours, mut reference) = (Vec::new(), Vec::new());
        for (path, into) in [("/connections", &mut ours), ("/reference.html", &mut reference)] {
            self.first_row_ms(instance, path).await;
            for _ in 0..repeats {
                into.push(self.client.execute_async(SORT, vec![]).await.unwrap().as_f64().unwrap());
            }
        }
        (median(ours), median(reference))
    }

    /// Click → the stand-in's page, and allow → "Connection successful!": the app's share of the flow
    /// (without the robot's typing at the stand-in), and the total with it. Medians, in milliseconds.
    pub async fn click_to_success(&mut self, instance: &Instance, times: usize) -> (f64, f64) {
        self.sign_in(instance).await;
        let (mut app, mut total) = (Vec::new(), Vec::new());
        for _ in 0..times {
            self.client.goto(&format!("{}/connections/new/stripe", instance.url)).await.unwrap();
            let connect = Locator::XPath("//button[normalize-space()='Connect with Stripe']");
            let button = self.client.wait().at_most(Duration::from_secs(30)).for_element(connect).await.unwrap();
            let t0 = Instant::now();
            button.click().await.unwrap();
            self.wait_until("return document.getElementById('email') ? true : null").await;
            let t1 = Instant::now();
            self.client.find(Locator::Id("email")).await.unwrap().send_keys(provider_standin::DEMO_EMAIL).await.unwrap();
            self.client.find(Locator::Id("password")).await.unwrap().send_keys(provider_standin::DEMO_PASSWORD).await.unwrap();
            let allow = self.client.find(Locator::Id("allow")).await.unwrap();
            let t2 = Instant::now();
            allow.click().await.unwrap();
            self.wait_until("const f = document.querySelector('.cx-flash-region'); return f && f.textContent.includes('Connection successful!') ? true : null")
                .await;
            let t3 = Instant::now();
            app.push(((t1 - t0) + (t3 - t2)).as_secs_f64() * 1000.0);
            total.push((t3 - t0).as_secs_f64() * 1000.0);
        }
        (median(app), median(total))
    }
}
