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

const FIRST_ROW: &str = "const e = performance.getEntriesByName('cx-first-row'); return e.length ? e[0].startTime : null;";

impl Browser {
    pub async fn start() -> Self {
        let chrome = Chrome::start(None).await;
        Browser { client: chrome.client.clone(), _chrome: chrome }
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }

    async fn sign_in(&self, instance: &Instance) {
        self.client.goto(&format!("{}/reference.html", instance.url)).await.unwrap();
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
        self.sign_in(instance).await;
        // One warm-up each: both then load from the HTTP cache, as a returning admin's browser does.
        self.first_row_ms(instance, "/connections").await;
        self.first_row_ms(instance, "/reference.html").await;
        let (mut ours, mut reference) = (Vec::new(), Vec::new());
        for _ in 0..loads {
            ours.push(self.first_row_ms(instance, "/connections").await);
            reference.push(self.first_row_ms(instance, "/reference.html").await);
        }
        (median(ours), median(reference))
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
            self.client.find(Locator::Id("email")).await.unwrap().send_keys(stripe_standin::DEMO_EMAIL).await.unwrap();
            self.client.find(Locator::Id("password")).await.unwrap().send_keys(stripe_standin::DEMO_PASSWORD).await.unwrap();
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
