//! The few browser APIs the flow needs beyond Leptos: sessionStorage, the address bar, navigation.

use crate::flow::{PendingAttempt, PENDING_ATTEMPT_KEY};

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

/// Keeps the attempt for this tab. Fails if storage is unavailable (e.g. blocked by the browser).
pub fn save_pending(pending: &PendingAttempt) -> Result<(), &'static str> {
    let storage = session_storage().ok_or("This browser blocks session storage, which connecting needs.")?;
    let json = serde_json::to_string(pending).map_err(|_| "Could not save the connection attempt.")?;
    storage.set_item(PENDING_ATTEMPT_KEY, &json).map_err(|_| "Could not save the connection attempt.")
}

/// Reads and removes this tab's attempt: each attempt is finished at most once.
pub fn take_pending() -> Option<PendingAttempt> {
    let storage = session_storage()?;
    let json = storage.get_item(PENDING_ATTEMPT_KEY).ok().flatten();
    let _ = storage.remove_item(PENDING_ATTEMPT_KEY);
    serde_json::from_str(&json?).ok()
}

/// The current query string, including the leading `?` (empty if none).
pub fn current_query() -> String {
    web_sys::window().and_then(|w| w.location().search().ok()).unwrap_or_default()
}

/// Leaves the app for the provider: a full-page navigation.
pub fn go_to(url: &str) -> Result<(), &'static str> {
    let window = web_sys::window().ok_or("No browser window.")?;
    window.location().assign(url).map_err(|_| "The browser refused to open Stripe.")
}

thread_local! {
    /// One formatter for every timestamp: `toLocaleString` builds a new one per call, which dominated
    /// re-rendering a large table.
    static DATE_TIME: js_sys::Intl::DateTimeFormat = {
        let options = js_sys::Object::new();
        for (key, value) in [("year", "numeric"), ("month", "numeric"), ("day", "numeric"), ("hour", "numeric"), ("minute", "2-digit"), ("second", "2-digit")] {
            let _ = js_sys::Reflect::set(&options, &key.into(), &value.into());
        }
        js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &options)
    };
}

/// Formats a timestamp in the user's locale and time zone.
pub fn local_datetime(at: &chrono::DateTime<chrono::Utc>) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at.timestamp_millis() as f64));
    DATE_TIME.with(|format| format.format().call1(&wasm_bindgen::JsValue::NULL, &date).ok().and_then(|s| s.as_string()).unwrap_or_default())
}

/// Whether the page is in a background tab or minimised (no point refreshing then).
pub fn page_hidden() -> bool {
    web_sys::window().and_then(|w| w.document()).is_some_and(|d| d.hidden())
}

/// Marks the first time the table shows rows (`performance.getEntriesByName("cx-first-row")`): the
/// page's time to table, for real-user monitoring and the benchmark.
pub fn mark_first_rows() {
    if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
        if performance.get_entries_by_name("cx-first-row").length() == 0 {
            let _ = performance.mark("cx-first-row");
        }
    }
}
