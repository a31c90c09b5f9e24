//! Headless Chromium through ChromeDriver (`CHROMEDRIVER`, default /usr/bin/chromedriver; `CHROME`,
//! default /usr/bin/chromium), with a profile of its own that goes when it does.

use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use serde_json::json;

/// A ChromeDriver process and a WebDriver session of Chromium in it.
pub struct Chrome {
    pub client: Client,
    _driver: tokio::process::Child,
    _profile: tempfile::TempDir,
}

impl Chrome {
    /// Starts ChromeDriver on a free port and a 1280×900 headless Chromium. With `language` (e.g.
    /// `de-DE`), Chromium asks for it first: its UI language and its Accept-Language, which is what
    /// `navigator.languages` reports.
    pub async fn start(language: Option<&str>) -> Chrome {
        let port = crate::free_port();
        let chromedriver = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let driver = tokio::process::Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // A group of its own, with the Chromium it starts: see `Drop`.
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {chromedriver}: {e} (scripts/setup.sh installs it)"));
        let profile = tempfile::tempdir().unwrap();
        let chrome = std::env::var("CHROME").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let mut capabilities = json!({
            "goog:chromeOptions": {
                "binary": chrome,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync",
                    "--window-size=1280,900", format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        });
        if let Some(language) = language {
            let primary = language.split('-').next().unwrap();
            let options = &mut capabilities["goog:chromeOptions"];
            options["args"].as_array_mut().unwrap().push(json!(format!("--lang={language}")));
            options["prefs"] = json!({ "intl.accept_languages": format!("{language},{primary}") });
        }
        let capabilities = capabilities.as_object().unwrap().clone();
        let started = Instant::now();
        let client = loop {
            let mut builder = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
            builder.capabilities(capabilities.clone());
            match builder.connect(&format!("http://127.0.0.1:{port}")).await {
                Ok(client) => break client,
                Err(error) if started.elapsed() > Duration::from_secs(30) => panic!("ChromeDriver did not start a session: {error}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        Chrome { client, _driver: driver, _profile: profile }
    }
}

impl Drop for Chrome {
    /// Killing ChromeDriver leaves its Chromium running, and a test that fails never ends its session:
    /// the whole process group goes (ChromeDriver, Chromium and its helpers), so runs leave nothing.
    fn drop(&mut self) {
        if let Some(pid) = self._driver.id() {
            let _ = std::process::Command::new("kill").args(["-KILL", "--", &format!("-{pid}")]).stderr(Stdio::null()).status();
        }
    }
}
